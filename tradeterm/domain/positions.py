"""Positions: one net position per wallet and instrument."""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.enums import Side


@dataclass(frozen=True, slots=True)
class Position:
    """An open position. `stop_loss` may only move in the position's favour (never widened).

    PnL is linear in price: (mark - entry) * qty * contract_size * sign, which covers spot, linear
    perps and Deriv multipliers (whose exposure is stake x multiplier, expressed as qty).
    """

    wallet_id: str
    venue: str
    symbol: str
    side: Side
    qty: float
    entry_price: float
    opened_ms: int
    stop_loss: float
    take_profit: float
    initial_stop: float = 0.0
    strategy: str = ""
    signal_id: str = ""
    contract_size: float = 1.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    high_water: float = 0.0
    low_water: float = 0.0
    max_hold_ms: int = 0
    updated_ms: int = 0

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def notional(self) -> float:
        return self.qty * self.entry_price * self.contract_size

    def unrealized_pnl(self, mark: float) -> float:
        return (mark - self.entry_price) * self.qty * self.contract_size * self.side.sign

    def risk_at_stop(self) -> float:
        """What the position loses, in quote currency, if the current stop is hit."""
        return (
            max(0.0, (self.entry_price - self.stop_loss) * self.side.sign)
            * self.qty
            * self.contract_size
        )

    def r_multiple(self, exit_price: float) -> float:
        """Result in R (units of the initial risk) if closed at `exit_price`."""
        initial = self.initial_stop or self.stop_loss
        risk = abs(self.entry_price - initial)
        if risk <= 0:
            return 0.0
        return (exit_price - self.entry_price) * self.side.sign / risk

    def stop_hit(self, price: float) -> bool:
        return (price - self.stop_loss) * self.side.sign <= 0

    def target_hit(self, price: float) -> bool:
        return self.take_profit > 0 and (price - self.take_profit) * self.side.sign >= 0

    def is_tighter_stop(self, new_stop: float) -> bool:
        """True when `new_stop` reduces risk (moves toward or past the entry in the trade's favour)."""
        return (new_stop - self.stop_loss) * self.side.sign > 0
