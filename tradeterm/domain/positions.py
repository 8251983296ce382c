"""Positions: one net position per wallet and instrument."""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.enums import Side


def linear_pnl(sign: int, entry: float, price: float, qty: float, contract_size: float) -> float:
    """PnL of `qty` held from `entry` to `price` on the `sign` side (+1 long, -1 short)."""
    return (price - entry) * qty * contract_size * sign


def stop_hit(sign: int, price: float, stop: float) -> bool:
    """The last price is at or through the stop of a `sign` position."""
    return (price - stop) * sign <= 0


def target_hit(sign: int, price: float, target: float) -> bool:
    """The last price is at or through the take profit of a `sign` position (0: none)."""
    return target > 0 and (price - target) * sign >= 0


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
    risk_per_unit: float = 0.0
    """Money the gate planned to lose per unit at the stop, net of costs (0: not priced)."""
    ideal_entry: float = 0.0
    """The mid price when the entry was decided (what costs are measured from)."""
    last_funding_ms: int = 0
    """The latest funding boundary booked on this position (perpetuals)."""
    margin: float = 0.0
    """Cash the position holds out of the wallet's balance (a Deriv multiplier's stake less its
    commission), returned with the PnL when it closes; its loss is floored at losing it.
    0: PnL is booked on the balance alone (spot, perps)."""
    venue_ref: str = ""
    """The venue's id of what the position holds (a Deriv contract id), when it has one."""

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def notional(self) -> float:
        return self.qty * self.entry_price * self.contract_size

    def unrealized_pnl(self, mark: float) -> float:
        pnl = linear_pnl(self.side.sign, self.entry_price, mark, self.qty, self.contract_size)
        return max(pnl, -self.margin) if self.margin > 0.0 else pnl

    def risk_at_stop(self) -> float:
        """What the position loses, in quote currency, if the current stop is hit."""
        return (
            max(0.0, (self.entry_price - self.stop_loss) * self.side.sign)
            * self.qty
            * self.contract_size
        )

    def planned_risk(self, qty: float | None = None) -> float:
        """R in money for `qty` (default: the whole position): what the gate planned to lose at
        the stop, net of costs; without a plan, the bare distance to the initial stop plus the
        fees paid so far."""
        units = self.qty if qty is None else qty
        if self.risk_per_unit > 0.0:
            return self.risk_per_unit * units
        initial = self.initial_stop or self.stop_loss
        bare = max(0.0, (self.entry_price - initial) * self.side.sign) * units * self.contract_size
        share = units / self.qty if self.qty > 0 else 1.0
        return bare + self.fees * share

    def r_multiple(self, net_pnl: float, qty: float | None = None) -> float:
        """A result in money as a multiple of the planned risk R (net: fees, spread, slippage
        and funding are in `net_pnl`), so R and won/lost always agree in sign."""
        risk = self.planned_risk(qty)
        if risk <= 0:
            return 0.0
        return net_pnl / risk

    def stop_hit(self, price: float) -> bool:
        return stop_hit(self.side.sign, price, self.stop_loss)

    def target_hit(self, price: float) -> bool:
        return target_hit(self.side.sign, price, self.take_profit)

    def is_tighter_stop(self, new_stop: float) -> bool:
        """True when `new_stop` reduces risk (moves toward or past the entry in the trade's favour)."""
        return (new_stop - self.stop_loss) * self.side.sign > 0
