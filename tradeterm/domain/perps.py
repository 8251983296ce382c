"""A perpetual position's margin view: leverage, margin mode, liquidation price and distance.

One place turns a position into the inputs of domain/margin.py the way the vector backtester
does (backtest/vector/nb.py `liquidation_nb`, isolated branch): leverage = min(risk.max_leverage,
the instrument's max leverage); an isolated position is backed by its initial margin,
|qty x contract size x entry| / leverage; the default Binance bracket table gives the
maintenance margin. The paper execution engine liquidates with `isolated_liquidated`, or, for
a cross wallet (execution.paper_margin_mode = "cross"), with `cross_liquidated`: the whole wallet
balance backs every position, net of the other positions' maintenance margin and unrealised PnL
(nb.py `liquidation_nb`, cross branch). The console shows `PerpMargin`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tradeterm.domain import margin
from tradeterm.domain.margin import F64
from tradeterm.domain.positions import linear_pnl


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


@dataclass(frozen=True, slots=True)
class CrossLeg:
    """Another position of a cross wallet, as the liquidation formula sees it (`qty` in units)."""

    side: int
    qty: float
    entry: float
    mark: float


def cross_others(others: Iterable[CrossLeg]) -> tuple[float, float]:
    """(TMM1, UPNL1): the maintenance margin and unrealised PnL of a cross wallet's OTHER
    positions at their marks, summed as the vector backtester's cross branch does
    (backtest/vector/nb.py `liquidation_nb`: bracket by the notional at the mark)."""
    floors, rates, cums = _brackets()
    other_mm = 0.0
    other_upnl = 0.0
    for leg in others:
        notional = leg.qty * leg.mark
        b = margin.bracket_index(notional, floors)
        other_mm += margin.maintenance_margin(notional, rates[b], cums[b])
        other_upnl += linear_pnl(leg.side, leg.entry, leg.mark, leg.qty, 1.0)
    return other_mm, other_upnl


def cross_liquidation_price(
    side: int, qty: float, entry: float, wallet_balance: float, others: Iterable[CrossLeg] = ()
) -> float:
    """Binance's liquidation price of a cross one-way position: the whole wallet balance backs
    it, less the other positions' maintenance margin, plus their unrealised PnL. It moves as
    the other marks move. NaN when there is none."""
    floors, rates, cums = _brackets()
    other_mm, other_upnl = cross_others(others)
    return margin.liquidation_price(
        side, qty, entry, wallet_balance, floors, rates, cums, other_mm, other_upnl
    )


def cross_liquidated(
    side: int,
    qty: float,
    entry: float,
    mark: float,
    wallet_balance: float,
    others: Iterable[CrossLeg] = (),
) -> bool:
    """The vector backtester's cross test: wallet balance - TMM1 + UPNL1 + this position's
    unrealised PnL at `mark` at or below its maintenance margin."""
    floors, rates, cums = _brackets()
    other_mm, other_upnl = cross_others(others)
    return margin.is_liquidated(
        side, qty, entry, mark, wallet_balance, floors, rates, cums, other_mm, other_upnl
    )
