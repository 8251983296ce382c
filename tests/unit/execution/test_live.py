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


async def test_adopting_a_position_too_big_for_the_wallet_halts_with_the_reason(
    make_rig: MakeRig,
) -> None:
    """A $30,000 position found at the venue is not adopted into a $5,000 wallet: the adoption
    passes the same limits an entry does, and a refusal halts with its reason."""
    rig, venue = await _live(make_rig, "adopt")
    rig.risk.adoption_refusal = "pair exposure cap on binance:BTCUSDT: adopting notional 30000.00"
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.5, 60_000.0)]
    report = await rig.engine.reconcile()
    assert report.halt and report.adopted == ()
    assert report.refusals == (
        f"reconcile {LIVE_SPOT}: not adopting binance:BTCUSDT: pair exposure cap on "
        "binance:BTCUSDT: adopting notional 30000.00",
    )
    assert "not adopting binance:BTCUSDT" in report.reason
    assert rig.portfolio.positions(LIVE_SPOT) == []


async def test_a_position_missing_at_the_venue_is_closed_as_a_trade_with_its_pnl(
    make_rig: MakeRig,
) -> None:
    rig, venue = await _live(make_rig, "adopt")
    await rig.tick(BTC_SPOT, 0, 60_000.0)
    await _open_long(rig, venue)
    venue.held = []  # the venue closed it (a stop, a liquidation, a manual close)
    await rig.tick(BTC_SPOT, 1_000, 60_500.0)
    report = await rig.engine.reconcile()
    assert [o.kind for o in report.orphans] == ["missing_position"]
    assert rig.portfolio.positions(LIVE_SPOT) == []
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "flat at the venue (reconcile)"
    assert trade.exit_price == 60_500.0
    assert trade.pnl == pytest.approx(0.01 * (60_500.0 - 60_010.0) - 0.24)
    assert rig.stores.live.load_trades(LIVE_SPOT) == [trade]


async def test_reconciled_fills_carry_the_venues_fee_or_the_expected_one(
    make_rig: MakeRig,
) -> None:
    rig, venue = await _live(make_rig, "halt")
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    await rig.engine.on_decision(decision(signal(BTC_SPOT, ts_ms=1, **BTC), LIVE_SPOT, 0.02))
    told, untold = (o.client_order_id for o in venue.submitted)
    venue.orders.clear()
    venue.statuses[told] = OrderUpdate(
        told, OrderStatus.FILLED, 0, filled_qty=0.01, avg_fill_price=60_000.0, fees=0.42
    )
    venue.statuses[untold] = OrderUpdate(
        untold, OrderStatus.FILLED, 0, filled_qty=0.02, avg_fill_price=60_000.0
    )
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.03, 60_000.0)]
    venue.cash = 5000.0 - 0.42 - 0.6
    await rig.engine.reconcile()
    fees = {f.client_order_id: f.fee for f in rig.stores.live.load_fills()}
    assert fees[told] == pytest.approx(0.42)  # what the venue charged
    assert fees[untold] == pytest.approx(0.02 * 60_000.0 * 0.0005)  # the expected taker fee
    assert rig.portfolio.wallet(LIVE_SPOT).fees_paid == pytest.approx(1.02)


@pytest.mark.parametrize("policy", ["halt", "adopt"])
async def test_the_venue_balance_is_compared_with_the_wallet(
    make_rig: MakeRig, policy: str
) -> None:
    rig, venue = await _live(make_rig, policy)
    venue.cash = 4200.0  # money left the account behind our back
    report = await rig.engine.reconcile()
    (orphan,) = report.orphans
    assert orphan.kind == "balance"
    assert "venue balance 4200.00 USD, wallet 5000.00 (difference -800.00)" in orphan.text
    assert report.halt is (policy == "halt")
    wallet = rig.portfolio.wallet(LIVE_SPOT)
    assert wallet.balance == (4200.0 if policy == "adopt" else 5000.0)


async def test_a_periodic_reconcile_under_halt_halts(make_rig: MakeRig) -> None:
    rig, venue = await _live(make_rig, "halt")
    rig.engine._every_ms = (5_000, 60_000, 1_000)  # reconcile every simulated second
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.5, 60_000.0)]
    await on_the_clock(rig, _sleep(rig, 3.0), limit_s=5.0)
    assert rig.risk.state_changes, "the orphan must halt trading, not only alert"
    state, reason, source = rig.risk.state_changes[-1]
    assert (state.value, source) == ("halted", "reconcile")
    assert "orphan position BTCUSDT" in reason


async def _sleep(rig: Rig, seconds: float) -> None:
    await rig.clock.sleep(seconds)


async def test_a_restart_sends_nothing_before_reconciliation_and_the_gate(
    make_rig: MakeRig,
) -> None:
    """An entry stored NEW (the process died before the venue answered) is not resubmitted by
    `restore`: reconciliation asks the venue first; one the venue never received is refused, one
    it holds is kept, and only then may anything be decided again."""
    rig, venue = await _live(make_rig, "halt")
    venue.failures = [TemporaryVenueError("timeout")] * 3  # never reaches the venue
    await on_the_clock(
        rig, rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    )
    (order,) = rig.stores.live.load_orders(wallet_id=LIVE_SPOT)
    stuck = replace(order, status=OrderStatus.NEW)  # as a crash mid-send would leave it
    rig.stores.live.save_order(stuck)
    await rig.engine.stop()

    again = await make_rig(
        config=ExecutionConfig(confirm="never"), wallets=(), live={LIVE_SPOT: venue},
        clock=rig.clock,
    )  # fmt: skip
    sent_before = len(venue.submitted)
    report = await again.engine.restore()
    assert report.held_entries == 1
    assert len(venue.submitted) == sent_before  # restore sent nothing
    await again.engine.reconcile()  # the venue never heard of it: refused, not resent
    assert again.stores.live.load_order(stuck.client_order_id).status is OrderStatus.REJECTED
    assert await again.engine.resume_entries() == []
    assert len(venue.submitted) == sent_before


class FlyingVenue(RecordingVenue):
    """A venue client that knows which of its orders are on their way (as DerivExecClient
    does: the contract exists at the venue before the buy's fill is booked)."""

    def __init__(self) -> None:
        super().__init__()
        self.flying: dict[str, str] = {}

    def in_flight(self) -> dict[str, str]:
        return dict(self.flying)


async def test_a_reconcile_racing_a_buy_leaves_its_position_and_balance_alone(
    make_rig: MakeRig,
) -> None:
    venue = FlyingVenue()
    config = ExecutionConfig(confirm="never", reconcile="halt")
    rig = await make_rig(config=config, wallets=(PAPER_SYN,), live={LIVE_SPOT: venue})
    await rig.engine.on_decision(decision(signal(BTC_SPOT, **BTC), LIVE_SPOT, 0.01))
    (order,) = venue.submitted
    # the venue holds the contract and took its cash; our fill is still on its way
    venue.flying = {order.client_order_id: "BTCUSDT"}
    venue.held = [VenuePosition("BTCUSDT", Side.BUY, 0.01, 60_010.0)]
    venue.cash = 4399.0
    venue.statuses[order.client_order_id] = OrderUpdate(
        order.client_order_id, OrderStatus.FILLED, 0, filled_qty=0.01, avg_fill_price=60_010.0
    )
    report = await rig.engine.reconcile()
    assert report.clean and not report.halt, report.orphans
    assert any("in flight" in line for line in report.resolved)
    assert rig.portfolio.positions(LIVE_SPOT) == []  # no fill booked twice by reconcile
    # once it is no longer in flight, the same disagreement is an orphan
    venue.flying = {}
    report = await rig.engine.reconcile()
    assert report.halt and {o.kind for o in report.orphans} >= {"position", "balance"}
