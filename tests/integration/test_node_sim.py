"""The trading node end to end on the sim venue, on a SimClock: the real engines, the real
SQLite files, the real bus. What a user would see in state/paper.db after a session."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.domain.enums import ConfirmationStatus, TradingState
from tradeterm.errors import ControlError, UserError
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import advance, busy_config, sim_live_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC, a Friday


def _count(db: Path, sql: str) -> int:
    return int(sqlite3.connect(db).execute(sql).fetchone()[0])


async def test_a_session_trades_and_everything_lands_in_paper_db(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    seen: dict[str, int] = {}
    node.bus.subscribe(
        "*", lambda topic, _m: seen.__setitem__(topic, seen.get(topic, 0) + 1), inline=True
    )
    await node.start()
    await advance(clock, 15 * 60)
    await node.stop()

    db = tmp_path / "paper.db"
    assert _count(db, "SELECT COUNT(*) FROM signals") >= 10
    assert _count(db, "SELECT COUNT(*) FROM risk_decisions") >= 5
    assert _count(db, "SELECT COUNT(*) FROM orders") >= 5
    assert _count(db, "SELECT COUNT(*) FROM fills") >= 5
    assert _count(db, "SELECT COUNT(*) FROM trades") >= 1  # some positions reached SL/TP
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # every fill belongs to an order, and each order's filled quantity equals its fills
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT o.client_order_id, json_extract(o.data, '$.filled_qty'), COALESCE(SUM(json_extract(f.data, '$.qty')), 0)"
            " FROM orders o LEFT JOIN fills f ON f.client_order_id = o.client_order_id GROUP BY o.client_order_id"
        )
        .fetchall()
    )
    for coid, filled, fills in rows:
        assert filled == pytest.approx(fills), coid
    # the wallet changed from its $1,000 start and the equity curve was sampled
    balance = (
        sqlite3.connect(db)
        .execute("SELECT json_extract(data, '$.balance') FROM wallets")
        .fetchone()[0]
    )
    assert balance != 1000.0
    assert _count(db, "SELECT COUNT(*) FROM equity") >= 5
    # the pipeline published each stage of the flow
    for topic in (
        ev.TICK,
        ev.BAR,
        ev.SIGNAL,
        ev.ALLOCATION,
        ev.INTENT,
        ev.RISK_DECISION,
        ev.ORDER,
        ev.FILL,
        ev.POSITION,
        ev.WALLET,
        ev.TRADE_CLOSED,
    ):
        assert seen.get(topic, 0) > 0, topic


async def test_restart_restores_wallets_positions_and_the_allocator(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    first = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    await first.start()
    await advance(clock, 10 * 60)
    wallets = {w.id: w.balance for w in first.portfolio.wallets()}
    positions = sorted((p.wallet_id, p.key, p.qty) for p in first.portfolio.positions())
    arms = first.allocator.export_state()["arms"]
    await first.stop()

    second = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    await second.start()
    assert {w.id: w.balance for w in second.portfolio.wallets()} == wallets
    assert sorted((p.wallet_id, p.key, p.qty) for p in second.portfolio.positions()) == positions
    assert second.allocator.export_state()["arms"] == arms
    await second.stop()


async def test_two_nodes_cannot_share_a_state_folder(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    first = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    await first.start()
    second = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    with pytest.raises(UserError, match="already in use by tradeterm"):
        await second.start()
    await first.stop()


async def test_confirmations_approve_reject_expire_through_control(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node = build_node(
        busy_config(tmp_path, confirm="always"), clock, NodeOptions(metrics_server=False)
    )
    control = Control(node)
    await node.start()
    for _ in range(240):
        await advance(clock, 5)
        if len(node.execution.pending()) >= 2:
            break
    pending = node.execution.pending()
    assert len(pending) >= 2, "a busy session must ask for confirmations"
    approved = await control.approve(pending[0].id, source="console")
    assert approved.status in (
        ConfirmationStatus.APPROVED,
        ConfirmationStatus.REJECTED,
    )  # stale -> rejected with reason
    if approved.status is ConfirmationStatus.REJECTED:  # the re-check at current prices said no
        assert approved.reason
        rechecks = node.stores.paper.db.query("SELECT data FROM risk_decisions")
        assert any(f'"recheck_of":"{pending[0].decision.id}"' in r["data"] for r in rechecks)
    rejected = await control.reject(pending[1].id, source="console", reason="not now")
    assert rejected.status is ConfirmationStatus.REJECTED
    with pytest.raises(ControlError):
        await control.approve(pending[1].id, source="console")
    await advance(clock, 31)  # past the 30 s TTL
    statuses = {c.id: c.status for c in node.stores.paper.load_confirmations(status=None)}
    assert all(
        s is not ConfirmationStatus.PENDING
        for cid, s in statuses.items()
        if cid not in {p.id for p in node.execution.pending()}
    )
    audit = node.stores.paper.load_audit()
    assert [(a.action, a.source, a.ok) for a in audit][:3] == [
        ("approve", "console", True),
        ("reject", "console", True),
        ("approve", "console", False),
    ]
    await node.stop()


async def test_pause_resume_and_flatten_all(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    control = Control(node)
    await node.start()
    for _ in range(120):
        await advance(clock, 5)
        if node.portfolio.positions():
            break
    assert node.portfolio.positions(), "a busy session opens positions"
    await control.pause(source="cli")
    assert node.risk.state is TradingState.REDUCING
    preview = control.flatten_preview()
    assert sum(len(w.positions) for w in preview.wallets) == len(node.portfolio.positions())
    report = await control.flatten_all(source="cli")
    assert report.ok, report.summary()
    await advance(clock, 2)
    assert node.portfolio.positions() == []
    await control.resume(source="cli")
    assert node.risk.state is TradingState.ACTIVE
    await node.stop()


async def test_a_stage_that_trades_live_refuses_to_start_without_approval(tmp_path: Path) -> None:
    cfg = busy_config(tmp_path, extra={"rollout": {"initial_stage": 2}})
    node = build_node(cfg, SimClock(START_MS), NodeOptions(metrics_server=False))
    with pytest.raises(
        UserError, match=r"needs wallets\.live\.approved = true in the config and --confirm"
    ):
        await node.start()
    await node.stop()
    with pytest.raises(UserError, match=r"--confirm given but wallets\.live\.approved is false"):
        build_node(cfg, SimClock(START_MS), NodeOptions(live_confirmed=True, metrics_server=False))


async def test_live_on_the_sim_venue_runs_offline_with_approval_and_confirm(tmp_path: Path) -> None:
    cfg = sim_live_config(tmp_path)
    clock = SimClock(START_MS)
    node = build_node(cfg, clock, NodeOptions(live_confirmed=True, metrics_server=False))
    await node.start()
    assert node.live and (tmp_path / "live.db").exists()
    for _ in range(240):
        await advance(clock, 5)
        if node.execution.pending():
            break
    pending = node.execution.pending()
    assert pending, "live orders wait for the operator"
    assert {p.intent.wallet_id for p in pending} == {"live:synthetics"}
    approved = await Control(node).approve(pending[0].id, source="console")
    await advance(clock, 2)
    if approved.status is ConfirmationStatus.APPROVED:
        # the order went to the sim venue's separate "live" ledger, and its rows to live.db only
        live_orders = node.stores.live.load_orders() if node.stores.live else []
        assert {o.wallet_id for o in live_orders} == {"live:synthetics"}
        # the entry, then its stop and target resting at the venue (unless already closed)
        assert [o.purpose.value for o in live_orders][:1] == ["entry"]
        assert node.stores.paper.load_orders(wallet_id="live:synthetics") == []
    await node.stop()


async def test_a_promotion_confirmed_on_a_stage_that_moved_meanwhile_does_nothing(
    tmp_path: Path,
) -> None:
    stages = [
        {"name": "a", "domains": {"synthetics": "paper"}},
        {"name": "b", "domains": {"synthetics": "paper"}},
        {"name": "c", "domains": {"synthetics": "paper"}},
    ]
    node = build_node(
        busy_config(tmp_path, extra={"rollout": {"stages": stages}}),
        SimClock(START_MS),
        NodeOptions(metrics_server=False),
    )
    control = Control(node)
    await node.start()
    await control.set_stage(2, source="telegram", reason="moved elsewhere", force=True)
    with pytest.raises(ControlError, match="changed to 2 while you were deciding on stage 1"):
        await control.promote(source="console", force=True, from_stage=1)
    assert node.rollout.index == 2
    change = await control.promote(source="console", force=True, from_stage=2)
    assert (change.from_index, change.to_index) == (2, 3)
    assert [(a.action, a.source, a.ok) for a in node.stores.paper.load_audit()] == [
        ("set_stage", "telegram", True),
        ("promote", "console", False),
        ("promote", "console", True),
    ]
    await node.stop()
