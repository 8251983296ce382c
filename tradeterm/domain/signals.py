"""Signals: a strategy's proposal to enter, with its stop, target and confidence."""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.enums import Side


def consistent(sign: int, entry: float, stop: float, target: float) -> bool:
    """Stop on the losing side of the entry and target on the winning side (numba-compatible)."""
    return (entry - stop) * sign > 0 and (target - entry) * sign > 0


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's entry proposal at a bar close.

    `id` is deterministic: the same strategy, symbol, timeframe and bar always give the same id, so
    a restart that re-evaluates a bar cannot create a second order (client ids derive from it).
    """

    id: str
    ts_ms: int
    venue: str
    symbol: str
    timeframe: str
    strategy: str
    strategy_version: str
    side: Side
    entry: float
    stop_loss: float
    take_profit: float
    confidence: float = 1.0
    atr: float = 0.0
    """ATR of the signal's timeframe at the signal bar (volatility sizing, stop-width caps)."""

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def risk_per_unit(self) -> float:
        """Price distance from entry to stop."""
        return abs(self.entry - self.stop_loss)

    @property
    def reward_per_unit(self) -> float:
        return abs(self.take_profit - self.entry)

    @property
    def reward_risk(self) -> float:
        """Reward:risk ratio; 0 when the stop distance is zero."""
        risk = self.risk_per_unit
        return self.reward_per_unit / risk if risk > 0 else 0.0

    @property
    def is_consistent(self) -> bool:
        """Stop on the losing side of entry and target on the winning side."""
        return consistent(self.side.sign, self.entry, self.stop_loss, self.take_profit)
