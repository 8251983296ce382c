"""A perpetual position's margin view: leverage, margin mode, liquidation price and distance.

One place turns a position into the inputs of domain/margin.py the way the vector backtester
does (backtest/vector/nb.py `liquidation_nb`, isolated branch): leverage = min(risk.max_leverage,
the instrument's max leverage); an isolated position is backed by its initial margin,
|qty x contract size x entry| / leverage; the default Binance bracket table gives the
maintenance margin. The paper execution engine liquidates with `isolated_liquidated`, the
console shows `PerpMargin`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from tradeterm.domain import margin
from tradeterm.domain.margin import F64


@cache
def _brackets() -> tuple[F64, F64, F64]:
    return margin.default_brackets()


def paper_leverage(risk_max_leverage: float, instrument_max_leverage: float) -> float:
    """The leverage a paper perpetual runs at: the risk cap, limited by the instrument."""
    return max(1.0, min(risk_max_leverage, max(1.0, instrument_max_leverage)))


@dataclass(frozen=True, slots=True)
class PerpMargin:
    """What the console shows for one perpetual position (NaN: no liquidation price)."""

    leverage: float
    margin_mode: str
    liquidation_price: float
    funding: float
    """Funding booked on the position so far (> 0: paid)."""

    def distance(self, mark: float) -> float:
        """How far the mark is from liquidation, as a fraction of the mark (NaN: unknown)."""
        if mark <= 0 or math.isnan(self.liquidation_price):
            return math.nan
        return abs(mark - self.liquidation_price) / mark


def isolated_margin(qty: float, entry: float, leverage: float) -> float:
    """The wallet balance backing an isolated position: its initial margin."""
    return margin.initial_margin(qty * entry, leverage)


def isolated_liquidation_price(side: int, qty: float, entry: float, leverage: float) -> float:
    """Binance's liquidation price of an isolated one-way position (`qty` in units, i.e.
    contracts x contract size; side +1 long / -1 short). NaN when it cannot be liquidated."""
    floors, rates, cums = _brackets()
    wb = isolated_margin(qty, entry, leverage)
    return margin.liquidation_price(side, qty, entry, wb, floors, rates, cums)


def isolated_liquidated(side: int, qty: float, entry: float, mark: float, leverage: float) -> bool:
    """The vector backtester's test: margin balance at `mark` at or below maintenance margin."""
    floors, rates, cums = _brackets()
    wb = isolated_margin(qty, entry, leverage)
    return margin.is_liquidated(side, qty, entry, mark, wb, floors, rates, cums)
