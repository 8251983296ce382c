"""`tradeterm backtest --slippage fitted`: price a run with the per-pair slippage fitted from
the node's recorded fills (state/paper.db, state/live.db; live fits win).

A pair's fit is looked up by the run's symbol, on the stored candles' venue first, then on any
venue (a node venue named `binance_futures` trades the candles stored under `binance`). The
backtest engines price every fill of a run with one slippage rate, so the gate and the fills
both use each fit's expected slippage at its pair's median volatility (`fixed_bps + atr_coef x
vol_bps`); a run over several symbols uses the largest of them (conservative) and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tradeterm.domain.slippage import SlippageFit
from tradeterm.errors import UserError
from tradeterm.execution.slippage import load_fits
from tradeterm.storage.db import Storage

BOOK_FILES = ("paper.db", "live.db")
"""Wallet databases in a state folder, in the order their fits are layered (live wins)."""


def state_fits(state_dir: Path) -> dict[str, SlippageFit]:
    """The newest fit per market in a state folder's wallet databases ({} when none)."""
    stores = [Storage(state_dir / f) for f in BOOK_FILES if (state_dir / f).is_file()]
    try:
        return load_fits(stores)
    finally:
        for store in stores:
            store.close()


def fit_for(fits: Mapping[str, SlippageFit], venue: str, symbol: str) -> SlippageFit | None:
    exact = fits.get(f"{venue}:{symbol}")
    if exact is not None:
        return exact
    wanted = symbol.lower()
    same = [f for f in fits.values() if f.symbol.lower() == wanted]
    return max(same, key=lambda f: f.fitted_ms) if same else None


def fitted_slippage(
    state_dir: Path, venue: str, symbols: Sequence[str]
) -> tuple[float, dict[str, Any]]:
    """(slippage bps for the run's fills, what the report records); UserError (exit 2) when
    a symbol has no fit."""
    fits = state_fits(state_dir)
    chosen: dict[str, SlippageFit] = {}
    for symbol in symbols:
        fit = fit_for(fits, venue, symbol)
        if fit is None:
            known = ", ".join(sorted(fits)) or "none"
            raise UserError(
                f"--slippage fitted: no fitted slippage for {symbol} in {state_dir}"
                f" (fitted pairs: {known}); trade it on paper first, then run"
                " `tradeterm slippage refit` (or let the node refit)"
            )
        chosen[symbol] = fit
    bps = max(f.expected_bps() for f in chosen.values())
    record: dict[str, Any] = {
        "model": "fitted",
        "fill_slippage_bps": bps,
        "pairs": {
            s: {
                "pair": f.key,
                "n": f.n,
                "fitted_ms": f.fitted_ms,
                "fixed_bps": f.fixed_bps,
                "atr_coef": f.atr_coef,
                "vol_bps": f.vol_bps,
                "residual_bps": f.residual,
                "expected_bps": f.expected_bps(),
            }
            for s, f in chosen.items()
        },
    }
    return bps, record
