"""Console test kit: the real console on a real node (sim venue, real SQLite), moved by a SimClock.

`make_console` builds `TradetermApp` around `build_node(busy_config(...))` as the console factory
does, with three test choices: a SimClock, a bridge that flushes only when told (`settle`), and
notifications recorded in `app.notes` rather than drawn (no toast in a snapshot). Inside
`run_test`, `started` waits for the node worker, `run_for` / `run_until` move simulated time, and
`settle` drains the bus, flushes the bridge once and lets Textual apply the views. Trading never
waits on the wall clock; only the node's start-up and Textual's own message passing are awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.widgets import Tabs
from textual.widgets._tabs import Underline

from tests.tui.screens.kit import screen_text
from tradeterm.clock import SimClock
from tradeterm.domain import events as ev
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.storage.db import Storage
from tradeterm.testing.node_kit import advance, busy_config
from tradeterm.tui.app import TradetermApp
from tradeterm.tui.panes import ConfirmationsPane, HeaderBar, PositionsPane

START_MS = 1_763_726_400_000
"""2025-11-21 12:00:00 UTC, a Friday: every console test starts here."""

WIDE = (160, 48)
COMPACT = (80, 24)
SIZES = [COMPACT, WIDE]

MANUAL_REFRESH_HZ = 1e-4
"""The bridge's own timer fires every few hours of wall time, i.e. never during a test: views reach
the panes only when a test `settle`s, so what the screen went through never depends on timing."""

PAPER_STAGES: list[dict[str, Any]] = [
    {
        "name": "synth-paper",
        "description": "Synthetics on paper.",
        "domains": {"synthetics": "paper"},
        "gates": {"synthetics": {}},
    },
    {
        "name": "synth-paper-wide",
        "description": "Synthetics still on paper, wider limits.",
        "domains": {"synthetics": "paper"},
    },
    {"name": "synth-live", "description": "Synthetics live.", "domains": {"synthetics": "live"}},
]
"""A rollout whose stage 2 is paper-only, so a promotion can succeed without live trading."""


class ConsoleUnderTest(TradetermApp):
    """The real console that also records the text of every notification it raises.

    With `toasts=False` notifications are only recorded, never drawn (snapshots stay stable).
    """

    def __init__(self, node: Node, *, clock: SimClock, toasts: bool = False, **kw: Any) -> None:
        super().__init__(node, clock=clock, **kw)
        self.animation_level = "none"  # a tab underline caught mid-slide made snapshots flaky
        self.sim_clock = clock
        self.notes: list[str] = []
        self._toasts = toasts

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.notes.append(message)
        if self._toasts:
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def noted(self, fragment: str) -> bool:
        """True when some notification contained `fragment`."""
        return any(fragment in note for note in self.notes)


def make_console(
    state_dir: Path,
    *,
    confirm: str = "never",
    extra: dict[str, Any] | None = None,
    theme: str = "dark",
    toasts: bool = False,
    clock: SimClock | None = None,
) -> ConsoleUnderTest:
    """The console on a busy paper config in `state_dir`, node not started. A new SimClock at
    START_MS unless `clock` is given (a restart continues the first run's time)."""
    clock = clock or SimClock(START_MS)
    config = busy_config(state_dir, confirm=confirm, extra=extra)
    node = build_node(config, clock, NodeOptions(metrics_server=False))
    return ConsoleUnderTest(
        node, clock=clock, theme=theme, toasts=toasts, refresh_hz=MANUAL_REFRESH_HZ
    )


def console_of(pilot: Pilot[Any]) -> ConsoleUnderTest:
    app = pilot.app
    assert isinstance(app, ConsoleUnderTest)
    return app


# ---- driving the console ------------------------------------------------------------------------
async def settle(pilot: Pilot[Any]) -> None:
    """Deliver every bus event, flush the bridge once, and let the panes take their views."""
    app = console_of(pilot)
    await app.node.bus.drain()
    await pilot.pause()
    app.bridge.flush(force=True)
    await pilot.pause()
    await underlines_placed(pilot)


async def underlines_placed(pilot: Pilot[Any], timeout_s: float = 60.0) -> None:
    """Wait until every tab bar's underline, on every screen of the stack (a modal draws over the
    screen below it), sits under its active tab: Textual places it after a refresh, and a loaded
    machine could take a picture before that (a flaky snapshot). Fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        screens = pilot.app.screen_stack  # a modal shows the screen below it, tabs and all
        if all(_underline_placed(tabs) for screen in screens for tabs in screen.query(Tabs)):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"a tab underline was not placed under its active tab within {timeout_s:.0f} s"
            )
        await pilot.pause()


def _underline_placed(tabs: Tabs) -> bool:
    active = tabs.query("#tabs-list > Tab.-active")
    if not active or tabs.region.area == 0:
        return True  # nothing active, or not on screen (a hidden layout's tabs are never placed)
    tab = active.first()
    start, end = tab.virtual_region.shrink(tab.styles.gutter).column_span
    line = tabs.query_one(Underline)
    return bool(line.highlight_start == start and line.highlight_end == end)


async def started(
    pilot: Pilot[Any], tries: int | None = None, *, timeout_s: float = 120.0
) -> ConsoleUnderTest:
    """Wait for the node worker to finish starting (at most `timeout_s`, monotonic, so a loaded
    machine still gets there), then settle. `tries` pauses of 0.02 s, where given, only ever
    lengthen the wait."""
    app = console_of(pilot)
    if tries is not None:
        timeout_s = max(timeout_s, tries * 0.02)
    deadline = time.monotonic() + timeout_s
    while not app.node_running and time.monotonic() < deadline:
        await pilot.pause(0.02)
    assert app.node_running, f"the node did not start within {timeout_s:.0f} s: {app.notes}"
    await settle(pilot)
    return app


async def run_for(pilot: Pilot[Any], seconds: float) -> None:
    """Let `seconds` of simulated market time pass, then settle the screen."""
    await advance(console_of(pilot).sim_clock, seconds)
    await settle(pilot)


async def run_until(
    pilot: Pilot[Any], ready: Callable[[], bool], *, step_s: float = 5.0, limit_s: float = 600.0
) -> None:
    """Advance simulated time in `step_s` steps until `ready()` (a test of the NODE's state, the
    screen is settled once at the end); fail after `limit_s`."""
    app = console_of(pilot)
    waited = 0.0
    while not ready():
        assert waited < limit_s, f"not ready after {limit_s:.0f} simulated seconds"
        await advance(app.sim_clock, step_s)
        await app.node.bus.drain()
        waited += step_s
    await settle(pilot)


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys and let every action worker the keys started finish."""
    await pilot.press(*keys)
    await idle(pilot)


async def idle(pilot: Pilot[Any]) -> None:
    """Wait for the console's action workers (Control calls) to finish, then settle."""
    app = console_of(pilot)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await asyncio.sleep(0)
    await settle(pilot)


# ---- what the operator sees ---------------------------------------------------------------------
def text(pilot: Pilot[Any]) -> str:
    """Everything the terminal shows right now, as one line of words."""
    return screen_text(pilot.app)


def confirmations(app: ConsoleUnderTest) -> ConfirmationsPane:
    pane = app.main.confirmations()
    assert pane is not None
    return pane


def confirmation_ids(app: ConsoleUnderTest) -> tuple[str, ...]:
    """The confirmation rows on screen, top to bottom."""
    return confirmations(app).table.keys


def pending_ids(app: ConsoleUnderTest) -> tuple[str, ...]:
    """The node's pending confirmations, first to expire first (the pane's order)."""
    pending = sorted(app.node.execution.pending(), key=lambda c: c.expires_ms)
    return tuple(c.id for c in pending)


def header_text(app: ConsoleUnderTest) -> str:
    return str(app.main.query_one(HeaderBar).render())


def positions_pane(app: ConsoleUnderTest) -> PositionsPane:
    return app.main.query_one(PositionsPane)


# ---- what the node did --------------------------------------------------------------------------
def paper_db(app: ConsoleUnderTest) -> Storage:
    return app.node.stores.paper


def audit(app: ConsoleUnderTest) -> list[ev.AuditEntry]:
    """The operator journal, oldest first."""
    return paper_db(app).load_audit()


def audited(app: ConsoleUnderTest, action: str) -> list[tuple[str, bool]]:
    """(source, ok) of every audit row for `action`, oldest first."""
    return [(a.source, a.ok) for a in audit(app) if a.action == action]
