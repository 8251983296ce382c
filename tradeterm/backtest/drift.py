"""Drift: is the node doing what the backtest says it would have done?

`compute_drift(config, wallet)` re-runs the EVENT backtest (the real node replaying bars, see
event.py) over the bars the node stored for the period (state/candles), with the same config and
the same strategy parameters, one run per strategy instance that trades the wallet's domain, and
compares it trade by trade with the closed trades of the wallet in the state database:

- matched trades (same strategy, symbol, side, entries at most one bar apart): entry/exit time
  difference, entry/exit price difference (slippage, signed so positive = worse for the trade),
  fee, funding and PnL differences;
- backtest-only and reality-only trades, each with the reason found in the database: a
  confirmation rejected or expired, a risk denial, a manual close/flatten by an operator (audit
  table), a position still open at the end of the period, or a knock-on of one of those (the
  other side held a position the first side no longer had);
- totals: PnL attribution (reality - backtest) = signal drift + fill drift + fees + funding +
  operator actions, exactly. "Unexplained" counts the unmatched trades without a known reason.

Limits (said plainly): the event engine trades one strategy per wallet, so a node running several
strategies in one wallet shares cash and exposure caps the per-strategy re-runs do not; the
replay plays four ticks a bar where the live feed had every tick, so exits inside a bar that
touched both stop and target can differ (they show up as fill drift on a matched trade).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tradeterm.backtest.engines import BacktestRequest, MarketRules, run_backtest
from tradeterm.backtest.result import BacktestTrade
from tradeterm.config.models import SimVenueConfig, TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.events import ClosedTrade
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import UserError
from tradeterm.marketdata.store import CandleStore
from tradeterm.storage.db import Storage
from tradeterm.venues.sim.catalog import index_spec

OPERATOR = "operator"
SIGNAL = "signal"


@dataclass(frozen=True, slots=True)
class MatchedTrade:
    strategy: str
    symbol: str
    side: int
    real_id: str
    entry_ms_real: int
    entry_ms_backtest: int
    exit_ms_real: int
    exit_ms_backtest: int
    entry_price_real: float
    entry_price_backtest: float
    exit_price_real: float
    exit_price_backtest: float
    entry_slippage: float
    """(real - backtest) entry price, signed so that positive is worse for the trade."""
    exit_slippage: float
    qty_real: float
    qty_backtest: float
    exit_reason_real: str
    exit_reason_backtest: str
    fee_diff: float
    funding_diff: float
    pnl_real: float
    pnl_backtest: float
    pnl_diff: float
    reason: str = ""
    """Set when an operator closed the real trade (the PnL difference is theirs)."""
    cause: str = ""


@dataclass(frozen=True, slots=True)
class UnmatchedTrade:
    side_of: str  # "backtest" or "reality"
    strategy: str
    symbol: str
    side: int
    entry_ms: int
    exit_ms: int
    entry_price: float
    exit_price: float
    qty: float
    pnl: float
    fees: float
    funding: float
    exit_reason: str
    reason: str
    """Why it exists on one side only ("" = unexplained)."""
    cause: str
    """"operator", "signal" (risk denial, data, unexplained) or "end_of_period"."""


@dataclass(slots=True)
class DriftReport:
    wallet: str
    start_ms: int
    end_ms: int
    strategies: list[str]
    matched: list[MatchedTrade] = field(default_factory=list)
    backtest_only: list[UnmatchedTrade] = field(default_factory=list)
    reality_only: list[UnmatchedTrade] = field(default_factory=list)
    real_pnl: float = 0.0
    backtest_pnl: float = 0.0
    attribution: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def unexplained(self) -> list[UnmatchedTrade]:
        return [t for t in (*self.backtest_only, *self.reality_only) if not t.reason]

    def to_dict(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "strategies": self.strategies,
            "real_pnl": self.real_pnl,
            "backtest_pnl": self.backtest_pnl,
            "pnl_diff": self.real_pnl - self.backtest_pnl,
            "attribution": self.attribution,
            "unexplained": len(self.unexplained),
            "matched": [asdict(m) for m in self.matched],
            "backtest_only": [asdict(t) for t in self.backtest_only],
            "reality_only": [asdict(t) for t in self.reality_only],
            "notes": self.notes,
        }

    def summary(self) -> str:
        a = self.attribution
        lines = [
            f"drift {self.wallet} {_iso(self.start_ms)} .. {_iso(self.end_ms)}"
            f" ({', '.join(self.strategies)})",
            f"  trades: {len(self.matched)} matched, {len(self.backtest_only)} backtest only, "
            f"{len(self.reality_only)} reality only, {len(self.unexplained)} unexplained",
            f"  PnL: reality {self.real_pnl:+.4f}, backtest {self.backtest_pnl:+.4f}, "
            f"diff {self.real_pnl - self.backtest_pnl:+.4f}",
            "  attribution: " + ", ".join(f"{k} {v:+.4f}" for k, v in a.items() if k != "total"),
        ]
        for t in (*self.backtest_only, *self.reality_only):
            lines.append(
                f"  {t.side_of}-only {t.strategy} {t.symbol} {'long' if t.side > 0 else 'short'}"
                f" {_iso(t.entry_ms)} pnl {t.pnl:+.4f}: {t.reason or 'UNEXPLAINED'}"
            )
        for m in self.matched:
            if m.reason:
                lines.append(f"  matched {m.symbol} {_iso(m.entry_ms_real)}: {m.reason}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _wallet_domain(config: TradetermConfig, wallet: str) -> Domain:
    mode, _, name = wallet.partition(":")
    if mode not in ("paper", "live") or not name:
        raise UserError(f"--wallet '{wallet}': expected paper:<domain> or live:<domain>")
    try:
        domain = Domain(name)
    except ValueError:
        raise UserError(f"--wallet '{wallet}': unknown domain '{name}'") from None
    if domain not in config.domains:
        raise UserError(f"--wallet '{wallet}': domain '{name}' is not configured")
    return domain


def _strategy_targets(
    config: TradetermConfig, domain: Domain, symbols: list[str]
) -> list[tuple[str, str, str, list[str], dict[str, Any]]]:
    """(instance, strategy name, timeframe, symbols, params) of every strategy on the domain."""
    found = []
    for key, sc in config.strategies.items():
        if not sc.enabled:
            continue
        if sc.domains and domain not in sc.domains:
            if not (sc.symbols and set(sc.symbols) & set(symbols)):
                continue
        elif not sc.domains and not (sc.symbols and set(sc.symbols) & set(symbols)):
            continue
        chosen = [s for s in symbols if not sc.symbols or s in sc.symbols]
        timeframes = sc.timeframes or list(config.marketdata.timeframes[:1])
        for tf in timeframes:
            found.append((key, sc.strategy or key, tf, chosen, dict(sc.params)))
    return found


def compute_drift(
    config: TradetermConfig,
    wallet: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    state_dir: Path | None = None,
) -> DriftReport:
    """Re-run the event backtest over the stored bars of the period and compare (module text)."""
    domain = _wallet_domain(config, wallet)
    root = Path(state_dir or config.storage.state_dir)
    db_path = root / ("live.db" if wallet.startswith("live:") else "paper.db")
    home_path = root / "paper.db"
    if not db_path.exists():
        raise UserError(f"drift: no state database {db_path}")
    store = Storage(db_path)
    home = store if db_path == home_path else Storage(home_path)
    try:
        real_all = [t for t in store.load_trades(wallet) if t.wallet_id == wallet]
        dcfg = config.domains[domain]
        venue = dcfg.venue
        candles = CandleStore(root / "candles")
        targets = _strategy_targets(config, domain, list(dcfg.symbols))
        if not targets:
            raise UserError(f"drift: no strategy trades the domain of {wallet}")
        lo, hi = _period(candles, venue, targets, real_all, start_ms, end_ms)
        real = [t for t in real_all if lo <= t.opened_ms < hi]
        report = DriftReport(wallet, lo, hi, [t[0] for t in targets])
        backtest: list[tuple[str, BacktestTrade]] = []
        for instance, name, tf, symbols, params in targets:
            bars = {}
            for symbol in symbols:
                series = candles.read(venue, symbol, tf, None, hi)
                if len(series) >= 2:
                    bars[symbol] = series
                else:
                    report.notes.append(f"no stored {tf} bars of {venue}:{symbol}")
            if not bars:
                continue
            first = min(int(s.open_ms[0]) for s in bars.values())
            axis_first = bars[sorted(bars)[0]]
            start = int(np.searchsorted(axis_first.open_ms, lo, "left"))
            if start <= 0:
                report.notes.append(
                    f"{instance}: no stored bars before {_iso(lo)} to warm the strategy up "
                    f"(first bar {_iso(first)}); early signals may differ"
                )
            request = BacktestRequest(
                strategy=name,
                timeframe=tf,
                bars=bars,
                params=params,
                config=config,
                domain=domain,
                venue=venue,
                markets=_markets(config, venue, list(bars)),
                engine="event",
                start=max(start, 1) if start > 0 else None,
            )
            result = run_backtest(request)
            backtest.extend(
                (instance, t)
                for t in result.trades
                if lo <= t.entry_ms < hi and not _is_warmup(t, lo)
            )
            report.notes.extend(result.warnings)
        _compare(report, real, backtest, home, store, targets)
        return report
    finally:
        if home is not store:
            home.close()
        store.close()


def _markets(config: TradetermConfig, venue: str, symbols: list[str]) -> dict[str, MarketRules]:
    """The sim venue's instrument rules of synthetic indices: lot step (the smallest size), and
    the quoted half spread as the replay's tick (the replay quotes bid/ask one tick either side
    of the price, so the gate prices the same spread as live)."""
    vc = config.venues.get(venue)
    rules: dict[str, MarketRules] = {}
    if not isinstance(vc, SimVenueConfig):
        return rules
    for symbol in symbols:
        spec = index_spec(symbol)
        if spec is not None:
            rules[symbol] = MarketRules(
                tick_size=spec.half_spread, lot_step=spec.lot_step, min_notional=1.0
            )
    return rules


def _is_warmup(trade: BacktestTrade, lo: int) -> bool:
    return trade.entry_ms < lo


def _period(
    candles: CandleStore,
    venue: str,
    targets: list[tuple[str, str, str, list[str], dict[str, Any]]],
    real: list[ClosedTrade],
    start_ms: int | None,
    end_ms: int | None,
) -> tuple[int, int]:
    """The period: as given, else the first trade's entry (or first stored bar) to the end of
    the last stored bar."""
    lo, hi = start_ms, end_ms
    last_bar = 0
    first_bar: int | None = None
    for _i, _n, tf, symbols, _p in targets:
        for symbol in symbols:
            s = candles.read(venue, symbol, tf)
            if len(s):
                last_bar = max(last_bar, int(s.open_ms[-1]) + timeframe_ms(tf))
                f = int(s.open_ms[0])
                first_bar = f if first_bar is None else min(first_bar, f)
    if hi is None:
        hi = last_bar or max((t.closed_ms for t in real), default=0) + 1
    if lo is None:
        entries = [t.opened_ms for t in real]
        lo = min(entries) if entries else (first_bar or 0)
    if lo >= hi:
        raise UserError(f"drift: empty period {_iso(lo)} .. {_iso(hi)} (no stored bars?)")
    return lo, hi


@dataclass(slots=True)
class _Evidence:
    """What the database says happened, indexed for the reason look-ups."""

    refused: list[tuple[str, str, int, int, str]]  # (symbol, strategy, side, signal ts, reason)
    closes: list[tuple[str, int, str]]  # (symbol or "*", ts, description) of operator closes


def _evidence(home: Storage, wallet: str) -> _Evidence:
    refused: list[tuple[str, str, int, int, str]] = []
    for conf in home.load_confirmations(None):
        if conf.decision.intent.wallet_id != wallet:
            continue
        status = conf.status.value
        if status in ("rejected", "expired", "cancelled"):
            sig = conf.decision.intent.signal
            why = f"confirmation {status}"
            if conf.decided_by:
                why += f" by {conf.decided_by}"
            if conf.reason:
                why += f" ({conf.reason})"
            refused.append((sig.symbol, sig.strategy, sig.side.sign, sig.ts_ms, why))
    for decision in home.load_risk_decisions(limit=1_000_000):
        if decision.intent.wallet_id != wallet or decision.approved:
            continue
        sig = decision.intent.signal
        refused.append(
            (
                sig.symbol,
                sig.strategy,
                sig.side.sign,
                sig.ts_ms,
                f"risk denial: {decision.reason_text}",
            )
        )
    closes: list[tuple[str, int, str]] = []
    for entry in home.load_audit(limit=1_000_000):
        if not entry.ok or entry.action not in ("close_position", "flatten_all"):
            continue
        target = str(entry.args.get("position", "*")) if entry.action == "close_position" else "*"
        symbol = target.rpartition("/")[2].rpartition(":")[2] or "*"
        closes.append((symbol, entry.ts_ms, f"{entry.action} by {entry.source}"))
    return _Evidence(refused, closes)


def _operator_close(ev: _Evidence, trade: ClosedTrade) -> str:
    if trade.exit_reason not in ("manual", "flatten") and not trade.exit_reason.startswith(
        ("closed by", "flatten")
    ):
        return ""
    for symbol, ts, what in ev.closes:
        if symbol in ("*", trade.symbol) and abs(ts - trade.closed_ms) <= 60_000:
            return f"operator: {what}"
    return ""


def _compare(
    report: DriftReport,
    real: list[ClosedTrade],
    backtest: list[tuple[str, BacktestTrade]],
    home: Storage,
    store: Storage,
    targets: list[tuple[str, str, str, list[str], dict[str, Any]]],
) -> None:
    bar_ms = {inst: timeframe_ms(tf) for inst, _n, tf, _s, _p in targets}
    evidence = _evidence(home, report.wallet)
    open_symbols = {p.symbol for p in store.load_positions(report.wallet)}
    pending = list(real)
    operator_windows: list[tuple[str, int, int, str]] = []  # symbol, from, to, why
    unmatched_bt: list[tuple[str, BacktestTrade]] = []
    for instance, bt in sorted(backtest, key=lambda x: (x[1].entry_ms, x[1].symbol)):
        tol = bar_ms.get(instance, 60_000)
        best: ClosedTrade | None = None
        for t in pending:
            if (
                t.symbol == bt.symbol
                and t.side.sign == bt.side
                and t.strategy in (instance, bt.strategy)
                and abs(t.opened_ms - bt.entry_ms) <= tol
                and (
                    best is None
                    or abs(t.opened_ms - bt.entry_ms) < abs(best.opened_ms - bt.entry_ms)
                )
            ):
                best = t
        if best is None:
            unmatched_bt.append((instance, bt))
            continue
        pending.remove(best)
        op = _operator_close(evidence, best)
        if op:
            operator_windows.append((bt.symbol, best.closed_ms, bt.exit_ms, op))
        sign = bt.side
        report.matched.append(
            MatchedTrade(
                strategy=instance,
                symbol=bt.symbol,
                side=sign,
                real_id=best.id,
                entry_ms_real=best.opened_ms,
                entry_ms_backtest=bt.entry_ms,
                exit_ms_real=best.closed_ms,
                exit_ms_backtest=bt.exit_ms,
                entry_price_real=best.entry_price,
                entry_price_backtest=bt.entry_price,
                exit_price_real=best.exit_price,
                exit_price_backtest=bt.exit_price,
                entry_slippage=(best.entry_price - bt.entry_price) * sign,
                exit_slippage=(bt.exit_price - best.exit_price) * sign,
                qty_real=best.qty,
                qty_backtest=bt.qty,
                exit_reason_real=best.exit_reason,
                exit_reason_backtest=bt.exit_reason,
                fee_diff=best.fees - bt.fees,
                funding_diff=best.funding - bt.funding,
                pnl_real=best.pnl,
                pnl_backtest=bt.pnl,
                pnl_diff=best.pnl - bt.pnl,
                reason=op,
                cause=OPERATOR if op else "",
            )
        )
    # backtest-only: a refused signal, the end of the period, or a knock-on
    refused_windows: list[tuple[str, int, int, str]] = []
    for instance, bt in unmatched_bt:
        why, cause = _refusal(evidence, instance, bt, bar_ms.get(instance, 60_000))
        if not why and bt.exit_reason == "end_of_data":
            why = "backtest closed it at the end of the period" + (
                " (still open in reality)" if bt.symbol in open_symbols else ""
            )
            cause = "end_of_period"
        if not why:
            why, cause = _knock_on(bt.symbol, bt.entry_ms, operator_windows, "reality")
        if why.startswith("confirmation"):
            refused_windows.append((bt.symbol, bt.entry_ms, bt.exit_ms, why))
        report.backtest_only.append(_unmatched("backtest", instance, bt, why, cause))
    for t in pending:
        why = _operator_close(evidence, t)
        cause = OPERATOR if why else SIGNAL
        if not why:
            why, cause = _knock_on(
                t.symbol, t.opened_ms, operator_windows + refused_windows, "backtest"
            )
        report.reality_only.append(
            UnmatchedTrade(
                "reality",
                t.strategy,
                t.symbol,
                t.side.sign,
                t.opened_ms,
                t.closed_ms,
                t.entry_price,
                t.exit_price,
                t.qty,
                t.pnl,
                t.fees,
                t.funding,
                t.exit_reason,
                why,
                cause,
            )
        )
    # a reality-only trade can also knock on a backtest-only one (and the other way round)
    report.backtest_only = [
        _reknock(t, report.reality_only, "reality") for t in report.backtest_only
    ]
    _attribute(report, real, [bt for _i, bt in backtest])


def _refusal(ev: _Evidence, instance: str, bt: BacktestTrade, tol: int) -> tuple[str, str]:
    """Why reality did not take a backtest trade's signal: a confirmation rejected/expired
    (operator) or a risk denial (signal drift), from the database."""
    for symbol, strategy, side, ts, what in ev.refused:
        if (
            symbol == bt.symbol
            and side == bt.side
            and strategy in (instance, bt.strategy)
            and -tol <= bt.entry_ms - ts <= 2 * tol
        ):
            return what, SIGNAL if what.startswith("risk denial") else OPERATOR
    return "", SIGNAL


def _unmatched(
    side_of: str, instance: str, bt: BacktestTrade, why: str, cause: str
) -> UnmatchedTrade:
    return UnmatchedTrade(
        side_of, instance, bt.symbol, bt.side, bt.entry_ms, bt.exit_ms, bt.entry_price,
        bt.exit_price, bt.qty, bt.pnl, bt.fees, bt.funding, bt.exit_reason, why, cause,
    )  # fmt: skip


def _knock_on(
    symbol: str, at_ms: int, windows: list[tuple[str, int, int, str]], other: str
) -> tuple[str, str]:
    for sym, start, end, what in windows:
        if sym == symbol and start <= at_ms <= end:
            return f"knock-on of an operator action on this market ({what})", OPERATOR
    return "", SIGNAL


def _reknock(t: UnmatchedTrade, others: list[UnmatchedTrade], other: str) -> UnmatchedTrade:
    if t.reason:
        return t
    for o in others:
        if o.symbol == t.symbol and o.cause == OPERATOR and o.entry_ms <= t.entry_ms <= o.exit_ms:
            return UnmatchedTrade(
                **{
                    **asdict(t),
                    "reason": f"knock-on of an operator action on this market ({o.reason})",
                    "cause": OPERATOR,
                }
            )
    return t


def _attribute(report: DriftReport, real: list[ClosedTrade], bt: list[BacktestTrade]) -> None:
    """reality - backtest PnL split so the parts add up exactly."""
    a = {"signal_drift": 0.0, "fill_drift": 0.0, "fees": 0.0, "funding": 0.0, "operator": 0.0}
    a["end_of_period"] = 0.0
    for m in report.matched:
        if m.cause == OPERATOR:
            a["operator"] += m.pnl_diff
            continue
        a["fees"] -= m.fee_diff
        a["funding"] -= m.funding_diff
        a["fill_drift"] += m.pnl_diff + m.fee_diff + m.funding_diff
    for t in report.reality_only:
        a["operator" if t.cause == OPERATOR else "signal_drift"] += t.pnl
    for t in report.backtest_only:
        key = {OPERATOR: "operator", "end_of_period": "end_of_period"}.get(t.cause, "signal_drift")
        a[key] -= t.pnl
    report.real_pnl = sum(t.pnl for t in real)
    report.backtest_pnl = sum(t.pnl for t in bt if report.start_ms <= t.entry_ms < report.end_ms)
    a["total"] = report.real_pnl - report.backtest_pnl
    report.attribution = a


CSV_FIELDS = [
    "kind", "strategy", "symbol", "side", "entry_ms_real", "entry_ms_backtest", "exit_ms_real",
    "exit_ms_backtest", "entry_price_real", "entry_price_backtest", "exit_price_real",
    "exit_price_backtest", "entry_slippage", "exit_slippage", "fee_diff", "funding_diff",
    "pnl_real", "pnl_backtest", "pnl_diff", "exit_reason_real", "exit_reason_backtest", "reason",
    "cause",
]  # fmt: skip


def _csv_rows(report: DriftReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for m in report.matched:
        row = {k: v for k, v in asdict(m).items() if k in CSV_FIELDS}
        rows.append({"kind": "matched", **row})
    for t in (*report.backtest_only, *report.reality_only):
        real = t.side_of == "reality"
        sfx = "real" if real else "backtest"
        rows.append(
            {
                "kind": f"{t.side_of}_only",
                "strategy": t.strategy,
                "symbol": t.symbol,
                "side": t.side,
                f"entry_ms_{sfx}": t.entry_ms,
                f"exit_ms_{sfx}": t.exit_ms,
                f"entry_price_{sfx}": t.entry_price,
                f"exit_price_{sfx}": t.exit_price,
                "pnl_real" if real else "pnl_backtest": t.pnl,
                "pnl_diff": t.pnl if real else -t.pnl,
                f"exit_reason_{sfx}": t.exit_reason,
                "reason": t.reason,
                "cause": t.cause,
            }
        )
    return rows


def export_drift(report: DriftReport, reports_dir: Path, now_ms: int) -> Path:
    """reports/{UTC}_drift_{wallet}/ with drift.json and drift.csv; returns the folder."""
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(reports_dir) / f"{stamp}_drift_{report.wallet.replace(':', '-')}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drift.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    with (folder / "drift.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in _csv_rows(report):
            writer.writerow(row)
    return folder


def bars_of(store: CandleStore, venue: str, symbol: str, tf: str) -> BarSeries:
    """The stored bars of one series (a convenience for tests and the lab)."""
    return store.read(venue, symbol, tf)
