"""Flatten-all: preview, then cancel everything and close everything, reported per venue."""

from __future__ import annotations

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_SPOT,
    FEES,
    MIN,
    PAPER_SPOT,
    PAPER_SYN,
    R100,
    T0,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import ConfirmationStatus, Domain, OrderStatus, Side
from tradeterm.domain.events import KillSwitchTripped


async def _book_with_everything(make_rig: MakeRig):  # type: ignore[no-untyped-def]
    """Two wallets on two venues with a position each, a working entry and a pending confirmation."""
    config = ExecutionConfig(confirm="never", entry_order="limit", limit_offset_bps=0.0)
    rig = await make_rig(config=config, model=FEES, wallets=(PAPER_SYN, PAPER_SPOT),
                         require_confirmation=lambda wallet: wallet == PAPER_SPOT)  # fmt: skip
    await rig.tick(R100, 0, 100.0, spread=0.02)
    await rig.tick(BTC_SPOT, 0, 60_000.0, spread=2.0)
    await rig.engine.on_decision(
        decision(signal(R100, entry=100.02), qty=2.0)
    )  # fills (marketable)
    await rig.engine.on_decision(
        decision(
            signal(BTC_SPOT, side=Side.SELL, entry=59_990.0, stop=60_500.0, target=58_000.0),
            PAPER_SPOT,
            0.01,
        )
    )
    await rig.engine.approve(rig.engine.pending()[0].id, by="tui")  # sells 0.01 at the bid
    await rig.engine.on_decision(
        decision(signal(R100, entry=99.0, ts_ms=T0 + MIN, target=110.0), qty=1.0)
    )
    await rig.engine.on_decision(
        decision(
            signal(
                BTC_SPOT,
                side=Side.SELL,
                entry=60_000.0,
                stop=60_500.0,
                target=58_000.0,
                ts_ms=T0 + MIN,
            ),
            PAPER_SPOT,
            0.01,
        )
    )
    await rig.tick(R100, MIN, 101.0, spread=0.02)
    return rig


async def test_preview_lists_positions_orders_and_the_cost_of_closing(make_rig: MakeRig) -> None:
    rig = await _book_with_everything(make_rig)
    preview = rig.engine.flatten_preview()
    spot, syn = preview.wallets
    assert (spot.wallet_id, syn.wallet_id) == (PAPER_SPOT, PAPER_SYN)
    (pos,) = syn.positions
    assert (pos.side, pos.qty, pos.mark) == (Side.BUY, 2.0, 101.0)
    assert pos.unrealized_pnl == pytest.approx(2.0 * (101.0 - 100.01))
    assert pos.estimated_cost == pytest.approx(
        2.0 * 101.0 * 0.001 + 2.0 * 0.01
    )  # fee + half spread
    # the working limit entry, and each position's resting stop and target
    assert sorted(o.purpose.value for o in syn.working_orders) == [
        "entry", "stop_loss", "take_profit"
    ]  # fmt: skip
    assert all(o.status is OrderStatus.SUBMITTED for o in syn.working_orders)
    assert sorted(o.purpose.value for o in spot.working_orders) == ["stop_loss", "take_profit"]
    assert spot.pending_confirmations == 1
    assert (preview.position_count, preview.order_count) == (2, 5)
    assert preview.estimated_cost == pytest.approx(syn.estimated_cost + spot.estimated_cost)


async def test_flatten_all_cancels_and_closes_everything_with_a_report_per_venue(
    make_rig: MakeRig,
) -> None:
    rig = await _book_with_everything(make_rig)
    report = await rig.engine.flatten_all(by="tui")

    assert report.ok and report.by == "tui"
    assert report.cancelled_confirmations == 1
    sim, binance = report.venue("sim"), report.venue("binance")
    assert sim is not None and binance is not None
    assert (sim.cancelled, sim.closed, sim.failures) == (3, 1, ())  # entry, stop, target
    assert (binance.cancelled, binance.closed) == (2, 1)
    trades = rig.recorder.of(topics.TRADE_CLOSED)
    assert {t.exit_reason for t in trades} == {"flatten"}
    assert sim.realized_pnl == pytest.approx(next(t.pnl for t in trades if t.venue == "sim"))
    assert rig.portfolio.positions() == []
    assert rig.engine.ledger.working() == []
    assert rig.engine.pending() == []
    assert (
        rig.stores.paper.load_confirmations(ConfirmationStatus.CANCELLED)[0].reason
        == "flatten-all by tui"
    )
    assert rig.recorder.of(topics.FLATTEN) == [report]


async def test_kill_switch_with_flatten_closes_only_that_wallet(make_rig: MakeRig) -> None:
    rig = await make_rig(model=FEES, wallets=(PAPER_SYN, PAPER_SPOT))
    await rig.tick(R100, 0, 100.0)
    await rig.tick(BTC_SPOT, 0, 60_000.0)
    await rig.engine.on_decision(decision(signal(R100)))
    await rig.engine.on_decision(
        decision(signal(BTC_SPOT, entry=60_000.0, stop=59_000.0, target=63_000.0), PAPER_SPOT, 0.01)
    )
    await rig.bus.start()
    await rig.bus.publish(
        topics.KILL_SWITCH, KillSwitchTripped(PAPER_SYN, Domain.SYNTHETICS, 0.16, 0.15, True, T0)
    )
    await rig.bus.drain()
    assert [p.wallet_id for p in rig.portfolio.positions()] == [PAPER_SPOT]
    assert rig.recorder.of(topics.FLATTEN)[0].by == "kill-switch"
