"""Reconciliation differences as data and the operator's actions on them, on a real node that
trades the sim venue's "live" account (real SQLite, the real risk gate, the Control facade).

Something is done at the venue behind tradeterm's back (through the same sim account, with a
client id the node never made); `reconcile run` finds it, keeps it (stored before it is published,
still there after a restart), and `adopt` / `close` / `ignore` act on it, audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.domain.enums import OrderType, Side, TradingState
from tradeterm.domain.reconcile import RECONCILE, Difference
from tradeterm.errors import ControlError
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.testing.node_kit import advance, place_by_hand, sim_live_config

START_MS = 1_763_726_400_000
LIVE = "live:synthetics"
SYMBOL = "1HZ100V"


def live_config(state_dir: Path) -> Any:
    """Stage 2 trades synthetics live on the sim venue's "live" account; live entries wait for
    the operator (confirm = live), so the venue only holds what the tests put there."""
    return sim_live_config(state_dir)


async def started(state_dir: Path, clock: SimClock) -> tuple[Node, Control]:
    options = NodeOptions(live_confirmed=True, metrics_server=False)
    node = build_node(live_config(state_dir), clock, options)
    await node.start()
    assert node.live
    await advance(clock, 2)
    return node, Control(node)


def account(node: Node) -> Any:
    return node.venues["sim"].exec_client("live")


async def behind_our_back(node: Node, coid: str, side: Side, qty: float, **kw: Any) -> None:
    """An order placed on the account by someone else (a client id tradeterm never made)."""
    await place_by_hand(node, SYMBOL, coid, side, qty, **kw)


def last(node: Node) -> float:
    mark = node.portfolio.mark(f"sim:{SYMBOL}")
    assert mark is not None
    return mark


def of_kind(node: Node, kind: str) -> Difference:
    (diff,) = [d for d in node.execution.differences.active() if d.kind == kind]
    return diff


def audited(node: Node, action: str) -> list[tuple[str, bool, str]]:
    return [(a.source, a.ok, a.result) for a in node.stores.home.load_audit() if a.action == action]


async def test_an_orphan_order_is_kept_published_and_cancelled_by_close(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node, control = await started(tmp_path, clock)
    seen: list[Difference] = []

    async def on_diff(_topic: str, message: Any) -> None:
        seen.append(message)

    node.bus.subscribe(RECONCILE, on_diff, name="test.reconcile")
    try:
        price = round(last(node) * 0.9, 2)
        await behind_our_back(
            node, "by-hand-1", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=price
        )
        report = await control.reconcile_now(source="cli")
        assert report.halt and node.risk.state is TradingState.HALTED
        diff = of_kind(node, "orphan_order")
        assert diff.client_order_id == "by-hand-1" and diff.status == "open"
        assert diff.local == "nothing" and "limit buy 1" in diff.at_venue
        assert diff.first_seen_ms == diff.last_seen_ms == clock.now_ms()
        # stored before it was published: the wallet's database holds it
        assert node.stores.for_wallet(LIVE).load_differences()[0].id == diff.id
        await node.bus.drain()
        assert [d.id for d in seen] == [diff.id]
        assert control.reconcile_preview(diff.id, "close") == (
            f"cancel order by-hand-1 {SYMBOL} at the venue"
        )
        # found again later: the same difference, last seen moves
        await advance(clock, 3)
        await control.reconcile_now(source="cli")
        again = of_kind(node, "orphan_order")
        assert again.id == diff.id and again.last_seen_ms > diff.last_seen_ms
        assert again.first_seen_ms == diff.first_seen_ms

        closed = await control.reconcile_close(diff.id, source="cli")
        assert closed.status == "closed" and closed.by == "cli"
        assert "by-hand-1" not in {o.client_order_id for o in await account(node).open_orders()}
        assert audited(node, "reconcile_close") == [
            ("cli", True, f"{diff.id} closed: {closed.note}")
        ]
        with pytest.raises(ControlError, match="already closed"):
            await control.reconcile_close(diff.id, source="console")
        assert audited(node, "reconcile_close")[-1][:2] == ("console", False)
        # every difference settled: the halt stays until the operator resumes
        await node.bus.drain()
        assert node.risk.state is TradingState.HALTED
        report = await control.reconcile_now(source="cli")
        assert not report.halt and not node.execution.differences.active()
    finally:
        await node.stop()


async def test_an_orphan_position_is_adopted_through_the_gate(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node, control = await started(tmp_path, clock)
    try:
        await behind_our_back(node, "by-hand-pos", Side.BUY, 0.05)
        await advance(clock, 1)
        await control.reconcile_now(source="console")
        diff = of_kind(node, "orphan_position")
        assert diff.side == "buy" and diff.qty == pytest.approx(0.05)
        assert not node.portfolio.positions(LIVE)
        assert control.reconcile_preview(diff.id, "adopt").startswith(f"adopt buy 0.05 {SYMBOL} @ ")
        adopted = await control.reconcile_adopt(diff.id, source="console")
        assert adopted.status == "adopted"
        (held,) = node.portfolio.positions(LIVE)
        assert held.symbol == SYMBOL and held.side is Side.BUY and held.qty == pytest.approx(0.05)
        assert held.stop_loss < held.entry_price  # a conservative stop came with it
        assert audited(node, "reconcile_adopt")[-1][:2] == ("console", True)
        # the books and the venue agree on positions now (the cash the stranger's order cost
        # is a balance difference of its own)
        report = await control.reconcile_now(source="console")
        assert [d.kind for d in report.differences if d.status == "open"] in ([], ["balance"])
    finally:
        await node.stop()


async def test_the_gate_refuses_an_adoption_with_its_reason(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node, control = await started(tmp_path, clock)
    try:
        await behind_our_back(node, "by-hand-big", Side.BUY, 5.0)
        await advance(clock, 1)
        await control.reconcile_now(source="cli")
        diff = of_kind(node, "orphan_position")
        with pytest.raises(ControlError, match=r"refused by the risk gate: .*pair exposure cap"):
            await control.reconcile_adopt(diff.id, source="cli")
        after = of_kind(node, "orphan_position")
        assert after.status == "open" and "pair exposure cap" in after.note
        assert not node.portfolio.positions(LIVE)
        source, ok, result = audited(node, "reconcile_adopt")[-1]
        assert (source, ok) == ("cli", False) and "pair exposure cap" in result
        # close instead: a reduce-only market order for the venue's size
        assert (
            control.reconcile_preview(diff.id, "close") == f"reduce-only close 5 {SYMBOL} at market"
        )
        closed = await control.reconcile_close(diff.id, source="cli")
        assert closed.status == "closed"
        await advance(clock, 1)
        assert not await account(node).positions()
        assert not node.portfolio.positions(LIVE)  # never ours: the close was not booked
        report = await control.reconcile_now(source="cli")
        assert [d.kind for d in report.differences if d.status == "open"] == ["balance"]
        assert node.execution.differences.get(diff.id).status == "closed"  # type: ignore[union-attr]
    finally:
        await node.stop()


async def test_ignored_differences_stop_halting_and_survive_a_restart(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node, control = await started(tmp_path, clock)
    price = round(last(node) * 0.9, 2)
    await behind_our_back(node, "by-hand-2", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=price)
    report = await control.reconcile_now(source="cli")
    assert report.halt
    diff = of_kind(node, "orphan_order")
    ignored = await control.reconcile_ignore(diff.id, source="telegram")
    assert ignored.status == "ignored" and ignored.by == "telegram"
    assert audited(node, "reconcile_ignore") == [
        ("telegram", True, f"{diff.id} ignored: ignored by telegram")
    ]
    await control.resume(source="cli")
    report = await control.reconcile_now(source="cli")
    assert not report.halt and node.risk.state is TradingState.ACTIVE
    assert of_kind(node, "orphan_order").status == "ignored"
    alerts = [a for a in node.stores.home.load_audit() if a.action == "reconcile_run"]
    assert alerts and all(a.ok for a in alerts)
    await node.stop()

    # a restart: the difference (and that it was ignored) comes back from the database, the
    # start-up reconciliation finds it again and does not halt
    second = build_node(
        live_config(tmp_path), clock, NodeOptions(live_confirmed=True, metrics_server=False)
    )
    try:
        await second.start()
        kept = of_kind(second, "orphan_order")
        assert kept.id == diff.id and kept.status == "ignored" and kept.by == "telegram"
        assert second.risk.state is not TradingState.HALTED
        # the venue order goes away (cancelled by hand): the difference is resolved
        await second.venues["sim"].exec_client("live").cancel("by-hand-2")
        await Control(second).reconcile_now(source="cli")
        gone = second.execution.differences.get(diff.id)
        assert gone is not None and gone.status == "resolved"
    finally:
        await second.stop()


async def test_missing_position_and_balance_cannot_be_closed(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node, control = await started(tmp_path, clock)
    try:
        alerts: list[ev.Alert] = []

        async def on_alert(_t: str, m: Any) -> None:
            alerts.append(m)

        node.bus.subscribe(ev.ALERT, on_alert, name="test.alerts")
        await behind_our_back(node, "by-hand-3", Side.SELL, 1.0)
        await advance(clock, 1)
        await control.reconcile_now(source="cli")
        await node.bus.drain()
        diff = of_kind(node, "orphan_position")
        assert any(diff.id in a.text for a in alerts)  # the ALERT names the difference
        assert "nothing to close" not in control.reconcile_preview(diff.id, "close")
        balance = [d for d in node.execution.differences.active() if d.kind == "balance"]
        for d in balance:
            with pytest.raises(ControlError, match="nothing to close at the venue"):
                await control.reconcile_close(d.id, source="cli")
    finally:
        await node.stop()
