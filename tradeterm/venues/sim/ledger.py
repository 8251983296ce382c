"""The cash and positions of one sim account (one-way: one net position per symbol).

Synthetic indices settle like CFDs: buying does not spend the notional. Cash moves only by
realised PnL and fees, so after a round trip cash = start - fees + PnL. `state()` and
`Ledger.from_state` carry the books across a venue restart (see persist.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.enums import Side
from tradeterm.domain.orders import Fill
from tradeterm.venues.base import VenueBalance, VenuePosition

_DUST = 1e-12


@dataclass(frozen=True, slots=True)
class NetPosition:
    """A net position: signed quantity (long > 0) and average entry price."""

    qty: float
    entry_price: float

    @property
    def side(self) -> Side:
        return Side.BUY if self.qty > 0 else Side.SELL


@dataclass(frozen=True, slots=True)
class LedgerState:
    """An account's books at one moment: cash, fees paid, realised PnL and net positions
    (by symbol, in symbol order)."""

    currency: str
    starting_balance: float
    cash: float
    fees_paid: float
    realized_pnl: float
    positions: tuple[tuple[str, NetPosition], ...] = ()


class Ledger:
    """Cash, fees, realised PnL and net positions of one account."""

    def __init__(self, currency: str, starting_balance: float) -> None:
        self.currency = currency
        self.starting_balance = starting_balance
        self.cash = starting_balance
        self.fees_paid = 0.0
        self.realized_pnl = 0.0
        self._positions: dict[str, NetPosition] = {}

    @classmethod
    def from_state(cls, state: LedgerState) -> Ledger:
        """The books of an account as they were stored."""
        ledger = cls(state.currency, state.starting_balance)
        ledger.cash = state.cash
        ledger.fees_paid = state.fees_paid
        ledger.realized_pnl = state.realized_pnl
        ledger._positions = dict(state.positions)
        return ledger

    def state(self) -> LedgerState:
        """The books as they stand now (a value: later fills do not change it)."""
        return LedgerState(
            self.currency,
            self.starting_balance,
            self.cash,
            self.fees_paid,
            self.realized_pnl,
            tuple(sorted(self._positions.items())),
        )

    def position(self, symbol: str) -> NetPosition | None:
        return self._positions.get(symbol)

    def apply(self, fill: Fill) -> float:
        """Book a fill: pay its fee, realise PnL on any part that closes the position, and return
        the PnL realised."""
        self.cash -= fill.fee
        self.fees_paid += fill.fee
        signed = fill.qty * fill.side.sign
        current = self._positions.get(fill.symbol)
        if current is None or current.qty * signed > 0:
            self._add(fill.symbol, current, signed, fill.price)
            return 0.0
        closing = min(abs(current.qty), fill.qty)
        pnl = (fill.price - current.entry_price) * closing * current.side.sign
        self.cash += pnl
        self.realized_pnl += pnl
        left = current.qty + signed
        if abs(left) <= _DUST:
            del self._positions[fill.symbol]
        elif left * current.qty > 0:
            self._positions[fill.symbol] = NetPosition(left, current.entry_price)
        else:
            self._positions[fill.symbol] = NetPosition(left, fill.price)
        return pnl

    def _add(self, symbol: str, current: NetPosition | None, signed: float, price: float) -> None:
        if current is None:
            self._positions[symbol] = NetPosition(signed, price)
            return
        qty = current.qty + signed
        entry = (current.entry_price * abs(current.qty) + price * abs(signed)) / abs(qty)
        self._positions[symbol] = NetPosition(qty, entry)

    def positions(self) -> list[VenuePosition]:
        """Open positions as the venue reports them."""
        return [
            VenuePosition(symbol, p.side, abs(p.qty), p.entry_price)
            for symbol, p in sorted(self._positions.items())
        ]

    def balance(self) -> VenueBalance:
        """Cash balance (no margin model: all of it is free)."""
        return VenueBalance(self.currency, self.cash, self.cash)
