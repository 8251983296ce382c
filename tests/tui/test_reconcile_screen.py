"""The reconciliation screen `R` on the real console, on a node trading the sim venue's "live"
account: orders and positions placed behind the node's back (same account, client ids the node
never made) are found by `r`, listed, and adopted / closed / ignored after a confirm modal, each
through the Control facade (audited, source console). Snapshots at 80x24 and 160x48."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.kit import (
    MANUAL_REFRESH_HZ,
    SIZES,
    START_MS,
    ConsoleUnderTest,
    audited,
    console_of,
    header_text,
    press,
    run_for,
    settle,
    started,
    text,
)
from tradeterm.clock import SimClock
from tradeterm.domain.enums import OrderType, Side, TradingState
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import place_by_hand, sim_live_config
from tradeterm.tui.screens.reconcile import ReconcileConfirm, ReconcileScreen

SYMBOL = "1HZ100V"
LIVE = "live:synthetics"
SnapCompare = Callable[..., bool]


def live_console(state_dir: Path) -> ConsoleUnderTest:
    """The console on a node trading synthetics live on the sim venue; live entries wait for
    the operator, so the venue holds only what a test puts there."""
    clock = SimClock(START_MS)
    config = sim_live_config(state_dir)
    node = build_node(config, clock, NodeOptions(live_confirmed=True, metrics_server=False))
    return ConsoleUnderTest(node, clock=clock, refresh_hz=MANUAL_REFRESH_HZ)


async def by_hand(app: ConsoleUnderTest, coid: str, side: Side, qty: float, **kw: Any) -> None:
    await place_by_hand(app.node, SYMBOL, coid, side, qty, **kw)


async def orphans(pilot: Pilot[Any]) -> ConsoleUnderTest:
    """A limit order and a small position placed behind the node's back."""
    app = await started(pilot)
    mark = app.node.portfolio.mark(f"sim:{SYMBOL}")
    assert mark is not None
    await by_hand(
        app, "by-hand-1", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=round(mark * 0.9, 2)
    )
    await by_hand(app, "by-hand-pos", Side.BUY, 0.05)
    await run_for(pilot, 1)
    return app


def screen(app: ConsoleUnderTest) -> ReconcileScreen:
    assert isinstance(app.screen, ReconcileScreen), type(app.screen)
    return app.screen


def row_of(app: ConsoleUnderTest, kind: str) -> int:
    return [d.kind for d in screen(app).diffs].index(kind)


async def choose(pilot: Pilot[Any], kind: str) -> None:
    app = console_of(pilot)
    screen(app).query_one("#diffs").move_cursor(row=row_of(app, kind))  # type: ignore[attr-defined]
    await settle(pilot)


async def test_r_finds_an_orphan_order_and_close_cancels_it_at_the_venue(tmp_path: Path) -> None:
    app = live_console(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await orphans(pilot)
        await press(pilot, "R")
        assert "no reconciliation differences" in text(pilot)
        await press(pilot, "r")  # re-run reconciliation now
        assert app.noted("reconciled: ")
        kinds = {d.kind for d in screen(app).diffs}
        assert {"orphan_order", "orphan_position"} <= kinds
        assert "by-hand-1" in text(pilot) and "orphan position" in text(pilot)
        assert app.node.risk.state is TradingState.HALTED  # policy halt
        assert "R " in header_text(app) and "orphan" in header_text(app)  # the header badge
        await choose(pilot, "orphan_order")
        await press(pilot, "c")
        assert isinstance(app.screen, ReconcileConfirm)
        assert f"will send: cancel order by-hand-1 {SYMBOL} at the venue" in text(pilot)
        await press(pilot, "y")
        venue = await app.node.venues["sim"].exec_client("live").open_orders()
        assert "by-hand-1" not in {o.client_order_id for o in venue}
        row = screen(app).diffs[[d.client_order_id for d in screen(app).diffs].index("by-hand-1")]
        assert row.status == "closed" and row.by == "console"
        assert audited(app, "reconcile_close") == [("console", True)]
        assert app.noted(f"{row.id} closed: cancelled by-hand-1")


async def test_adopt_and_ignore_from_the_screen(tmp_path: Path) -> None:
    app = live_console(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await orphans(pilot)
        await press(pilot, "R", "r")
        await choose(pilot, "orphan_position")
        await press(pilot, "a")
        assert "will send: adopt buy 0.05 1HZ100V @ " in text(pilot)
        await press(pilot, "n")  # kept: nothing sent
        assert not app.node.portfolio.positions(LIVE) and not audited(app, "reconcile_adopt")
        await press(pilot, "a", "y")
        (held,) = app.node.portfolio.positions(LIVE)
        assert held.symbol == SYMBOL and held.qty == pytest.approx(0.05)
        assert audited(app, "reconcile_adopt") == [("console", True)]
        await choose(pilot, "orphan_order")
        await press(pilot, "i", "y")
        ignored = next(d for d in screen(app).diffs if d.kind == "orphan_order")
        assert ignored.status == "ignored" and ignored.by == "console"
        # a difference that appears while the screen is open shows up from the bus
        mark = app.node.portfolio.mark(f"sim:{SYMBOL}")
        assert mark is not None
        await by_hand(
            app,
            "by-hand-late",
            Side.SELL,
            1.0,
            order_type=OrderType.LIMIT,
            price=round(mark * 1.1, 2),
        )
        await app.node.execution.reconcile()  # the periodic run, not a key
        await settle(pilot)
        assert "by-hand-late" in text(pilot)


def scene(keys: tuple[str, ...]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await orphans(pilot)
        await press(pilot, "R", "r")
        app = console_of(pilot)
        await run_for(pilot, 5)  # the ages move on
        await choose(pilot, "orphan_position")
        await press(pilot, *keys)
        app.notes.clear()

    return run


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_reconcile_screen_snapshot(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    assert snap_compare(live_console(tmp_path), terminal_size=size, run_before=scene(()))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_reconcile_close_confirm_snapshot(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    assert snap_compare(live_console(tmp_path), terminal_size=size, run_before=scene(("c",)))
