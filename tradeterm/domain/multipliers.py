"""Deriv multiplier contract maths (PROTOCOLS.md section 3): pure functions, no I/O.

One module serves the protocol simulator (which settles contracts), the live client (which shows
trigger levels) and the paper executor and risk gate (which price a multiplier trade), so the
numbers cannot drift between them.

Notation: stake A, multiplier m, entry spot S0, current spot S, commission C (currency),
sign s = +1 for MULTUP (up), -1 for MULTDOWN (down).

- profit = A*m*s*(S - S0)/S0 - C; contract value (bid) = max(A + profit, 0)
- commission C = rate * A * m (charged up front; a new contract shows profit ~ -C)
- stop-out price  S0*(1 - s*(A - C)/(A*m))   (loss reaches the stake; payout 0)
- stop-loss price S0*(1 - s*(L - C)/(A*m))   (C < L < A)
- take-profit     S0*(1 + s*(T + C)/(A*m))
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MultiplierDirection(StrEnum):
    """MULTUP profits when the index rises, MULTDOWN when it falls."""

    UP = "MULTUP"
    DOWN = "MULTDOWN"

    @property
    def sign(self) -> int:
        return 1 if self is MultiplierDirection.UP else -1


class CloseReason(StrEnum):
    """Why a multiplier contract closed."""

    STOP_OUT = "stop_out"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    SOLD = "sold"
    CANCELLED = "cancelled"


DEFAULT_COMMISSION_RATE = 0.000504
"""Commission as a fraction of notional (A*m); Deriv's Volatility 100 fixture implies 0.0504 %."""


@dataclass(frozen=True, slots=True)
class MultiplierTerms:
    """What a multiplier contract is: direction, stake, multiplier, entry spot, commission and the
    optional take profit / stop loss in currency (None = not set)."""

    direction: MultiplierDirection
    stake: float
    multiplier: float
    entry_spot: float
    commission: float
    take_profit: float | None = None
    stop_loss: float | None = None

    def __post_init__(self) -> None:
        if self.stake <= 0 or self.multiplier <= 0 or self.entry_spot <= 0:
            raise ValueError("stake, multiplier and entry spot must be positive")
        if self.commission < 0:
            raise ValueError("commission cannot be negative")

    @property
    def notional(self) -> float:
        return self.stake * self.multiplier

    def profit(self, spot: float) -> float:
        """Profit at `spot` (currency), never below -stake."""
        s = self.direction.sign
        raw = self.notional * s * (spot - self.entry_spot) / self.entry_spot - self.commission
        return max(raw, -self.stake)

    def value(self, spot: float) -> float:
        """What selling at `spot` returns (the contract's bid price), floored at 0."""
        return max(self.stake + self.profit(spot), 0.0)

    def stop_out_price(self) -> float:
        return trigger_price(self, -self.stake)

    def stop_loss_price(self) -> float | None:
        if self.stop_loss is None:
            return None
        return trigger_price(self, -self.stop_loss)

    def take_profit_price(self) -> float | None:
        if self.take_profit is None:
            return None
        return trigger_price(self, self.take_profit)

    def close_reason(self, spot: float) -> CloseReason | None:
        """Which automatic close `spot` triggers (stop-out first), or None."""
        raw = (
            self.notional * self.direction.sign * (spot - self.entry_spot) / self.entry_spot
            - self.commission
        )
        if raw <= -self.stake:
            return CloseReason.STOP_OUT
        if self.stop_loss is not None and raw <= -self.stop_loss:
            return CloseReason.STOP_LOSS
        if self.take_profit is not None and raw >= self.take_profit:
            return CloseReason.TAKE_PROFIT
        return None

    def settle(self, spot: float, reason: CloseReason) -> float:
        """Sell price when the contract closes at `spot` for `reason` (stop-out pays 0)."""
        if reason is CloseReason.STOP_OUT:
            return 0.0
        if reason is CloseReason.CANCELLED:
            return self.stake
        return round(self.value(spot), 2)


def trigger_price(terms: MultiplierTerms, profit: float) -> float:
    """The spot at which the contract's profit equals `profit` (currency, signed)."""
    s = terms.direction.sign
    return terms.entry_spot * (1 + s * (profit + terms.commission) / terms.notional)


def commission_for(stake: float, multiplier: float, rate: float = DEFAULT_COMMISSION_RATE) -> float:
    """Up-front commission (currency) of a contract: `rate` of notional, rounded to cents."""
    return round(stake * multiplier * rate, 2)


def stake_for_notional(notional: float, multiplier: float) -> float:
    """The stake that gives `notional` exposure at `multiplier` (rounded down to cents)."""
    if multiplier <= 0:
        raise ValueError("multiplier must be positive")
    return int(notional / multiplier * 100) / 100


def tp_sl_amounts(
    terms_stake: float,
    multiplier: float,
    entry: float,
    stop_price: float,
    target_price: float,
) -> tuple[float, float]:
    """Stop loss and take profit in currency for price levels (a signal's stop and target):
    the currency P&L at those prices, without commission, rounded to cents and at least 0.01."""
    notional = terms_stake * multiplier
    loss = abs(stop_price - entry) / entry * notional
    gain = abs(target_price - entry) / entry * notional
    return max(round(loss, 2), 0.01), max(round(gain, 2), 0.01)


def contract_qty(stake: float, multiplier: float, entry_spot: float) -> float:
    """A contract as a position: the units of the index its exposure (stake x multiplier) buys
    at its entry spot, so linear PnL qty x (S - S0) is the contract's gross profit."""
    if entry_spot <= 0:
        raise ValueError("entry spot must be positive")
    return stake * multiplier / entry_spot


def payout_price(
    sign: int, stake: float, multiplier: float, entry_spot: float, commission: float, paid: float
) -> float:
    """The exit price at which a position booked as (contract_qty, entry_spot, cash held
    stake - commission) realises exactly what the venue paid on closing (`paid`: the sell price,
    0 on a stop-out): linear PnL at this price is paid - stake + commission."""
    return entry_spot * (1 + sign * (paid - stake + commission) / (stake * multiplier))


def held_cash(qty: float, price: float, multiplier: float, fee: float) -> float:
    """Cash a multiplier position holds for an opening fill of `qty` at `price`: the stake
    (qty x price / multiplier) less the commission, which is booked as the fill's fee, so the
    wallet's cash falls by exactly the stake, as the venue's balance does."""
    return max(qty * price / multiplier - fee, 0.0)


def held_terms(
    sign: int,
    entry_spot: float,
    multiplier: float,
    held: float,
    commission: float,
    stop_price: float = 0.0,
    target_price: float = 0.0,
) -> MultiplierTerms | None:
    """The contract a booked multiplier position stands for: its stake is the cash it holds
    plus the commission paid; its stop loss and take profit in currency are the profit at the
    position's stop and target prices (0: none). None when it holds no stake."""
    stake = held + commission
    if stake <= 0 or multiplier <= 0 or entry_spot <= 0:
        return None
    way = MultiplierDirection.UP if sign > 0 else MultiplierDirection.DOWN
    bare = MultiplierTerms(way, stake, multiplier, entry_spot, commission)
    sl = round(-bare.profit(stop_price), 2) if stop_price > 0 else None
    tp = round(bare.profit(target_price), 2) if target_price > 0 else None
    return MultiplierTerms(way, stake, multiplier, entry_spot, commission, tp, sl)
