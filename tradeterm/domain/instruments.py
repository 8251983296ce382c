"""Instruments: what can be traded, with the increments and minimums the venue enforces."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tradeterm.domain.enums import ContractKind, Domain


def _decimals(step: float) -> int:
    """Number of decimals needed to print multiples of `step` exactly (0.01 -> 2)."""
    if step <= 0:
        return 8
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


# ---- increments and minimums as plain functions (numba-compatible: the vector backtester
# compiles these; the Instrument methods below call them) -------------------------------------
def floor_to_step(qty: float, step: float, decimals: int) -> float:
    """Largest multiple of `step` not above `qty` (sizes never round up), printed exactly."""
    steps = math.floor(qty / step + 1e-9)
    return round(steps * step, decimals)


def stop_away(price: float, tick: float, side_sign: int, decimals: int) -> float:
    """A protective stop rounded to the tick away from the market: down for a long (sign +1),
    up for a short."""
    steps = price / tick
    steps = math.floor(steps + 1e-9) if side_sign > 0 else math.ceil(steps - 1e-9)
    return round(steps * tick, decimals)


def tradeable_qty(
    qty: float, price: float, min_qty: float, lot_step: float, min_notional: float, cs: float
) -> bool:
    """Whether an order of `qty` at `price` meets the venue minimums."""
    return qty >= max(min_qty, lot_step) - 1e-12 and qty * price * cs >= min_notional - 1e-12


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradeable instrument on one venue.

    tick_size: price increment; lot_step: quantity increment; min_qty and min_notional: the
    smallest order the venue accepts; contract_size: units of the underlying per contract.
    """

    venue: str
    symbol: str
    kind: ContractKind
    domain: Domain
    tick_size: float
    lot_step: float
    min_qty: float = 0.0
    min_notional: float = 0.0
    contract_size: float = 1.0
    base: str = ""
    quote: str = "USD"
    max_leverage: float = 1.0
    display_name: str = ""
    half_spread: float = 0.0
    """Typical distance of bid and ask from the mid, in price (the cost model's default when no
    live quote is known; 0 = unknown)."""
    multiplier: float = 0.0
    """MULTIPLIER contracts (Deriv): the multiplier traded (exposure = stake x multiplier, the
    stake is the cash a position holds); 0 for every other kind."""

    @property
    def is_multiplier(self) -> bool:
        """Positions hold a stake as cash and PnL is floored at losing it (domain/multipliers.py)."""
        return self.kind is ContractKind.MULTIPLIER and self.multiplier > 0

    @property
    def key(self) -> str:
        """`venue:symbol`, unique across venues."""
        return f"{self.venue}:{self.symbol}"

    @property
    def shortable(self) -> bool:
        """Whether a position may be opened by selling: not on spot markets (no borrowing)."""
        return self.kind is not ContractKind.SPOT

    @property
    def price_decimals(self) -> int:
        return _decimals(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        return _decimals(self.lot_step)

    def round_price(self, price: float) -> float:
        """Nearest multiple of the tick size."""
        steps = round(price / self.tick_size)
        return round(steps * self.tick_size, self.price_decimals)

    def floor_qty(self, qty: float) -> float:
        """Largest multiple of the lot step not above `qty` (sizes never round up)."""
        return floor_to_step(qty, self.lot_step, self.qty_decimals)

    def stop_price_away(self, price: float, side_sign: int) -> float:
        """Round a protective stop away from the entry so the stop is never tightened by rounding
        into the market: for a long (sign +1) round down, for a short round up."""
        return stop_away(price, self.tick_size, side_sign, self.price_decimals)

    def is_tradeable_qty(self, qty: float, price: float) -> bool:
        """Whether an order of `qty` at `price` meets the venue minimums."""
        return tradeable_qty(
            qty, price, self.min_qty, self.lot_step, self.min_notional, self.contract_size
        )
