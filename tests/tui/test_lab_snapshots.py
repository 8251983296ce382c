"""Snapshots of every lab screen and modal (launcher, running, result with two charts, trades,
cancel question, browser, details, compare, delete, delete all), at 80x24 and 160x48.

The runs are real (the sim venue's generated history is deterministic). Two things depend on the
wall clock and are scrubbed before the picture is taken: the report folder's name (a UTC
timestamp, under pytest's temporary folder) and the running view's elapsed seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from tests.tui.kit import SIZES, ConsoleUnderTest, console_of, press, settle, started
from tradeterm.tui.screens.lab import LabScreen

Scene = Callable[[Pilot[Any]], Awaitable[None]]
SnapCompare = Callable[..., bool]
Factory = Callable[..., ConsoleUnderTest]
IDS = [f"{w}x{h}" for w, h in SIZES]
_PATH = re.compile(r"/\S*?reports/\d{8}T\d{6}\S*")


def scrub(pilot: Pilot[Any]) -> None:
    """Report folder names -> '<report folder>' in every text on the screens of the stack."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query(Static):
            content = widget.content
            plain = str(content)
            if _PATH.search(plain):
                widget.update(Text(_PATH.sub("<report folder>", plain)))
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


async def key(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def fill(pilot: Pilot[Any], strategy: str = "") -> LabScreen:
    screen = pilot.app.screen
    assert isinstance(screen, LabScreen)
    if strategy:
        screen.query_one("#strategy", Select).value = strategy
        await pilot.pause()
    screen.query_one("#symbols", Input).value = "1HZ100V"
    screen.query_one("#timeframe", Select).value = "1m"
    screen.query_one("#range", Select).value = 1.0
    await pilot.pause()
    return screen


async def run_one(pilot: Pilot[Any], strategy: str = "") -> LabScreen:
    screen = await fill(pilot, strategy)
    await key(pilot, "ctrl+r")
    deadline = time.monotonic() + 300  # the run's child process imports numba: allow minutes
    while screen.mode == "running":
        assert time.monotonic() < deadline, "the backtest did not end within 300 s"
        await pilot.pause(0.05)
    assert screen.mode == "result", screen.error
    await settle(pilot)
    return screen


def lab_scene(
    *,
    runs: Sequence[str] = (),
    keys: Sequence[str] = (),
    hold: bool = False,
    launcher_only: bool = False,
) -> Scene:
    """Open the lab, run `runs` (strategy names) one after the other, then press `keys`."""

    async def run(pilot: Pilot[Any]) -> None:
        app = console_of(pilot)
        app.lab_dirs = {"reports_dir": Path(app.node.config.storage.state_dir) / "reports"}
        await started(pilot)
        await press(pilot, "b")
        if launcher_only:
            await fill(pilot)
        for i, name in enumerate(runs):
            if i:
                await key(pilot, "r")
            await run_one(pilot, name)
        if hold:
            screen = await fill(pilot)
            screen.hold = True
            await key(pilot, "ctrl+r")
            screen._tick_timer.stop()
            screen.query_one("#elapsed", Static).update("elapsed 0.0 s")
        for k in keys:
            await key(pilot, k)
        await settle(pilot)
        scrub(pilot)
        await pilot.pause()

    return run


@pytest.fixture(params=SIZES, ids=IDS)
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param  # type: ignore[no-any-return]


SCENES: dict[str, Scene] = {
    "launcher": lab_scene(launcher_only=True),
    "running": lab_scene(hold=True),
    "cancel_question": lab_scene(hold=True, keys=["escape"]),
    "result_equity": lab_scene(runs=["ema_trend"]),
    "result_price": lab_scene(runs=["ema_trend"], keys=["3"]),
    "trades": lab_scene(runs=["ema_trend"], keys=["t"]),
    "browser": lab_scene(runs=["ema_trend", "breakout"], keys=["B"]),
    "details": lab_scene(runs=["ema_trend"], keys=["B", "enter"]),
    "compare": lab_scene(runs=["ema_trend", "breakout"], keys=["B", "space", "down", "space", "c"]),
    "delete_confirm": lab_scene(runs=["ema_trend"], keys=["B", "delete"]),
    "delete_all": lab_scene(runs=["ema_trend"], keys=["B", "D", *"DEL"]),
}


@pytest.mark.parametrize("name", list(SCENES))
def test_lab_screens(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int], name: str
) -> None:
    app = new_console()
    try:
        assert snap_compare(app, terminal_size=size, run_before=SCENES[name])
    finally:
        screen = next((s for s in app.screen_stack if isinstance(s, LabScreen)), None)
        if screen is not None and screen.job is not None and screen.job.alive():
            screen.job.cancel()
