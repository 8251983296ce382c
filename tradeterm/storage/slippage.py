"""Slippage rows and per-pair fits in a wallet database (tables `slippage`, `slippage_fits`).

A sample is written inside the fill's own commit (the router's `store.atomic()` block), so a
fill is never stored without its slippage. Fits are appended: the newest row per pair is the
model in force, older ones are its history.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from tradeterm.domain.slippage import SlippageFit, SlippageSample
from tradeterm.storage.db import Storage

_SAMPLE_COLS = tuple(f.name for f in fields(SlippageSample))


def save_sample(store: Storage, sample: SlippageSample) -> bool:
    """Store a fill's slippage once (keyed by fill id); False when already stored."""
    return store._insert_new("slippage", asdict(sample))


def load_samples(
    store: Storage, venue: str | None = None, symbol: str | None = None, since_ms: int = 0
) -> list[SlippageSample]:
    clauses, params = ["ts_ms >= ?"], [since_ms]
    if venue is not None:
        clauses.append("venue = ?")
        params.append(venue)  # type: ignore[arg-type]
    if symbol is not None:
        clauses.append("symbol = ?")
        params.append(symbol)  # type: ignore[arg-type]
    sql = (
        f"SELECT {', '.join(_SAMPLE_COLS)} FROM slippage WHERE {' AND '.join(clauses)}"
        " ORDER BY ts_ms, fill_id"
    )
    return [SlippageSample(**row) for row in store.db.query(sql, tuple(params))]


def pairs(store: Storage) -> list[tuple[str, str, int]]:
    """(venue, symbol, fills) of every pair with recorded slippage."""
    rows = store.db.query(
        "SELECT venue, symbol, COUNT(*) AS n FROM slippage GROUP BY venue, symbol"
        " ORDER BY venue, symbol"
    )
    return [(r["venue"], r["symbol"], int(r["n"])) for r in rows]


def save_fit(store: Storage, fit: SlippageFit) -> None:
    params = {"fixed_bps": fit.fixed_bps, "atr_coef": fit.atr_coef, "vol_bps": fit.vol_bps}
    with store.atomic():
        store.db.execute(
            "INSERT INTO slippage_fits (venue, symbol, fitted_ms, n, params, residual)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (fit.venue, fit.symbol, fit.fitted_ms, fit.n, json.dumps(params), fit.residual),
        )


def _fit(row: Any) -> SlippageFit:
    params = json.loads(row["params"])
    return SlippageFit(
        venue=row["venue"],
        symbol=row["symbol"],
        fitted_ms=int(row["fitted_ms"]),
        n=int(row["n"]),
        fixed_bps=float(params["fixed_bps"]),
        atr_coef=float(params["atr_coef"]),
        residual=float(row["residual"]),
        vol_bps=float(params.get("vol_bps", 0.0)),
    )


def latest_fits(store: Storage) -> dict[str, SlippageFit]:
    """The newest fit of every pair, by market key (`venue:symbol`)."""
    rows = store.db.query(
        "SELECT f.* FROM slippage_fits f JOIN (SELECT venue, symbol, MAX(id) AS id"
        " FROM slippage_fits GROUP BY venue, symbol) m ON f.id = m.id ORDER BY f.venue, f.symbol"
    )
    fits = [_fit(r) for r in rows]
    return {f.key: f for f in fits}


def entry_atr(store: Storage, wallet_id: str, signal_id: str) -> float:
    """The ATR the entry of a position was decided with (its plan), 0 when unknown."""
    if not signal_id:
        return 0.0
    rows = list(
        store.db.query(
            "SELECT plan FROM orders WHERE wallet_id = ? AND signal_id = ? AND purpose = 'entry'"
            " AND plan IS NOT NULL ORDER BY created_ms LIMIT 1",
            (wallet_id, signal_id),
        )
    )
    if not rows:
        return 0.0
    return float(json.loads(rows[0]["plan"]).get("atr") or 0.0)
