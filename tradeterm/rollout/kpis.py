"""Rollout KPIs and gate reports: has a domain earned the next stage?

Pure functions over closed trades and equity curves (`(ts_ms, equity)` points, oldest first):
- win rate: share of closed trades with a profit (pnl > 0);
- days: from the first trade's entry to the last trade's exit, in days;
- Sharpe: the equity curve resampled to one point per UTC day (the day's last equity; days with
  no point repeat the previous day's equity), simple daily returns, mean / sd (ddof 1) * sqrt(365)
  - crypto and synthetics trade every day. Fewer than 2 daily returns, or no variation: 0.0;
- max drawdown: the largest fall from a running peak of equity, as a fraction of that peak.

A `GateReport` holds, per domain gated in a stage, each KPI against its gate and whether it passed;
`ready` is True when every gate of every domain passed. `text()` renders it for the console and
Telegram.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tradeterm.config.models import GateConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.events import ClosedTrade

DAY_MS = 86_400_000
TRADING_DAYS_PER_YEAR = 365
EquityCurve = Sequence[tuple[int, float]]


def win_rate(trades: Sequence[ClosedTrade]) -> float:
    """Share of trades that made money (0.0 without trades)."""
    if not trades:
        return 0.0
    return sum(1 for t in trades if t.won) / len(trades)


def days_span(trades: Sequence[ClosedTrade]) -> float:
    """Days from the first entry to the last exit (0.0 without trades)."""
    if not trades:
        return 0.0
    first = min(t.opened_ms for t in trades)
    last = max(t.closed_ms for t in trades)
    return max(0.0, (last - first) / DAY_MS)


def daily_equity(curve: EquityCurve) -> list[float]:
    """One equity per UTC day from the first to the last point: the day's last value, carried
    forward over days without a point."""
    if not curve:
        return []
    last_by_day: dict[int, float] = {}
    for ts, equity in curve:
        last_by_day[ts // DAY_MS] = float(equity)
    first, last = min(last_by_day), max(last_by_day)
    out: list[float] = []
    value = last_by_day[first]
    for day in range(first, last + 1):
        value = last_by_day.get(day, value)
        out.append(value)
    return out


def sharpe(curve: EquityCurve, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of daily returns (0.0 below 2 returns or with no variation)."""
    days = np.asarray(daily_equity(curve), dtype=np.float64)
    if days.shape[0] < 3 or np.any(days <= 0):
        return 0.0
    returns = days[1:] / days[:-1] - 1.0
    sd = float(np.std(returns, ddof=1))
    if sd <= 0 or not math.isfinite(sd):
        return 0.0
    return float(np.mean(returns)) / sd * math.sqrt(periods_per_year)


def max_drawdown(curve: EquityCurve) -> float:
    """Largest fall from a running equity peak, as a fraction of the peak (0.0 for no curve)."""
    if not curve:
        return 0.0
    equity = np.fromiter((e for _, e in curve), dtype=np.float64, count=len(curve))
    peaks = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - equity / peaks, 0.0)
    return float(max(0.0, np.max(falls)))


@dataclass(frozen=True, slots=True)
class DomainKpis:
    """What a domain achieved in a stage: trades, days, win rate, Sharpe, max drawdown."""

    trades: int
    days: float
    win_rate: float
    sharpe: float
    max_drawdown: float

    def as_dict(self) -> dict[str, float]:
        return {
            "trades": float(self.trades),
            "days": self.days,
            "win_rate": self.win_rate,
            "sharpe": self.sharpe,
            "max_drawdown": self.max_drawdown,
        }


def domain_kpis(trades: Sequence[ClosedTrade], curve: EquityCurve) -> DomainKpis:
    """KPIs of one wallet's trades and equity curve."""
    return DomainKpis(
        trades=len(trades),
        days=days_span(trades),
        win_rate=win_rate(trades),
        sharpe=sharpe(curve),
        max_drawdown=max_drawdown(curve),
    )


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One KPI against its gate: `value >= threshold` (or `<=` for drawdown)."""

    name: str
    value: float
    threshold: float
    passed: bool
    at_most: bool = False

    def text(self) -> str:
        fmt = _FORMATS.get(self.name, "{:.2f}")
        op = "<=" if self.at_most else ">="
        verdict = "ok" if self.passed else "FAIL"
        return (
            f"  {_LABELS.get(self.name, self.name):<9} {fmt.format(self.value):>8}"
            f"  {op} {fmt.format(self.threshold):<8} {verdict}"
        )


_LABELS = {"win_rate": "win rate", "max_drawdown": "max dd"}
_FORMATS = {
    "trades": "{:.0f}",
    "days": "{:.1f}",
    "win_rate": "{:.1%}",
    "sharpe": "{:.2f}",
    "max_drawdown": "{:.1%}",
}


def gate_checks(kpis: DomainKpis, gate: GateConfig) -> tuple[GateCheck, ...]:
    """Every gate of `gate` checked against `kpis`."""
    return (
        GateCheck("trades", kpis.trades, gate.min_trades, kpis.trades >= gate.min_trades),
        GateCheck("days", kpis.days, gate.min_days, kpis.days >= gate.min_days),
        GateCheck("win_rate", kpis.win_rate, gate.min_win_rate, kpis.win_rate >= gate.min_win_rate),
        GateCheck("sharpe", kpis.sharpe, gate.min_sharpe, kpis.sharpe >= gate.min_sharpe),
        GateCheck(
            "max_drawdown",
            kpis.max_drawdown,
            gate.max_drawdown,
            kpis.max_drawdown <= gate.max_drawdown,
            at_most=True,
        ),
    )


@dataclass(frozen=True, slots=True)
class DomainGate:
    """A domain's KPIs in the stage (measured on `wallet_id`) and its gate checks."""

    domain: Domain
    wallet_id: str
    kpis: DomainKpis
    checks: tuple[GateCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]


@dataclass(frozen=True, slots=True)
class GateReport:
    """Whether the current stage's gates are passed, per domain and per KPI."""

    stage_index: int
    stage_name: str
    next_name: str
    domains: tuple[DomainGate, ...]
    ts_ms: int

    @property
    def ready(self) -> bool:
        """Every gate of every gated domain passed (a stage without gates is ready)."""
        return all(d.passed for d in self.domains)

    @property
    def kpis(self) -> dict[str, dict[str, float]]:
        """The KPI snapshot stored with a stage transition, keyed by domain."""
        return {d.domain.value: d.kpis.as_dict() for d in self.domains}

    def failures(self) -> list[str]:
        """`crypto_spot: sharpe, days`, one line per domain that failed a gate."""
        return [f"{d.domain.value}: {', '.join(d.failed)}" for d in self.domains if not d.passed]

    def text(self) -> str:
        """A plain-text table for the console and Telegram."""
        target = f" -> {self.next_name}" if self.next_name else ""
        verdict = "READY" if self.ready else "NOT READY"
        lines = [f"Stage {self.stage_index} {self.stage_name}{target}: {verdict}"]
        if not self.domains:
            lines.append("  (no gates in this stage)")
        for gate in self.domains:
            lines.append(f"{gate.domain.value} ({gate.wallet_id})")
            lines.extend(check.text() for check in gate.checks)
        return "\n".join(lines)


def build_report(
    stage_index: int,
    stage_name: str,
    next_name: str,
    gated: Mapping[Domain, tuple[str, GateConfig]],
    trades: Mapping[str, Sequence[ClosedTrade]],
    equity: Mapping[str, EquityCurve],
    ts_ms: int,
) -> GateReport:
    """A gate report: for each gated domain (wallet and gate), the wallet's KPIs vs the gate."""
    domains = []
    for domain, (wallet, gate) in gated.items():
        kpis = domain_kpis(trades.get(wallet, ()), equity.get(wallet, ()))
        domains.append(DomainGate(domain, wallet, kpis, gate_checks(kpis, gate)))
    return GateReport(stage_index, stage_name, next_name, tuple(domains), ts_ms)
