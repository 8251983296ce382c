"""Issue 9, defect 8 (last part), and issue 11 item 9 (a fresh start): what a clean shutdown
leaves behind is settled at the next start.

An exit order still in flight at a clean stop is stored as `submitted` (the venue keeps a live
exit; a paper one is re-armed at the next start). When the next run cannot work it (the paper
wallet is not active in the stage it restarts in, or its position is gone) it is closed out with
the reason instead of staying `submitted` for ever and blocking the position monitor."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.domain.enums import OrderStatus, TradingState
from tradeterm.domain.positions import Position
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.testing.node_kit import BUSY_SYMBOLS, advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC
STAGES = [
    {"name": "trade", "domains": {"synthetics": "paper"}, "gates": {"synthetics": {}}},
    {"name": "rest", "domains": {"synthetics": "off"}},
]


def config(state: Path, *, latency_ms: int = 0) -> Any:
    return busy_config(
        state,
        extra={
            "venues": {
                "sim": {
                    "kind": "sim",
                    "seed": 11,
                    "history_minutes": 120,
                    "symbols": BUSY_SYMBOLS,
                    "fill_model": {
                        "latency_ms": latency_ms,
                        "taker_fee_rate": 0.0,  # the busy kit's frictionless fills
                        "maker_fee_rate": 0.0,
                        "slippage_bps": 0.0,
                    },
                }
            },
            "rollout": {"stages": STAGES},
        },
    )


async def open_position(node: Node, clock: SimClock) -> Position:
    for _ in range(600):
        await advance(clock, 2)
        if node.portfolio.positions():
            return node.portfolio.positions()[0]
    raise AssertionError("the busy config opened no position")


def order_row(state: Path, coid: str) -> tuple[str, str]:
    conn = sqlite3.connect(state / "paper.db")
    try:
        status, reason = conn.execute(
            "SELECT status, json_extract(data, '$.reason') FROM orders WHERE client_order_id = ?",
            (coid,),
        ).fetchone()
    finally:
        conn.close()
    return str(status), str(reason)


async def stop_with_an_exit_in_flight(state: Path, clock: SimClock) -> tuple[Position, str, Node]:
    """A position, then a manual close that is still working (10 s latency) at a clean stop."""
    node = build_node(config(state, latency_ms=10_000), clock, NodeOptions(metrics_server=False))
    await node.start()
    position = await open_position(node, clock)
    node.strategies.enabled = False
    await node.execution.close_position(position.wallet_id, position.key, "operator")
    await advance(clock, 0.5)
    coid = node.execution.router.exits[(position.wallet_id, position.key)]
    return position, coid, node


async def test_an_exit_in_flight_is_re_armed_and_fills_after_a_restart(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    position, coid, node = await stop_with_an_exit_in_flight(tmp_path, clock)
    await node.stop()
    assert order_row(tmp_path, coid)[0] == "submitted"  # left working by the clean stop

    again = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    await again.start()
    again.strategies.enabled = False
    await advance(clock, 5)
    assert order_row(tmp_path, coid)[0] == "filled"
    assert again.portfolio.position(position.wallet_id, position.key) is None
    await again.stop()


async def test_an_exit_of_a_wallet_inactive_after_restart_is_settled(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    position, coid, node = await stop_with_an_exit_in_flight(tmp_path, clock)
    await Control(node).set_stage(2, source="cli", reason="rest", force=True)  # synthetics off
    await node.stop()
    assert order_row(tmp_path, coid)[0] == "submitted"

    again = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    orders: list[Any] = []
    again.bus.subscribe(ev.ORDER, lambda _t, o: orders.append(o), inline=True, name="test")
    await again.start()
    await advance(clock, 5)
    status, reason = order_row(tmp_path, coid)
    assert status == "cancelled"
    assert reason == "not re-armed at restart: wallet paper:synthetics is not active in this run"
    assert (position.wallet_id, position.key) not in again.execution.router.exits
    assert any(o.client_order_id == coid and o.status is OrderStatus.CANCELLED for o in orders)
    await again.stop()


async def test_an_exit_whose_position_is_gone_is_settled(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    position, coid, node = await stop_with_an_exit_in_flight(tmp_path, clock)
    await node.stop()
    conn = sqlite3.connect(tmp_path / "paper.db")  # the position was closed outside this run
    conn.execute("DELETE FROM positions WHERE symbol = ?", (position.symbol,))
    conn.commit()
    conn.close()

    again = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    await again.start()
    again.strategies.enabled = False
    await advance(clock, 5)
    assert order_row(tmp_path, coid) == ("cancelled", "position already closed at restart")
    assert again.portfolio.positions() == []  # no reverse position was opened
    await again.stop()


async def test_a_fresh_start_does_not_say_resumed_by_console(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    await node.start()
    control = Control(node)
    await control.pause(source="console")
    await control.resume(source="console")
    assert control.status().trading_reason == "resumed by console"
    await node.stop()

    again = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    states: list[ev.TradingStateChanged] = []
    again.bus.subscribe(ev.TRADING_STATE, lambda _t, s: states.append(s), inline=True, name="t")
    await again.start()
    status = Control(again).status()
    assert status.trading_state is TradingState.ACTIVE
    assert status.trading_reason == ""
    assert "resumed" not in status.text()
    assert [s.reason for s in states] == ["start"]
    await again.stop()

    # a pause, though, is still a pause after a restart, with its reason
    third = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    await third.start()
    await Control(third).pause(source="cli")
    await third.stop()
    fourth = build_node(config(tmp_path), clock, NodeOptions(metrics_server=False))
    await fourth.start()
    assert fourth.risk.state is TradingState.REDUCING
    assert fourth.risk.state_reason == "paused by cli"
    await fourth.stop()
