"""Paper perpetuals are liquidated (isolated margin) when the mark crosses the liquidation price
of domain/margin.py, the formula the vector backtester uses.

Hand numbers: an isolated position at leverage L is backed by |Q x EP| / L; in the first bracket
(MMR 0.4 %, cum 0) Binance's liquidation price is EP x (1 - 1/L) / (1 - 0.004) for a long and
EP x (1 + 1/L) / (1 + 0.004) for a short. At L = 10 and EP = 3000: 2710.843... / 3286.852...
"""

from __future__ import annotations

import asyncio
import math

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_PERP,
    ETH_PERP,
    MIN,
    NO_COST,
    PAPER_PERP,
    R100_MULT,
    RecordingVenue,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig, RiskConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import Side
from tradeterm.domain.orders import OrderPurpose
from tradeterm.domain.perps import isolated_liquidated

LONG_LIQ = 3000.0 * (1 - 1 / 10) / (1 - 0.004)
SHORT_LIQ = 3000.0 * (1 + 1 / 10) / (1 + 0.004)
TEN_X = RiskConfig(max_leverage=10.0)
LIVE_PERP = "live:crypto_perp"


async def test_isolated_long_is_liquidated_when_the_mark_crosses_its_price(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), risk_config=TEN_X)
    await rig.tick(ETH_PERP, 0, 3000.0)
    sig = signal(ETH_PERP, entry=3000.0, stop=2500.0, target=3600.0)  # stop beyond liquidation
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 1.0))
    position = rig.portfolio.position(PAPER_PERP, ETH_PERP.key)
    assert position is not None

    view = rig.engine.perp_margin(position)
    assert view is not None
    assert (view.leverage, view.margin_mode) == (10.0, "isolated")
    assert view.liquidation_price == pytest.approx(LONG_LIQ)
    assert view.distance(3000.0) == pytest.approx((3000.0 - LONG_LIQ) / 3000.0)

    await rig.tick(ETH_PERP, MIN, LONG_LIQ + 1.0)  # just above: still open
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is not None
    assert rig.recorder.of(topics.TRADE_CLOSED) == []

    await rig.tick(ETH_PERP, 2 * MIN, LONG_LIQ - 1.0)  # through it: closed at market
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is None
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "liquidation"
    assert trade.pnl == pytest.approx(LONG_LIQ - 1.0 - 3000.0)
    exits = [o for o in rig.recorder.of(topics.ORDER) if o.purpose is OrderPurpose.EXIT]
    assert exits and all(o.reduce_only and o.side is Side.SELL for o in exits)


async def test_isolated_short_is_liquidated_above_its_price(make_rig: MakeRig) -> None:
    rig = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), risk_config=TEN_X)
    await rig.tick(ETH_PERP, 0, 3000.0)
    sig = signal(ETH_PERP, side=Side.SELL, entry=3000.0, stop=3500.0, target=2400.0)
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 1.0))
    position = rig.portfolio.position(PAPER_PERP, ETH_PERP.key)
    assert position is not None
    view = rig.engine.perp_margin(position)
    assert view is not None and view.liquidation_price == pytest.approx(SHORT_LIQ)

    await rig.tick(ETH_PERP, MIN, SHORT_LIQ - 1.0)
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is not None
    await rig.tick(ETH_PERP, 2 * MIN, SHORT_LIQ + 1.0)
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is None
    assert rig.recorder.of(topics.TRADE_CLOSED)[0].exit_reason == "liquidation"


async def test_a_one_x_perp_has_no_liquidation_price(make_rig: MakeRig) -> None:
    """The instrument caps leverage: BTC_PERP allows 1x, so a long is fully collateralised."""
    rig = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), risk_config=TEN_X)
    await rig.tick(BTC_PERP, 0, 60_000.0)
    sig = signal(BTC_PERP, entry=60_000.0, stop=1_000.0, target=66_000.0)
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 0.01))
    position = rig.portfolio.position(PAPER_PERP, BTC_PERP.key)
    assert position is not None
    view = rig.engine.perp_margin(position)
    assert view is not None and view.leverage == 1.0 and math.isnan(view.liquidation_price)
    await rig.tick(BTC_PERP, MIN, 2_000.0)
    assert rig.portfolio.position(PAPER_PERP, BTC_PERP.key) is not None


def test_the_paper_test_matches_the_vector_backtester_kernel() -> None:
    """One implementation: the numba kernel of the vector backtester wraps the same function."""
    from tradeterm.backtest.vector import nb
    from tradeterm.domain.margin import default_brackets

    floors, rates, cums = default_brackets()
    for mark in (LONG_LIQ - 0.5, LONG_LIQ + 0.5):
        wb = 3000.0 / 10.0
        kernel = nb.is_liquidated_nb(1, 1.0, 3000.0, mark, wb, floors, rates, cums, 0.0, 0.0)
        assert kernel == isolated_liquidated(1, 1.0, 3000.0, mark, 10.0)


class PerpVenue(RecordingVenue):
    """A live perp account that reports its positions' margin like the crypto adapters'
    `position_details()`."""

    def __init__(self) -> None:
        super().__init__("bybit")
        self.details: list[dict[str, object]] = []
        self.asked = 0

    async def position_details(self) -> list[dict[str, object]]:
        self.asked += 1
        return list(self.details)


async def test_a_live_perp_shows_what_the_venue_reports_and_is_not_liquidated_by_us(
    make_rig: MakeRig,
) -> None:
    venue = PerpVenue()
    rig = await make_rig(
        wallets=(),
        live={LIVE_PERP: venue},
        risk_config=TEN_X,
        config=ExecutionConfig(confirm="never", resting_stops=False),
    )
    await rig.tick(ETH_PERP, 0, 3000.0)
    await rig.engine.on_decision(
        decision(signal(ETH_PERP, entry=3000.0, stop=2500.0, target=3600.0), LIVE_PERP, 1.0)
    )
    entry = next(o for o in venue.submitted if o.purpose is OrderPurpose.ENTRY)
    await venue.fill(entry.client_order_id, 1.0, 3000.0)
    for _ in range(100):
        if rig.portfolio.position(LIVE_PERP, ETH_PERP.key) is not None:
            break
        await asyncio.sleep(0)
    position = rig.portfolio.position(LIVE_PERP, ETH_PERP.key)
    assert position is not None
    assert rig.engine.perp_margin(position) is None  # nothing reported yet

    venue.details = [
        {"symbol": "ETHUSDT", "leverage": 20, "margin_mode": "cross", "liquidation_price": 2100.5}
    ]
    await rig.engine.refresh_venue_margin()
    view = rig.engine.perp_margin(position)
    assert view is not None and venue.asked == 1
    assert (view.leverage, view.margin_mode, view.liquidation_price) == (20.0, "cross", 2100.5)

    await rig.tick(ETH_PERP, MIN, LONG_LIQ - 100.0)  # the venue liquidates live positions
    assert [o.reason for o in venue.submitted if o.reason == "liquidation"] == []


async def test_a_paper_multiplier_is_stopped_out_when_its_loss_reaches_the_stake(
    make_rig: MakeRig,
) -> None:
    """A Deriv multiplier on paper: x10, 1 unit at 1000 holds a stake of 100; the stop-out is
    where the loss reaches it (domain/multipliers.py: 1000 x (1 - 100/1000) = 900). Through it
    the position is closed and the wallet has lost exactly the stake, not more."""
    rig = await make_rig(model=NO_COST, wallets=("paper:synthetics",))
    start = rig.portfolio.wallet("paper:synthetics").balance
    await rig.tick(R100_MULT, 0, 1000.0)
    sig = signal(R100_MULT, entry=1000.0, stop=850.0, target=1450.0)  # stop beyond the stop-out
    await rig.engine.on_decision(decision(sig, "paper:synthetics", 1.0))
    position = rig.portfolio.position("paper:synthetics", R100_MULT.key)
    assert position is not None and position.margin == pytest.approx(100.0)
    assert rig.portfolio.wallet("paper:synthetics").balance == pytest.approx(start - 100.0)

    await rig.tick(R100_MULT, MIN, 901.0)  # just above the stop-out: still open
    assert rig.portfolio.position("paper:synthetics", R100_MULT.key) is not None
    await rig.tick(R100_MULT, 2 * MIN, 895.0)  # through it
    assert rig.portfolio.position("paper:synthetics", R100_MULT.key) is None
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "stop_out"
    assert trade.pnl == pytest.approx(-100.0)  # the loss stops at the stake
    assert rig.portfolio.wallet("paper:synthetics").balance == pytest.approx(start - 100.0)
