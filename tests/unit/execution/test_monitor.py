"""The position monitor: trailing stops only tighten, time-based exits, one exit at a time."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_SPOT,
    DAY_MS,
    HOUR,
    LIVE_SPOT,
    MIN,
    NO_COST,
    PAPER_SYN,
    R100,
    T0,
    RecordingVenue,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig, FillModelConfig, RiskConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import Side
from tradeterm.domain.orders import OrderPurpose


async def _long(rig, *, stop: float = 98.0, target: float = 110.0, atr: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(
        decision(signal(entry=100.0, stop=stop, target=target, atr=atr), qty=1.0)
    )
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None


async def test_trailing_stop_follows_the_best_price_and_never_widens(make_rig: MakeRig) -> None:
    rig = await make_rig(
        config=ExecutionConfig(confirm="never", trailing_stop_atr=2.0), model=NO_COST
    )
    await _long(rig, atr=1.0)
    stops = []
    for i, price in enumerate([101.0, 100.5, 103.0, 102.0, 102.5], start=1):
        await rig.tick(R100, i * MIN, price)
        stops.append(rig.portfolio.position(PAPER_SYN, R100.key).stop_loss)
    assert stops == [99.0, 99.0, 101.0, 101.0, 101.0]
    assert all(new > old for old, new in rig.risk.stop_checks)  # only tightening was asked for
    assert rig.stores.paper.load_positions(PAPER_SYN)[0].stop_loss == 101.0

    await rig.tick(R100, 10 * MIN, 100.9)
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "trailing_stop"
    assert trade.r_multiple == pytest.approx(0.45)  # R measured from the initial 98 stop


async def test_max_hold_closes_the_position(make_rig: MakeRig) -> None:
    rig = await make_rig(risk_config=RiskConfig(max_hold_minutes=60), model=NO_COST)
    await _long(rig)
    await rig.tick(R100, 59 * MIN, 100.5)
    assert rig.recorder.of(topics.TRADE_CLOSED) == []
    await rig.tick(R100, 60 * MIN, 100.5)
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert (trade.exit_reason, trade.pnl) == ("max_hold", pytest.approx(0.5))


async def test_time_stop_closes_after_n_bars_of_the_signal_timeframe(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ExecutionConfig(confirm="never", time_stop_bars=3), model=NO_COST)
    await _long(rig)  # a 5m signal: 15 minutes
    await rig.tick(R100, 14 * MIN, 100.0)
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None
    await rig.tick(R100, 15 * MIN, 100.0)
    assert rig.recorder.of(topics.TRADE_CLOSED)[0].exit_reason == "time_stop"


async def test_weekend_carry_closes_at_the_friday_cutoff(make_rig: MakeRig) -> None:
    friday_19h = 4 * DAY_MS + 19 * HOUR
    rig = await make_rig(
        risk_config=RiskConfig(avoid_weekend_carry=True, max_hold_minutes=100_000),
        model=NO_COST,
        now_ms=T0 + friday_19h,
    )
    await rig.tick(R100, friday_19h, 100.0)
    await rig.engine.on_decision(decision(signal(ts_ms=T0 + friday_19h), qty=1.0))
    await rig.tick(R100, friday_19h + 59 * MIN, 100.0)
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None
    await rig.tick(R100, friday_19h + HOUR, 100.0)
    assert rig.recorder.of(topics.TRADE_CLOSED)[0].exit_reason == "weekend"


async def test_no_second_exit_while_one_is_working(make_rig: MakeRig) -> None:
    slow = FillModelConfig(taker_fee_rate=0.0, slippage_bps=0.0, latency_ms=5_000)
    monitor_only = ExecutionConfig(confirm="never", resting_stops=False)
    rig = await make_rig(model=slow, config=monitor_only)
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(), qty=1.0))
    await rig.tick(R100, 6_000, 100.0)  # the entry becomes fillable
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None

    await rig.tick(R100, 10_000, 97.0)  # stop hit: exit sent, not fillable for 5 s
    await rig.tick(R100, 11_000, 96.0)
    await rig.tick(R100, 12_000, 95.0)
    exits = [
        o
        for o in rig.stores.paper.load_orders(wallet_id=PAPER_SYN)
        if o.purpose is OrderPurpose.STOP_LOSS
    ]
    assert len(exits) == 1 and exits[0].reduce_only

    await rig.tick(R100, 16_000, 95.5)
    assert rig.portfolio.position(PAPER_SYN, R100.key) is None
    assert rig.recorder.of(topics.TRADE_CLOSED)[0].exit_price == 95.5


async def test_manual_close_uses_a_reduce_only_exit(make_rig: MakeRig) -> None:
    rig = await make_rig(model=NO_COST)
    await _long(rig)
    await rig.tick(R100, MIN, 101.0)
    await rig.engine.close_position(PAPER_SYN, R100.key, "operator")
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert (trade.exit_reason, trade.pnl) == ("manual", pytest.approx(1.0))


async def test_the_monitor_is_the_second_line_when_a_resting_stop_does_not_work(
    make_rig: MakeRig,
) -> None:
    """A venue that accepted the stop but never fills it (a fault, a lost order): once the price
    has stayed through the stop for stop_grace_s, the monitor cancels the resting orders and
    closes the position at market itself."""
    venue = RecordingVenue()
    rig = await make_rig(
        config=ExecutionConfig(confirm="never"), wallets=(), live={LIVE_SPOT: venue}
    )
    await rig.tick(BTC_SPOT, 0, 60_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_SPOT, entry=60_000.0, stop=59_000.0, target=63_000.0), LIVE_SPOT, 0.01)
    )
    entry = venue.submitted[0]
    await venue.fill(entry.client_order_id, 0.01, 60_000.0)
    for _ in range(50):
        if len(venue.submitted) >= 3:
            break
        await asyncio.sleep(0)
    kinds = sorted(o.purpose.value for o in venue.submitted[1:])
    assert kinds == ["stop_loss", "take_profit"]  # protection rests at the venue
    assert all(o.reduce_only for o in venue.submitted[1:])

    await rig.tick(BTC_SPOT, 10_000, 58_900.0)  # through the stop; the venue does nothing
    await rig.tick(BTC_SPOT, 11_000, 58_800.0)
    assert len(venue.submitted) == 3  # within the grace: the venue's stop is the first line
    await rig.tick(BTC_SPOT, 12_000, 58_800.0)  # 2 s through the stop: the monitor acts
    assert len(venue.submitted) == 4
    exit_order = venue.submitted[-1]
    assert exit_order.purpose is OrderPurpose.STOP_LOSS and exit_order.order_type.value == "market"
    assert exit_order.reduce_only
    assert sorted(venue.cancelled) == sorted(o.client_order_id for o in venue.submitted[1:3])


async def test_a_price_back_inside_the_stop_restarts_the_grace(make_rig: MakeRig) -> None:
    venue = RecordingVenue()
    rig = await make_rig(
        config=ExecutionConfig(confirm="never"), wallets=(), live={LIVE_SPOT: venue}
    )
    await rig.tick(BTC_SPOT, 0, 60_000.0)
    await rig.engine.on_decision(
        decision(signal(BTC_SPOT, entry=60_000.0, stop=59_000.0, target=63_000.0), LIVE_SPOT, 0.01)
    )
    await venue.fill(venue.submitted[0].client_order_id, 0.01, 60_000.0)
    for _ in range(50):
        await asyncio.sleep(0)
    await rig.tick(BTC_SPOT, 10_000, 58_900.0)
    await rig.tick(BTC_SPOT, 11_000, 59_100.0)  # back above the stop
    await rig.tick(BTC_SPOT, 12_500, 58_900.0)
    await rig.tick(BTC_SPOT, 13_000, 58_900.0)
    assert len(venue.submitted) == 3  # the breach restarted at 12.5 s: no exit yet


async def test_a_short_is_stopped_when_the_price_rises_through_its_stop(make_rig: MakeRig) -> None:
    """Flipping the side sign of the stop test must fail this: a short's stop is above it."""
    rig = await make_rig(
        config=ExecutionConfig(confirm="never", resting_stops=False), model=NO_COST
    )
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(
        decision(signal(side=Side.SELL, entry=100.0, stop=102.0, target=94.0), qty=1.0)
    )
    await rig.tick(R100, MIN, 98.0)  # in profit: nothing happens
    assert rig.recorder.of(topics.TRADE_CLOSED) == []
    await rig.tick(R100, 2 * MIN, 102.5)  # through the stop above
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "stop_loss" and trade.pnl == pytest.approx(-2.5)
    assert trade.r_multiple == pytest.approx(-1.25)


async def test_a_short_takes_profit_when_the_price_falls_to_its_target(make_rig: MakeRig) -> None:
    rig = await make_rig(model=NO_COST)  # the target rests at the venue as a limit buy
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(
        decision(signal(side=Side.SELL, entry=100.0, stop=102.0, target=94.0), qty=1.0)
    )
    await rig.tick(R100, MIN, 101.0)
    await rig.tick(R100, 2 * MIN, 94.0)
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert (trade.exit_reason, trade.exit_price) == ("take_profit", 94.0)
    assert trade.pnl == pytest.approx(6.0) and trade.r_multiple == pytest.approx(3.0)
