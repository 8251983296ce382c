"""Funding on paper perpetual positions at the 00/08/16 UTC boundaries."""

from __future__ import annotations

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_PERP,
    BTC_SPOT,
    HOUR,
    MIN,
    NO_COST,
    PAPER_PERP,
    PAPER_SPOT,
    T0,
    decision,
    signal,
)
from tradeterm.domain import events as topics
from tradeterm.domain.enums import Side
from tradeterm.execution.executors import FUNDING_INTERVAL_MS

PERP = dict(entry=60_000.0, stop=58_000.0, target=66_000.0)


def rate(_key: str, ts_ms: int) -> float:
    """0.01 % per 8 h, except a negative -0.02 % at 16:00."""
    return -0.0002 if ts_ms % 86_400_000 == 16 * HOUR else 0.0001


async def test_long_perp_pays_and_receives_funding_at_each_8h_boundary(make_rig: MakeRig) -> None:
    rig = await make_rig(
        model=NO_COST, wallets=(PAPER_PERP,), funding_rate=rate, now_ms=T0 + 7 * HOUR
    )
    await rig.tick(BTC_PERP, 7 * HOUR, 60_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_PERP, ts_ms=T0 + 7 * HOUR, **PERP), PAPER_PERP, 0.1)
    )
    await rig.tick(BTC_PERP, 7 * HOUR + 59 * MIN, 60_000.0)
    assert rig.portfolio.wallet(PAPER_PERP).funding_paid == 0.0

    await rig.tick(BTC_PERP, 8 * HOUR + 1_000, 60_000.0)  # first tick past 08:00: longs pay
    assert rig.portfolio.wallet(PAPER_PERP).balance == pytest.approx(1000.0 - 0.6)
    assert rig.portfolio.position(PAPER_PERP, BTC_PERP.key).funding == pytest.approx(0.6)
    await rig.tick(BTC_PERP, 15 * HOUR, 61_000.0)  # same period: nothing more
    await rig.tick(BTC_PERP, 16 * HOUR + 5 * MIN, 61_000.0)  # negative rate: longs receive
    wallet = rig.portfolio.wallet(PAPER_PERP)
    assert wallet.funding_paid == pytest.approx(0.6 - 1.22)
    assert wallet.balance == pytest.approx(1000.0 - 0.6 + 1.22)
    assert rig.stores.paper.load_positions(PAPER_PERP)[0].funding == pytest.approx(-0.62)

    await rig.engine.close_position(PAPER_PERP, BTC_PERP.key, "done")
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.pnl == pytest.approx(0.1 * 1_000.0 + 0.62)  # price PnL plus net funding received


async def test_spot_and_flat_wallets_pay_no_funding(make_rig: MakeRig) -> None:
    rig = await make_rig(model=NO_COST, wallets=(PAPER_SPOT, PAPER_PERP), now_ms=T0 + 7 * HOUR)
    await rig.tick(BTC_SPOT, 7 * HOUR, 60_000.0)
    await rig.tick(BTC_PERP, 7 * HOUR, 60_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_SPOT, ts_ms=T0 + 7 * HOUR, **PERP), PAPER_SPOT, 0.1)
    )
    await rig.tick(BTC_SPOT, 8 * HOUR + 1, 60_000.0)
    await rig.tick(BTC_PERP, 8 * HOUR + 1, 60_000.0)
    assert rig.portfolio.wallet(PAPER_SPOT).funding_paid == 0.0
    assert rig.portfolio.wallet(PAPER_PERP).balance == 1000.0
    assert FUNDING_INTERVAL_MS == 8 * HOUR


async def test_a_short_perp_receives_positive_funding_and_pays_negative(make_rig: MakeRig) -> None:
    """Flipping the side sign of funding must fail this test: shorts are paid when longs pay."""
    rig = await make_rig(
        model=NO_COST, wallets=(PAPER_PERP,), funding_rate=rate, now_ms=T0 + 7 * HOUR
    )
    await rig.tick(BTC_PERP, 7 * HOUR, 60_000.0)
    short = dict(entry=60_000.0, stop=62_000.0, target=54_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_PERP, side=Side.SELL, ts_ms=T0 + 7 * HOUR, **short), PAPER_PERP, 0.1)
    )
    await rig.tick(BTC_PERP, 8 * HOUR + 1_000, 60_000.0)  # +0.01%: the short receives 0.60
    assert rig.portfolio.wallet(PAPER_PERP).balance == pytest.approx(1000.0 + 0.6)
    assert rig.portfolio.position(PAPER_PERP, BTC_PERP.key).funding == pytest.approx(-0.6)
    await rig.tick(BTC_PERP, 16 * HOUR + 5 * MIN, 61_000.0)  # -0.02%: the short pays 1.22
    assert rig.portfolio.wallet(PAPER_PERP).balance == pytest.approx(1000.0 + 0.6 - 1.22)


async def test_funding_boundaries_passed_while_the_node_was_down_are_charged(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(
        model=NO_COST, wallets=(PAPER_PERP,), funding_rate=rate, now_ms=T0 + 7 * HOUR
    )
    await rig.tick(BTC_PERP, 7 * HOUR, 60_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_PERP, ts_ms=T0 + 7 * HOUR, **PERP), PAPER_PERP, 0.1)
    )
    await rig.engine.stop()
    rig.clock.set_time(T0 + 17 * HOUR)  # down across 08:00 (+0.01%) and 16:00 (-0.02%)
    again = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), funding_rate=rate,
                           clock=rig.clock, restore=True, funded=True)  # fmt: skip
    await again.tick(BTC_PERP, 17 * HOUR, 60_000.0)
    wallet = again.portfolio.wallet(PAPER_PERP)
    # both boundaries, at the first price seen after the restart
    assert wallet.funding_paid == pytest.approx(0.6 - 1.2)
    await again.tick(BTC_PERP, 17 * HOUR + MIN, 60_000.0)  # and never twice
    assert again.portfolio.wallet(PAPER_PERP).funding_paid == pytest.approx(0.6 - 1.2)
