"""The confirmation queue: approve, reject, TTL expiry, stale approvals, restarts."""

from __future__ import annotations

import re

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import MIN, PAPER_SYN, R100, T0, decision, signal
from tradeterm.config.models import ExecutionConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import ConfirmationStatus, OrderStatus, TradingState
from tradeterm.domain.events import TradingStateChanged
from tradeterm.errors import ControlError
from tradeterm.execution.confirmations import CONFIRMATION_FSM, ConfirmationEvent

ALWAYS = ExecutionConfig(confirm="always", confirmation_ttl_s=60)


async def test_an_approved_decision_waits_for_the_operator_then_trades(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal()))

    (conf,) = rig.engine.pending()
    assert re.fullmatch(r"c[0-9a-f]{6}", conf.id)
    assert conf.expires_ms == T0 + 60_000
    assert rig.recorder.of(topics.CONFIRMATION) == [conf]
    assert rig.stores.paper.load_confirmations() == [conf]
    assert rig.order_count() == 0

    done = await rig.engine.approve(conf.id, by="tui")
    assert (done.status, done.decided_by) == (ConfirmationStatus.APPROVED, "tui")
    assert rig.risk.rechecked == [conf.decision]
    assert rig.engine.pending() == []
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None
    assert rig.stores.paper.load_confirmations(ConfirmationStatus.APPROVED) == [done]


async def test_replayed_decision_reuses_its_confirmation(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    dec = decision(signal())
    await rig.engine.on_decision(dec)
    await rig.engine.on_decision(dec)
    assert len(rig.engine.pending()) == 1
    assert len(rig.recorder.of(topics.CONFIRMATION)) == 1


async def test_reject_records_who_and_why_and_sends_nothing(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    await rig.engine.on_decision(decision(signal()))
    (conf,) = rig.engine.pending()
    done = await rig.engine.reject(conf.id, by="telegram", reason="news in 5 min")
    assert (done.status, done.decided_by, done.reason) == (
        ConfirmationStatus.REJECTED,
        "telegram",
        "news in 5 min",
    )
    assert rig.order_count() == 0
    with pytest.raises(
        ControlError, match=f"confirmation {conf.id} is already rejected by telegram"
    ):
        await rig.engine.approve(conf.id, by="tui")


async def test_ttl_expiry_cancels_automatically_and_approval_is_refused(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ExecutionConfig(confirm="always", confirmation_ttl_s=5))
    await rig.engine.on_decision(decision(signal()))
    (conf,) = rig.engine.pending()

    await rig.clock.advance(4.5)
    assert rig.engine.pending() == [conf]
    await rig.clock.advance(1.0)  # the housekeeping task runs every 0.5 s on the clock

    assert rig.engine.pending() == []
    expired = rig.recorder.of(topics.CONFIRMATION)[-1]
    assert (
        expired.status is ConfirmationStatus.EXPIRED
        and expired.reason == "not confirmed within 5 s"
    )
    await rig.clock.advance(12.0)
    with pytest.raises(ControlError, match=rf"confirmation {conf.id} expired 1[23] s ago"):
        await rig.engine.approve(conf.id, by="tui")
    assert rig.order_count() == 0


async def test_approving_an_overdue_one_before_the_sweep_expires_it(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ExecutionConfig(confirm="always", confirmation_ttl_s=5))
    await rig.engine.on_decision(decision(signal()))
    (conf,) = rig.engine.pending()
    rig.clock.set_time(T0 + 8_000)  # jump without waking the sweeper
    with pytest.raises(ControlError, match=f"confirmation {conf.id} expired 3 s ago"):
        await rig.engine.approve(conf.id, by="tui")
    assert rig.stores.paper.load_confirmations(ConfirmationStatus.EXPIRED)[0].id == conf.id


async def test_stale_intent_is_rejected_on_approval_with_the_reason(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal(entry=100.0)))
    (conf,) = rig.engine.pending()
    await rig.tick(R100, 20_000, 100.8)  # 80 bps away from the entry

    done = await rig.engine.approve(conf.id, by="tui")
    assert done.status is ConfirmationStatus.REJECTED
    assert done.reason == "stale: price moved 80 bps from entry"
    assert rig.order_count() == 0
    assert any("stale" in a.text for a in rig.recorder.of(topics.ALERT))


async def test_unknown_confirmation_is_a_control_error(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    with pytest.raises(ControlError, match="no confirmation 'c000000'"):
        await rig.engine.approve("c000000", by="tui")


async def test_confirm_live_asks_only_for_live_wallets(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ExecutionConfig(confirm="live"))
    await rig.tick(R100, 0, 100.0)
    await rig.engine.on_decision(decision(signal()))
    assert rig.engine.pending() == []
    assert rig.portfolio.position(PAPER_SYN, R100.key) is not None


async def test_overdue_confirmations_expire_on_restore(make_rig: MakeRig) -> None:
    rig = await make_rig(config=ALWAYS)
    await rig.engine.on_decision(decision(signal()))
    (conf,) = rig.engine.pending()
    await rig.engine.stop()

    rig.clock.set_time(T0 + 10 * MIN)  # down for ten minutes
    again = await make_rig(config=ALWAYS, clock=rig.clock)
    report = await again.engine.restore()
    assert report.expired == (conf.id,)
    assert report.pending_confirmations == 0
    assert again.stores.paper.load_confirmations(ConfirmationStatus.EXPIRED)[0].id == conf.id


async def test_halted_trading_cancels_pending_confirmations_and_entries(make_rig: MakeRig) -> None:
    config = ExecutionConfig(confirm="always", entry_order="limit", limit_offset_bps=0.0)
    rig = await make_rig(config=config)
    await rig.tick(R100, 0, 100.1)
    await rig.engine.on_decision(decision(signal(entry=100.0)))
    await rig.engine.approve(rig.engine.pending()[0].id, by="tui")
    (entry,) = rig.engine.ledger.working()  # a limit at 100.0 below the market: working
    await rig.bus.start()
    await rig.engine.on_decision(decision(signal(entry=100.1, ts_ms=T0 + MIN)))
    assert len(rig.engine.pending()) == 1

    rig.risk.state = TradingState.HALTED
    await rig.bus.publish(
        topics.TRADING_STATE,
        TradingStateChanged(TradingState.HALTED, TradingState.ACTIVE, "kill", T0),
    )
    await rig.bus.drain()
    assert rig.engine.pending() == []
    cancelled = rig.recorder.of(topics.CONFIRMATION)[-1]
    assert (cancelled.status, cancelled.reason) == (ConfirmationStatus.CANCELLED, "halted: kill")
    assert rig.engine.ledger.working() == []
    assert rig.stores.paper.load_order(entry.client_order_id).status is OrderStatus.CANCELLED


def test_confirmation_table_allows_only_moves_out_of_pending() -> None:
    for status in ConfirmationStatus:
        for event in ConfirmationEvent:
            assert CONFIRMATION_FSM.can(status, event) is (status is ConfirmationStatus.PENDING)
