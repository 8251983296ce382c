"""Live executor on a recording venue: retries with the same client id, rejections, the event
stream, reconciliation (halt vs adopt) and flatten failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_SPOT,
    LIVE_SPOT,
    PAPER_SYN,
    RecordingVenue,
    Rig,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, Side
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import OrderUpdate, VenuePosition

BTC = dict(entry=60_000.0, stop=59_000.0, target=63_000.0)


async def until(check: Callable[[], bool], rounds: int = 100) -> None:
    for _ in range(rounds):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def on_the_clock(rig: Rig, work: Coroutine[Any, Any, None], limit_s: float = 30.0) -> None:
    """Run `work` while moving the SimClock forward in small steps (backoffs sleep on it)."""
    task = asyncio.create_task(work)
    for _ in range(int(limit_s / 0.25)):
        if task.done():
            break
        await rig.clock.advance(0.25)
    await task


async def _live(make_rig: MakeRig, policy: str = "halt") -> tuple[Rig, RecordingVenue]:
    venue = RecordingVenue()
    config = ExecutionConfig(confirm="never", reconcile=policy)  # type: ignore[arg-type]
    rig = await make_rig(config=config, wallets=(PAPER_SYN,), live={LIVE_SPOT: venue})
    return rig, venue


async def _open_long(rig: Rig, venue: RecordingVenue) -> str:
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    (order,) = venue.submitted
    await venue.fill(order.client_order_id, 0.01, 60_010.0, fee=0.24)
    await until(lambda: rig.portfolio.position(LIVE_SPOT, BTC_SPOT.key) is not None)
    return order.client_order_id


async def test_live_fill_from_the_event_stream_opens_the_position(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig)
    coid = await _open_long(rig, venue)
    pos = rig.portfolio.position(LIVE_SPOT, BTC_SPOT.key)
    assert (pos.qty, pos.entry_price, pos.stop_loss) == (0.01, 60_010.0, 59_000.0)
    assert rig.stores.live.load_order(coid).status is OrderStatus.FILLED
    assert rig.stores.paper.load_orders(wallet_id=LIVE_SPOT) == []  # live rows never touch paper.db
    assert rig.portfolio.wallet(LIVE_SPOT).balance == pytest.approx(5000.0 - 0.24)


async def test_temporary_errors_are_retried_with_the_same_client_order_id(
    make_rig: MakeRig,
) -> None:
    rig, venue = await _live(make_rig)
    venue.failures = [TemporaryVenueError("timeout"), TemporaryVenueError("rate limited")]
    start = rig.clock.now_ms()
    await on_the_clock(
        rig, rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    )
    assert rig.clock.now_ms() - start >= 3_000  # backoffs of 1 s then 2 s, on the clock
    assert len(venue.submitted) == 3
    assert len({o.client_order_id for o in venue.submitted}) == 1
    (order,) = rig.engine.ledger.working(LIVE_SPOT)
    assert order.status is OrderStatus.SUBMITTED


async def test_retries_exhausted_or_permanent_refusal_reject_with_an_alert(
    make_rig: MakeRig,
) -> None:
    rig, venue = await _live(make_rig)
    venue.failures = [PermanentVenueError("insufficient margin")]
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    (order,) = rig.stores.live.load_orders(wallet_id=LIVE_SPOT)
    assert (order.status, order.reason) == (
        OrderStatus.REJECTED,
        "venue refused: insufficient margin",
    )
    assert "insufficient margin" in rig.recorder.of(topics.ALERT)[-1].text

    venue.failures = [TemporaryVenueError("timeout")] * 3
    await on_the_clock(
        rig, rig.engine.on_decision(decision(signal(BTC_SPOT, ts_ms=1, **BTC), LIVE_SPOT, 0.01))
    )
    last = rig.stores.live.load_orders(wallet_id=LIVE_SPOT)[-1]
    assert (last.status, last.reason) == (
        OrderStatus.REJECTED,
        "venue unreachable after 3 tries: timeout",
    )


async def test_reconcile_halts_on_an_orphan_venue_position(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig, "halt")
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.5, 60_000.0)]
    report = await rig.engine.reconcile()
    assert report.halt
    (orphan,) = report.orphans
    assert (orphan.kind, orphan.symbol, orphan.wallet_id) == ("position", "BTCUSDT", LIVE_SPOT)
    assert "venue holds buy 0.5 @ 60000; stored: nothing" in rig.recorder.of(topics.ALERT)[-1].text
    assert rig.portfolio.positions(LIVE_SPOT) == []
    assert report.wallets == (LIVE_SPOT, PAPER_SYN)  # paper wallets agree by construction


async def test_reconcile_adopts_an_orphan_position_with_a_conservative_stop(
    make_rig: MakeRig,
) -> None:
    rig, venue = await _live(make_rig, "adopt")
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.5, 60_000.0)]
    report = await rig.engine.reconcile()
    assert not report.halt and len(report.orphans) == 1 and len(report.adopted) == 1
    pos = rig.portfolio.position(LIVE_SPOT, BTC_SPOT.key)
    assert (pos.qty, pos.stop_loss, pos.take_profit, pos.strategy) == (
        0.5,
        58_200.0,
        65_400.0,
        "adopted",
    )
    assert rig.stores.live.load_positions(LIVE_SPOT) == [pos]
    assert rig.recorder.of(topics.POSITION)[-1].position == pos
    assert (await rig.engine.reconcile()).clean


async def test_reconcile_settles_orders_the_venue_no_longer_lists(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig, "halt")
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    await rig.engine.on_decision(decision(signal(BTC_SPOT, ts_ms=1, **BTC), LIVE_SPOT, 0.02))
    filled, lost = (o.client_order_id for o in venue.submitted)
    venue.orders.clear()  # filled while we were away / never heard of
    venue.statuses[filled] = OrderUpdate(
        filled, OrderStatus.FILLED, 0, filled_qty=0.01, avg_fill_price=60_020.0
    )
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.01, 60_020.0)]

    report = await rig.engine.reconcile()
    assert report.clean and not report.halt
    assert rig.stores.live.load_order(filled).status is OrderStatus.FILLED
    assert rig.portfolio.position(LIVE_SPOT, BTC_SPOT.key).entry_price == pytest.approx(60_020.0)
    gone = rig.stores.live.load_order(lost)
    assert (gone.status, gone.reason) == (
        OrderStatus.EXPIRED,
        "not found on the venue at reconcile",
    )


async def test_orphan_venue_order_is_reported_and_cancelled_on_adopt(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig, "adopt")
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    (ours,) = venue.submitted
    venue.orders["manual-1"] = replace(ours, client_order_id="manual-1")  # placed by hand
    report = await rig.engine.reconcile()
    assert [o.kind for o in report.orphans] == ["order"]
    assert venue.cancelled == ["manual-1"]


async def test_flatten_reports_a_position_the_venue_refused_to_close(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig)
    await _open_long(rig, venue)
    venue.failures = [PermanentVenueError("account frozen")]
    report = await rig.engine.flatten_all(by="tui")
    assert not report.ok
    (failure,) = report.venue("binance").failures
    assert (
        failure
        == f"{LIVE_SPOT} binance:BTCUSDT not closed (rejected: venue refused: account frozen)"
    )
    assert rig.portfolio.position(LIVE_SPOT, BTC_SPOT.key) is not None
