"""Entries, fills, exits at stop and target, partial fills and restarts, on the real matching
model and real storage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import FEES, MIN, PAPER_SYN, R100, T0, decision, signal
from tradeterm.config.models import ExecutionConfig, FillModelConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, OrderType, Side, TradingState
from tradeterm.domain.orders import OrderPurpose
from tradeterm.storage.router import Stores


async def test_take_profit_rests_at_the_venue_and_fills_at_its_price_as_a_maker(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(model=FEES)  # 0.1% taker, no maker fee
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(entry=100.0, stop=98.0, target=106.0), qty=2.0))

    pos = rig.portfolio.position(PAPER_SYN, R100.key)
    assert pos is not None
    assert (pos.side, pos.qty, pos.entry_price) == (Side.BUY, 2.0, 100.0)
    assert (pos.stop_loss, pos.take_profit) == (98.0, 106.0)
    assert rig.portfolio.wallet(PAPER_SYN).balance == pytest.approx(999.80, abs=1e-9)
    resting = {o.purpose: o for o in rig.engine.ledger.working(PAPER_SYN)}
    stop, target = resting[OrderPurpose.STOP_LOSS], resting[OrderPurpose.TAKE_PROFIT]
    assert (stop.order_type, stop.stop_price, stop.qty, stop.side) == (
        OrderType.STOP, 98.0, 2.0, Side.SELL
    )  # fmt: skip
    assert (target.order_type, target.price, target.qty) == (OrderType.LIMIT, 106.0, 2.0)
    assert stop.reduce_only and target.reduce_only

    await rig.tick(R100, 1 * MIN, 103.0)
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None
    rig.recorder.seen.clear()
    await rig.tick(R100, 2 * MIN, 106.0)

    assert rig.portfolio.position(PAPER_SYN, R100.key) is None
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "take_profit" and trade.exit_price == 106.0
    assert trade.pnl == pytest.approx(12.0 - 0.2)  # the limit paid the maker fee: 0
    assert trade.risk_amount == pytest.approx(4.0)  # the decision's 2 units x 2.00 to the stop
    assert trade.r_multiple == pytest.approx(11.8 / 4.0)  # net R
    assert trade.arm == "ema_trend|sim:R_100"
    wallet = rig.portfolio.wallet(PAPER_SYN)
    assert wallet.balance == pytest.approx(1000 - 0.20 + 12.0, abs=1e-9)
    assert wallet.fees_paid == pytest.approx(0.2)
    # the fill is booked in one commit, published in the contract's order; then the other leg
    # of the pair (the stop) is cancelled: one cancels the other
    assert rig.recorder.topics()[:5] == [
        topics.ORDER,
        topics.FILL,
        topics.POSITION,
        topics.WALLET,
        topics.TRADE_CLOSED,
    ]
    assert rig.stores.paper.load_order(stop.client_order_id).status is OrderStatus.CANCELLED
    assert rig.engine.ledger.working(PAPER_SYN) == []
    stored = rig.stores.paper
    assert stored.load_trades(PAPER_SYN) == [trade]
    assert stored.load_positions(PAPER_SYN) == []
    assert stored.load_wallets()[0].balance == wallet.balance


async def test_every_order_move_is_recorded_with_the_plan_saved_before_sending(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    await rig.tick(R100, 0, 100.0)
    dec = decision(signal())
    await rig.engine.on_decision(dec)
    (entry,) = [o for o in rig.stores.paper.load_orders(wallet_id=PAPER_SYN)
                if o.purpose is OrderPurpose.ENTRY]  # fmt: skip
    assert entry.status is OrderStatus.FILLED
    events = [
        (e["source"], e["event"], e["target"])
        for e in rig.stores.paper.order_events(entry.client_order_id)
    ]
    assert events == [
        ("-", "create", "new"),
        ("new", "submit", "submitted"),
        ("submitted", "fill", "filled"),
    ]
    plan = rig.stores.paper.order_plan(entry.client_order_id)
    assert plan is not None
    assert (plan["stop_loss"], plan["take_profit"], plan["arm"], plan["decision_id"]) == (
        98.0,
        106.0,
        "ema_trend|sim:R_100",
        dec.id,
    )


async def test_stop_loss_through_a_gap_fills_at_the_gapped_price(make_rig: MakeRig) -> None:
    rig = await make_rig(model=FEES)
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(entry=100.0, stop=98.0, target=106.0), qty=2.0))
    await rig.tick(R100, MIN, 99.0)
    await rig.tick(R100, 2 * MIN, 96.5)  # gaps straight through the 98 stop

    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == pytest.approx(96.5)  # the resting stop fills at the gapped price
    assert trade.pnl == pytest.approx(-7.0 - 0.2 - 0.193)
    assert trade.r_multiple == pytest.approx(trade.pnl / 4.0)  # worse than the planned -1R
    assert trade.r_multiple < -1.5
    assert rig.portfolio.wallet(PAPER_SYN).balance == pytest.approx(1000 - 0.2 - 7.0 - 0.193)
    target = [o for o in rig.stores.paper.load_orders(wallet_id=PAPER_SYN)
              if o.purpose is OrderPurpose.TAKE_PROFIT]  # fmt: skip
    assert [o.status for o in target] == [OrderStatus.CANCELLED]


async def test_partial_fills_build_the_position_at_the_average_price(make_rig: MakeRig) -> None:
    model = FillModelConfig(
        taker_fee_rate=0.001, slippage_bps=0.0, partial_fill_prob=1.0, partial_fill_min_ratio=0.3
    )
    rig = await make_rig(model=model)
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(target=120.0), qty=1.0))
    for i in range(1, 60):
        if rig.engine.ledger.working(PAPER_SYN) == []:
            break
        await rig.tick(R100, i * 1000, 100.0 + i * 0.01)

    statuses = [o.status for o in rig.recorder.of(topics.ORDER) if o.purpose is OrderPurpose.ENTRY]
    assert OrderStatus.PARTIALLY_FILLED in statuses and statuses[-1] is OrderStatus.FILLED
    fills = rig.recorder.of(topics.FILL)
    assert len(fills) >= 2
    assert sum(f.qty for f in fills) == pytest.approx(1.0)
    pos = rig.portfolio.position(PAPER_SYN, R100.key)
    assert pos is not None and pos.qty == pytest.approx(1.0)
    assert pos.entry_price == pytest.approx(sum(f.qty * f.price for f in fills))
    assert rig.portfolio.wallet(PAPER_SYN).fees_paid == pytest.approx(sum(f.fee for f in fills))
    # the resting stop grew with the position: one working stop for the whole 1.0
    (stop,) = [o for o in rig.engine.ledger.working(PAPER_SYN)
               if o.purpose is OrderPurpose.STOP_LOSS]  # fmt: skip
    assert stop.qty == pytest.approx(1.0)


async def test_restart_resubmits_working_orders_once_and_never_duplicates(
    make_rig: MakeRig,
) -> None:
    config = ExecutionConfig(confirm="never", entry_order="limit", limit_offset_bps=0.0)
    rig = await make_rig(config=config)
    await rig.tick(R100, 0, 100.5)
    dec = decision(signal(entry=100.0), qty=2.0)
    rig.stores.paper.save_risk_decision(dec)  # the node's recorder stores every decision first
    await rig.engine.on_decision(dec)
    (working,) = rig.engine.ledger.working(PAPER_SYN)
    assert (working.order_type, working.price, working.status) == (
        OrderType.LIMIT,
        100.0,
        OrderStatus.SUBMITTED,
    )

    # the process dies; a new one opens the same databases
    await rig.engine.stop()
    again = await make_rig(config=config, clock=rig.clock)
    report = await again.engine.restore()
    assert (report.working_orders, report.held_entries) == (1, 1)
    assert again.risk.redecided == []  # nothing is sent before reconciliation
    (outcome,) = await again.engine.resume_entries()
    assert "re-decided" in outcome
    (redecision,) = again.risk.redecided
    assert redecision.recheck_of == dec.id  # decided again under the restored state
    assert again.recorder.of(topics.RISK_RECHECK) == [redecision]  # and recorded
    await again.engine.on_decision(dec)  # the same decision replayed after the restart
    assert again.order_count() == 1

    await again.tick(R100, MIN, 99.9)  # the limit is reached: fills once
    fill = again.recorder.of(topics.FILL)[0]
    await again.engine.book(PAPER_SYN, [fill])  # the venue repeats the fill
    assert len(again.stores.paper.load_fills()) == 1
    pos = again.portfolio.position(PAPER_SYN, R100.key)
    assert pos is not None and pos.qty == 2.0
    entries = [o for o in again.stores.paper.load_orders(wallet_id=PAPER_SYN)
               if o.purpose is OrderPurpose.ENTRY]  # fmt: skip
    assert len(entries) == 1


async def _held_limit_entry(make_rig: MakeRig) -> tuple[Any, ExecutionConfig]:
    config = ExecutionConfig(confirm="never", entry_order="limit", limit_offset_bps=0.0)
    rig = await make_rig(config=config)
    await rig.tick(R100, 0, 100.5)
    dec = decision(signal(entry=100.0), qty=2.0)
    rig.stores.paper.save_risk_decision(dec)  # the node's recorder stores every decision first
    await rig.engine.on_decision(dec)
    await rig.engine.stop()
    return rig, config


async def test_a_stale_entry_is_cancelled_at_restart_not_resent(make_rig: MakeRig) -> None:
    rig, config = await _held_limit_entry(make_rig)
    rig.clock.set_time(T0 + 121_000)  # down for longer than execution.stale_entry_s (120 s)
    again = await make_rig(config=config, clock=rig.clock, restore=True)
    (outcome,) = await again.engine.resume_entries()
    assert "stale: 121 s old" in outcome
    (order,) = again.stores.paper.load_orders(wallet_id=PAPER_SYN)
    assert order.status is OrderStatus.CANCELLED and "restart: stale" in order.reason
    assert again.risk.redecided == []


async def test_restart_entries_wait_for_active_trading(make_rig: MakeRig) -> None:
    rig, config = await _held_limit_entry(make_rig)
    again = await make_rig(config=config, clock=rig.clock, restore=True)
    again.risk.state = TradingState.HALTED  # reconciliation found orphans
    again.risk.reason = "reconcile: orphan position"
    (outcome,) = await again.engine.resume_entries()
    assert "trading is halted" in outcome
    (order,) = again.stores.paper.load_orders(wallet_id=PAPER_SYN)
    assert order.status is OrderStatus.CANCELLED


async def test_a_restart_re_decision_can_shrink_or_refuse_an_entry(make_rig: MakeRig) -> None:
    rig, config = await _held_limit_entry(make_rig)
    again = await make_rig(config=config, clock=rig.clock, restore=True)
    again.risk.redecide_qty = 0.5  # the gate allows less now (equity fell, caps filled)
    await again.engine.resume_entries()
    (order,) = again.engine.ledger.working(PAPER_SYN)
    assert order.qty == pytest.approx(0.5)
    assert [e["event"] for e in again.stores.paper.order_events(order.client_order_id)][-1] in (
        "resize",
        "submit",
    )
    await again.engine.stop()
    denied = await make_rig(config=config, clock=rig.clock, restore=True)
    denied.risk.redecide_denial = "daily loss cap: -6.1% of day-start equity <= -6%"
    (outcome,) = await denied.engine.resume_entries()
    assert "daily loss cap" in outcome
    assert denied.engine.ledger.working(PAPER_SYN) == []


async def test_partly_filled_order_rearmed_after_restart_keeps_fill_ids_unique(
    make_rig: MakeRig,
) -> None:
    model = FillModelConfig(
        taker_fee_rate=0.0, slippage_bps=0.0, partial_fill_prob=1.0, partial_fill_min_ratio=0.3
    )
    rig = await make_rig(model=model)
    await rig.tick(R100, 0, 100.0)
    dec = decision(signal(target=120.0), qty=1.0)
    rig.stores.paper.save_risk_decision(dec)
    await rig.engine.on_decision(dec)
    (order,) = rig.engine.ledger.working(PAPER_SYN, purpose=OrderPurpose.ENTRY)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    before = order.filled_qty

    await rig.engine.stop()
    again = await make_rig(
        model=FillModelConfig(taker_fee_rate=0.0, slippage_bps=0.0), clock=rig.clock, restore=True
    )
    await again.engine.resume_entries()
    await again.tick(R100, MIN, 100.0)
    fills = again.stores.paper.load_fills(order.client_order_id)
    assert len({f.fill_id for f in fills}) == len(fills) == 2
    assert sum(f.qty for f in fills) == pytest.approx(1.0)
    assert fills[1].qty == pytest.approx(1.0 - before)
    pos = again.portfolio.position(PAPER_SYN, R100.key)
    assert pos is not None and pos.qty == pytest.approx(1.0)


async def test_entry_for_a_wallet_without_executor_is_rejected_with_an_alert(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    await rig.tick(R100, 0, 100.0)
    stores: Stores = rig.stores
    from tradeterm.domain.enums import Domain, WalletMode

    rig.portfolio.activate_wallet(WalletMode.PAPER, Domain.FOREX, 1000.0)
    await rig.engine.on_decision(decision(signal(), wallet="paper:forex"))
    (order,) = stores.paper.load_orders(wallet_id="paper:forex")
    assert order.status is OrderStatus.REJECTED
    assert "no executor" in order.reason
    assert any("rejected" in a.text for a in rig.recorder.of(topics.ALERT))


async def test_denied_decisions_and_non_active_trading_send_nothing(make_rig: MakeRig) -> None:
    from dataclasses import replace

    from tradeterm.domain.enums import RiskVerdict, TradingState

    rig = await make_rig()
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(replace(decision(signal()), verdict=RiskVerdict.DENIED))
    rig.risk.state = TradingState.REDUCING
    await rig.engine.on_decision(decision(signal(ts_ms=T0 + MIN)))
    assert rig.order_count() == 0
    assert any("trading is reducing" in a.text for a in rig.recorder.of(topics.ALERT))


async def test_safe_shutdown_cancels_entries_but_keeps_positions_and_confirmations(
    make_rig: MakeRig,
) -> None:
    config = ExecutionConfig(confirm="always", entry_order="limit", limit_offset_bps=0.0)
    rig = await make_rig(config=config)
    rig.risk.stale_bps = 500.0
    await rig.tick(R100, 0, 100.0)
    for i, entry in enumerate((100.01, 99.0, 98.0)):  # fills, rests below the market, waits
        await rig.engine.on_decision(
            decision(signal(entry=entry, ts_ms=T0 + i, target=110.0), qty=1.0)
        )
        if i < 2:
            await rig.engine.approve(rig.engine.pending()[0].id, by="tui")
    (working,) = rig.engine.ledger.working(PAPER_SYN, purpose=OrderPurpose.ENTRY)
    (waiting,) = rig.engine.pending()
    protective = [o for o in rig.engine.ledger.working(PAPER_SYN) if o.reduce_only]
    assert {o.purpose for o in protective} == {OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT}

    await rig.engine.shutdown(flatten=False)
    assert rig.stores.paper.load_order(working.client_order_id).status is OrderStatus.CANCELLED
    assert rig.stores.paper.load_positions(PAPER_SYN) != []
    for order in protective:  # the position stays protected while the node is down
        assert rig.stores.paper.load_order(order.client_order_id).status is OrderStatus.SUBMITTED
    assert rig.stores.paper.load_confirmations() == [waiting]  # expires by TTL / on restore

    await rig.engine.shutdown(flatten=True)
    assert rig.stores.paper.load_positions(PAPER_SYN) == []
    assert rig.recorder.of(topics.FLATTEN)[-1].by == "shutdown"


async def test_open_wallets_are_marked_to_market_periodically(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(), qty=2.0))
    await rig.tick(R100, 1_000, 99.0)
    rig.recorder.seen.clear()
    await rig.clock.advance(6.0)
    (snap,) = rig.recorder.of(topics.WALLET)
    assert snap.wallet.id == PAPER_SYN
    assert snap.unrealized_pnl == pytest.approx(-2.0)
