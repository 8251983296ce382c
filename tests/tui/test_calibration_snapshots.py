"""Snapshots of the calibration lab (studies + trials with the progress line, the launch form, the
promote question, the three charts: history, importances, best trials) at 80x24 and 160x48. The
study is made by the real calibration API on the generated history with a fixed seed, so scores,
metrics and charts repeat. Nothing on these screens depends on the wall clock (the study list
shows no times; the running view's progress and ETA are covered by Pilot tests instead of a
picture, and input cursors do not blink)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.kit import SIZES, ConsoleUnderTest, press, settle, started
from tests.tui.test_calibration_screen import make_study, state_of

Scene = Callable[[Pilot[Any]], Awaitable[None]]
SnapCompare = Callable[..., bool]
Factory = Callable[..., ConsoleUnderTest]
IDS = [f"{w}x{h}" for w, h in SIZES]


def calibration_scene(keys: Sequence[str] = ()) -> Scene:
    async def run(pilot: Pilot[Any]) -> None:
        await started(pilot)
        await press(pilot, "c")
        for k in keys:
            await press(pilot, k)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await settle(pilot)
        await pilot.pause()

    return run


SCENES: dict[str, Scene] = {
    "studies": calibration_scene(),
    "launch_form": calibration_scene(["n"]),
    "promote_question": calibration_scene(["p"]),
    "chart_history": calibration_scene(["v"]),
    "chart_importance": calibration_scene(["v", "g"]),
    "chart_parallel": calibration_scene(["v", "g", "g"]),
}
RICH = {"chart_importance", "chart_parallel"}
"""Scenes drawn from a 14-trial study (importances need complete trials); the others from 4."""


@pytest.fixture(params=SIZES, ids=IDS)
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(SCENES))
def test_calibration_screens(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int], name: str
) -> None:
    app = new_console()
    make_study(state_of(app), 14 if name in RICH else 4)
    assert snap_compare(app, terminal_size=size, run_before=SCENES[name])
