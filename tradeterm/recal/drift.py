"""Drift: does an arm still trade like the backtest its parameters were promoted on?

Pure numbers, no I/O (the node hook is `tradeterm.recal.watch`). An arm (one strategy
instance on one market) trading a promoted active config is judged on its closed trades since the
promotion against the promoted trial's backtest metrics (`active_configs.metrics`):

- win rate        drift when live < expected - `max_win_rate_drop` (absolute, 0.15 = 15 points)
- expectancy (R)  drift when live mean net R < expected `expectancy_r` - `max_expectancy_drop_r`
- drawdown        drift when the arm's drawdown > `max_drawdown_multiple` x expected max_drawdown
                  (the expectation floored at `min_drawdown`, so a backtest that barely drew down
                  does not make every loss a drift)

The arm's drawdown uses the backtest's definition, max(1 - equity / running peak), on the curve
`equity0 + cumulative net pnl` of its trades, where equity0 is the wallet's equity when the first
judged trade opened (the caller's reference). Nothing is judged before `min_trades` closed trades;
a metric the backtest did not report (no expectancy_r, say) is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DriftBounds:
    """How far live may fall behind the backtest before it is a drift (config calibration.drift)."""

    min_trades: int = 20
    max_win_rate_drop: float = 0.15
    max_expectancy_drop_r: float = 0.5
    max_drawdown_multiple: float = 1.5
    min_drawdown: float = 0.02


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the promoted trial's backtest did (None: not reported, not judged)."""

    win_rate: float | None
    expectancy_r: float | None
    max_drawdown: float | None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> Expectation:
        def num(key: str) -> float | None:
            value = metrics.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return float(value) if math.isfinite(value) else None

        return cls(num("win_rate"), num("expectancy_r"), num("max_drawdown"))


@dataclass(frozen=True, slots=True)
class LiveKpis:
    """What the arm did since the promotion."""

    trades: int
    win_rate: float
    expectancy_r: float
    max_drawdown: float


@dataclass(frozen=True, slots=True)
class Verdict:
    kpis: LiveKpis
    judged: bool
    """False while the arm has fewer than min_trades closed trades."""
    breaches: tuple[str, ...] = ()

    @property
    def drifting(self) -> bool:
        return bool(self.breaches)

    def text(self) -> str:
        k = self.kpis
        return (
            f"{k.trades} trades, win {k.win_rate:.0%}, exp {k.expectancy_r:+.2f}R, "
            f"dd {k.max_drawdown:.1%}"
        )


def max_drawdown(pnls: Sequence[float], equity0: float) -> float:
    """max(1 - equity / running peak) of `equity0 + cumsum(pnls)` (peak starts at equity0);
    a curve that reaches zero or below counts as a 100% drawdown."""
    if equity0 <= 0:
        return 1.0 if any(p < 0 for p in pnls) else 0.0
    equity = peak = equity0
    worst = 0.0
    for pnl in pnls:
        equity += pnl
        peak = max(peak, equity)
        worst = max(worst, 1.0 if equity <= 0 else 1.0 - equity / peak)
    return worst


def live_kpis(pnls: Sequence[float], r_multiples: Sequence[float], equity0: float) -> LiveKpis:
    """KPIs of closed trades in close order: net pnl (money) and net R of each."""
    n = len(pnls)
    if n == 0:
        return LiveKpis(0, 0.0, 0.0, 0.0)
    wins = sum(1 for p in pnls if p > 0)
    finite_r = [r for r in r_multiples if math.isfinite(r)]
    return LiveKpis(
        trades=n,
        win_rate=wins / n,
        expectancy_r=sum(finite_r) / len(finite_r) if finite_r else 0.0,
        max_drawdown=max_drawdown(pnls, equity0),
    )


def judge(kpis: LiveKpis, expected: Expectation, bounds: DriftBounds) -> Verdict:
    """The breaches of `bounds` (see the module text); none before min_trades."""
    if kpis.trades < bounds.min_trades:
        return Verdict(kpis, judged=False)
    out: list[str] = []
    if (
        expected.win_rate is not None
        and kpis.win_rate < expected.win_rate - bounds.max_win_rate_drop
    ):
        out.append(
            f"win rate {kpis.win_rate:.0%} vs {expected.win_rate:.0%} expected "
            f"(allowed drop {bounds.max_win_rate_drop:.0%})"
        )
    if (
        expected.expectancy_r is not None
        and kpis.expectancy_r < expected.expectancy_r - bounds.max_expectancy_drop_r
    ):
        out.append(
            f"expectancy {kpis.expectancy_r:+.2f}R vs {expected.expectancy_r:+.2f}R expected "
            f"(allowed drop {bounds.max_expectancy_drop_r:g}R)"
        )
    if expected.max_drawdown is not None:
        limit = max(expected.max_drawdown, bounds.min_drawdown) * bounds.max_drawdown_multiple
        if kpis.max_drawdown > limit:
            out.append(
                f"drawdown {kpis.max_drawdown:.1%} vs {expected.max_drawdown:.1%} expected "
                f"(limit {limit:.1%} = {bounds.max_drawdown_multiple:g}x)"
            )
    return Verdict(kpis, judged=True, breaches=tuple(out))
