"""A tiny host app for screen tests: it pushes one screen and records what it was dismissed with.

`screen_text` returns what the terminal shows (the composed lines of the active screen), so a
test asserts on text the operator can actually see at the test's terminal size.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

SIZES = [(80, 24), (160, 48)]
_FRAME = " █▀▄▌▐▊▎▔▁│─┃━"


class Host(App[None]):
    """Pushes `pushed` on mount; every dismiss result lands in `results`."""

    def __init__(self, pushed: Screen[Any]) -> None:
        super().__init__()
        self.pushed = pushed
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.pushed, self.results.append)


def screen_lines(app: App[Any]) -> list[str]:
    """The lines the terminal shows right now."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App[Any]) -> str:
    """What the operator reads: the visible lines without box borders, joined with single spaces
    (so a phrase wrapped over two lines still reads as one)."""
    parts = [line.strip(_FRAME) for line in screen_lines(app)]
    return re.sub(r"\s+", " ", " ".join(p for p in parts if p))


async def until(
    pilot: Pilot[Any],
    ready: Callable[[], bool],
    tries: int = 40,
    *,
    timeout_s: float | None = None,
) -> bool:
    """Let the app run until `ready()` (a timer or message has landed), or give up: after `tries`
    pauses of 0.05 s, or with `timeout_s` once that many seconds (monotonic) have passed, so a
    wait on another process or a real timer holds on a loaded machine."""
    if timeout_s is not None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return True
            await pilot.pause(0.05)
        return ready()
    for _ in range(tries):
        if ready():
            return True
        await pilot.pause(0.05)
    return ready()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*text)
    await pilot.pause()


async def clear_input(pilot: Pilot[Any]) -> None:
    """ctrl+u: delete everything left of the cursor in the focused input."""
    await pilot.press("ctrl+u")
    await pilot.pause()
