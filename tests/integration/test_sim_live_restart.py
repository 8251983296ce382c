"""Live on the sim venue survives a restart: the sim "live" account remembers its cash and
positions in state/sim-sim.db, so the restarted node reconciles clean instead of halting on
positions "missing at the venue"."""

from __future__ import annotations

from pathlib import Path

from tradeterm.clock import SimClock
from tradeterm.domain import events as ev
from tradeterm.domain.enums import TradingState
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.testing.node_kit import advance, sim_live_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC, a Friday
LIVE = "live:synthetics"


def node_positions(node: Node) -> list[tuple[str, str, float]]:
    return sorted((p.symbol, p.side.value, p.qty) for p in node.portfolio.positions(LIVE))


async def venue_view(node: Node) -> tuple[list[tuple[str, str, float]], float]:
    account = node.venues["sim"].exec_client("live")
    held = sorted((p.symbol, p.side.value, p.qty) for p in await account.positions())
    return held, (await account.balance()).total


async def test_a_restarted_node_finds_its_live_positions_at_the_sim_venue(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    options = NodeOptions(live_confirmed=True, metrics_server=False)
    first = build_node(sim_live_config(tmp_path, confirm="never"), clock, options)
    await first.start()
    assert first.live
    for _ in range(240):
        await advance(clock, 5)
        if first.portfolio.positions(LIVE):
            break
    held = node_positions(first)
    assert held, "a busy live session opens a position on the sim venue"
    venue_held, cash = await venue_view(first)
    assert venue_held == held
    await first.stop()
    assert (tmp_path / "sim-sim.db").exists()

    await advance(clock, 30)  # the process is down for a while
    second = build_node(sim_live_config(tmp_path, confirm="never"), clock, options)
    alerts: list[str] = []
    second.bus.subscribe(
        ev.ALERT, lambda _t, alert: alerts.append(alert.text), inline=True, name="test.alerts"
    )
    await second.start()
    try:
        assert second.risk.state is not TradingState.HALTED, second.risk.state_reason
        assert not [a for a in alerts if "reconcile" in a], alerts
        assert node_positions(second) == held
        assert await venue_view(second) == (held, cash)
        report = await second.execution.reconcile()
        assert report.clean and not report.halt, report
        assert LIVE in report.wallets
    finally:
        await second.stop()
