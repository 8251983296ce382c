"""Keys that say what they do: p is Pause or Resume in the footer, b/c/P explain themselves, help
lists every key, a flatten asks whether to pause entries too, and toasts stay few and low."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable
from textual.widgets._toast import ToastRack

from tests.tui.kit import (
    COMPACT,
    WIDE,
    ConsoleUnderTest,
    audited,
    make_console,
    press,
    run_until,
    started,
    text,
)
from tradeterm.domain.enums import TradingState
from tradeterm.tui.app import MAX_TOASTS, MORE_KEYS, TradetermApp
from tradeterm.tui.panes import HeaderBar
from tradeterm.tui.screens import FlattenResultModal, HelpScreen, SplashScreen
from tradeterm.tui.screens.main import MainScreen

Factory = Callable[..., ConsoleUnderTest]


async def test_the_footer_says_p_resume_while_paused_and_p_pause_while_active(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        assert "p Pause" in text(pilot) and "p Resume" not in text(pilot)
        await press(pilot, "p")
        assert app.node.risk.state is TradingState.REDUCING
        assert "p Resume" in text(pilot) and "p Pause" not in text(pilot)
        await press(pilot, "p")  # the key the footer names resumes
        assert app.node.risk.state is TradingState.ACTIVE
        assert "p Pause" in text(pilot)
        assert audited(app, "pause") == [("console", True)]
        assert audited(app, "resume") == [("console", True)]


async def test_c_opens_the_calibration_lab_and_p_outside_the_stage_screen_says_what_it_does(
    new_console: Factory,
) -> None:
    from tradeterm.tui.screens.calibration import CalibrationScreen

    app = new_console()
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        await press(pilot, "P")
        assert app.noted("P promotes in the stage screen: press s first")
        assert isinstance(app.screen, MainScreen)
        await press(pilot, "c")
        assert isinstance(app.screen, CalibrationScreen)


async def test_help_lists_every_key_of_the_console(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#keys", DataTable)
        listed = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        bound = {b.key_display or b.key for b in TradetermApp.BINDINGS}  # type: ignore[union-attr]
        assert bound <= listed, bound - listed
        assert {key for key, _ in MORE_KEYS} <= listed
        for key in ("y", "n", "enter", "!", "p", "b", "c", "P", "1", "7", "t", "ctrl+p", "q"):
            assert key in listed, key
        descriptions = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert "Pause" in descriptions and "Resume" in descriptions


async def test_after_a_flatten_the_operator_is_asked_to_pause_entries(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(app.node.portfolio.positions()))
        await press(pilot, "exclamation_mark", *"FLATTEN")
        await press(pilot, "enter")
        assert isinstance(app.screen, FlattenResultModal)
        shown = text(pilot)
        assert "Entries are still ACTIVE" in shown and "p pause entries now" in shown
        await press(pilot, "p")
        assert isinstance(app.screen, MainScreen)
        assert app.node.risk.state is TradingState.REDUCING
        assert [a for a, _ in audited(app, "flatten_all")] == ["console"]
        assert audited(app, "pause") == [("console", True)]


async def test_a_flatten_while_paused_does_not_ask(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(app.node.portfolio.positions()))
        await press(pilot, "p")
        await press(pilot, "exclamation_mark", *"FLATTEN")
        await press(pilot, "enter")
        assert isinstance(app.screen, FlattenResultModal)
        assert "Entries are still ACTIVE" not in text(pilot)


async def test_toasts_are_coalesced_capped_and_kept_off_the_header(tmp_path: Path) -> None:
    app = make_console(tmp_path, toasts=True)
    async with app.run_test(size=COMPACT, notifications=True) as pilot:
        await started(pilot)
        app.clear_notifications()
        for _ in range(5):
            app.notify("venue sim reconnected")
        await pilot.pause()
        await pilot.pause()
        assert [t for t in app.toasts if "reconnected" in t] == ["venue sim reconnected (x5)"]
        for i in range(6):
            app.notify(f"distinct event {i}")
        await pilot.pause()
        await pilot.pause()
        assert len(app.toasts) == MAX_TOASTS
        assert app.toasts[-1] == "distinct event 5"
        rack = app.screen.get_child_by_type(ToastRack)
        header = app.screen.query_one(HeaderBar)
        toasts = [w for w in rack.query("Toast") if w.region.height]
        assert len(toasts) == MAX_TOASTS
        top = min(w.region.y for w in toasts)
        assert top >= header.region.bottom, (top, header.region)


async def test_a_splash_says_what_start_up_does_until_the_node_has_started(
    tmp_path: Path,
) -> None:
    app = make_console(tmp_path)
    gate = asyncio.Event()
    start = app.node.start

    async def held_start() -> None:  # the node starts only when the test lets it
        await gate.wait()
        await start()

    app.node.start = held_start  # type: ignore[method-assign]
    async with app.run_test(size=COMPACT) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SplashScreen)
        shown = text(pilot)
        assert "tradeterm is starting" in shown and "numba kernels" in shown
        assert "s so far" in shown
        gate.set()
        await started(pilot)
        assert isinstance(app.screen, MainScreen)
