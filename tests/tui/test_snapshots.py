"""A snapshot of every screen and modal of the console, at 80x24 and 160x48 (the main screen also
at 120x40 and 200x60: the decisive confirmation columns show from 120 columns up).

Each snapshot runs the real console on a real node (sim venue, fixed seed) on a SimClock, so the
UTC clock, the TTL countdowns and every price are the same on every run. Notifications are
recorded, never drawn, and input cursors do not blink. Update with `--snapshot-update` and look
at the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.kit import (
    PAPER_STAGES,
    SIZES,
    ConsoleUnderTest,
    confirmations,
    console_of,
    pending_ids,
    press,
    run_for,
    run_until,
    started,
)

Scene = Callable[[Pilot[Any]], Awaitable[None]]
SnapCompare = Callable[..., bool]
Factory = Callable[..., ConsoleUnderTest]
IDS = [f"{w}x{h}" for w, h in SIZES]
MAIN_SIZES = [(80, 24), (120, 40), (160, 48), (200, 60)]


async def live_session(pilot: Pilot[Any]) -> None:
    """A minute of busy trading with confirmations: signals, one approved position, one pending.
    An approval re-checks at current prices and may be refused: the oldest is approved until a
    position is open while another confirmation waits."""
    app = console_of(pilot)
    await run_for(pilot, 60)
    for _ in range(60):
        await run_until(pilot, lambda: bool(pending_ids(app)))
        if app.node.portfolio.positions():
            break
        confirmations(app).table.focus()
        await press(pilot, "home", "y")  # select the oldest deliberately, approve it
    assert app.node.portfolio.positions() and pending_ids(app), app.notes[-3:]


def scene(
    *, live: bool = False, keys: Sequence[str] = (), focus_confirmations: bool = False
) -> Scene:
    """Start the node, optionally trade a while, then press `keys` like the operator would."""

    async def run(pilot: Pilot[Any]) -> None:
        await started(pilot)
        if live:
            await live_session(pilot)
        if focus_confirmations:
            confirmations(console_of(pilot)).table.focus()
        await press(pilot, *keys)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor would make the picture depend on timing

    return run


@pytest.fixture(params=SIZES, ids=IDS)
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("main_size", MAIN_SIZES, ids=[f"{w}x{h}" for w, h in MAIN_SIZES])
def test_main_screen_with_live_data(
    snap_compare: SnapCompare, new_console: Factory, main_size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    assert snap_compare(app, terminal_size=main_size, run_before=scene(live=True))


def test_main_screen_light_theme(snap_compare: SnapCompare, new_console: Factory) -> None:
    app = new_console(confirm="always", theme="light")
    assert snap_compare(app, terminal_size=(160, 48), run_before=scene(live=True))


def test_help_screen(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console()
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["question_mark"]))


def test_flatten_modal_disarmed(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    run = scene(live=True, keys=["exclamation_mark"])
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_flatten_modal_armed(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    run = scene(live=True, keys=["exclamation_mark", *"FLATTEN"])
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_flatten_result_modal(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    run = scene(live=True, keys=["exclamation_mark", *"FLATTEN", "enter"])
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_confirmation_detail(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    run = scene(live=True, focus_confirmations=True, keys=["home", "enter"])
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_stage_screen(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console()
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["s"]))


def test_promote_modal_refusing_a_live_stage(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console()
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["s", "P"]))


def test_promote_modal_forced_past_failed_gates(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(extra={"rollout": {"stages": PAPER_STAGES}})
    run = scene(keys=["s", "P", *"FORCE"])
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_promote_modal_ready(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    easy = {"min_trades": 0, "min_days": 0, "min_win_rate": 0, "min_sharpe": -10}
    stages = [dict(PAPER_STAGES[0], gates={"synthetics": easy}), *PAPER_STAGES[1:]]
    app = new_console(extra={"rollout": {"stages": stages}})
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["s", "P"]))


def test_domains_modal(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console()
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["d"]))


def test_quit_modal(snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]) -> None:
    app = new_console()
    assert snap_compare(app, terminal_size=size, run_before=scene(keys=["q"]))


def test_quit_modal_with_open_positions(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    assert snap_compare(app, terminal_size=size, run_before=scene(live=True, keys=["q"]))


def test_position_close_modal(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    assert snap_compare(app, terminal_size=size, run_before=scene(live=True, keys=["2", "x"]))


def test_position_stop_modal(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    app = new_console(confirm="always")
    assert snap_compare(app, terminal_size=size, run_before=scene(live=True, keys=["2", "S"]))
