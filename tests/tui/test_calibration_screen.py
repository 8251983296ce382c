"""The calibration lab (`c`): studies made by the real calibration API on a small generated
history, their trials (a liquidated one flagged and never marked best), promotion through the
CLI's function after a y/n confirm (audited; refused on n, refused for a liquidated trial), and a
small study launched from the console in a child process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Select, Static

from tests.tui.kit import WIDE, ConsoleUnderTest, audited, press, settle, started
from tests.tui.screens.kit import until
from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.study import best_trial, load, run_study
from tradeterm.storage.active_configs import load_active, load_audit
from tradeterm.tui.calib_job import LaunchSpec
from tradeterm.tui.screens.calibration import CalibrationScreen, LaunchModal
from tradeterm.tui.screens.lab import AskModal

STUDY = "breakout-lev"


def make_study(state_dir: Path) -> None:
    """4 trials of breakout: the defaults at 1x, then 100x (liquidated), then TPE's choice."""
    run_study(
        task(leverage_max=100, fixed={"atr_period": 14, "channel": 48}),
        settings(state_dir, 4, name=STUDY, priors=(("lev100", {"leverage": 100}),)),
        poll_s=0.05,
    )


def state_of(app: ConsoleUnderTest) -> Path:
    return Path(app.node.config.storage.state_dir)


def screen_of(pilot: Pilot[Any]) -> CalibrationScreen:
    screen = pilot.app.screen
    assert isinstance(screen, CalibrationScreen), type(screen)
    return screen


def cells(screen: CalibrationScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def status(screen: CalibrationScreen) -> str:
    return str(screen.query_one("#cal-status", Static).content)


@pytest.fixture
def console(new_console: Any) -> ConsoleUnderTest:
    app: ConsoleUnderTest = new_console()
    make_study(state_of(app))
    return app


async def test_c_lists_the_study_and_its_trials_and_a_liquidated_trial_is_never_best(
    console: ConsoleUnderTest,
) -> None:
    state = state_of(console)
    study = load(f"sqlite:///{state / 'optuna.db'}", STUDY)
    best = best_trial(study)
    assert best is not None
    liquidated = [t.number for t in study.trials if t.user_attrs.get("liquidated")]
    assert 1 in liquidated  # the 100x prior
    async with console.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        (row,) = cells(screen, "#studies")
        assert row[:4] == [STUDY, "breakout", "1HZ100V", "15m"]
        assert row[4] == "4" and row[6] == str(len(liquidated))
        assert row[7] == f"{best.value:.4g}"
        trials = cells(screen, "#trials")
        assert [r[0] for r in trials] == ["0", "1", "2", "3"]
        for r in trials:
            if int(r[0]) in liquidated:
                assert r[1] == "LIQ" and r[-1].startswith("liquidated at bar "), r
        marked = [r for r in trials if r[-1] == "* best"]
        assert [r[0] for r in marked] == [str(best.number)]
        assert screen.best_number not in liquidated


async def test_promote_best_after_yes_is_written_and_audited_and_no_writes_nothing(
    console: ConsoleUnderTest,
) -> None:
    state = state_of(console)
    async with console.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        await press(pilot, "p")
        assert isinstance(pilot.app.screen, AskModal)
        await press(pilot, "n")
        assert "promotion cancelled" in status(screen)
        assert load_active(state / "research.db") == []
        await press(pilot, "p")
        await press(pilot, "y")
        assert screen.promoted is not None, status(screen)
        (active,) = load_active(state / "research.db")
        assert (active.study, active.trial) == (STUDY, screen.best_number)
        assert f"promoted {STUDY} trial {screen.best_number}" in status(screen)
        (audit,) = load_audit(state / "research.db")
        assert audit["action"] == "promote" and audit["who"].endswith("(console)")
        assert audit["detail"]["trial"] == screen.best_number
        # the console's node is told to trade it: the audited reload control
        assert await until(pilot, lambda: screen.reloaded != "", 400)
        assert screen.reloaded.startswith("node reloaded"), screen.reloaded
        assert audited(console, "reload") == [("console", True)]


async def test_a_liquidated_trial_under_the_cursor_is_refused(console: ConsoleUnderTest) -> None:
    state = state_of(console)
    async with console.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        screen.query_one("#trials", DataTable).focus()
        screen.query_one("#trials", DataTable).move_cursor(row=1)  # the 100x trial
        await settle(pilot)
        assert screen.chosen_trial() == 1
        await press(pilot, "P", "y")
        assert "not promoted" in status(screen) and "liquidated" in status(screen)
        assert load_active(state / "research.db") == []


async def test_n_launches_a_small_study_in_a_child_process(new_console: Any) -> None:
    app: ConsoleUnderTest = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        assert screen.studies == [] and "no studies" in status(screen)
        await press(pilot, "n")
        form = pilot.app.screen
        assert isinstance(form, LaunchModal)
        trials = form.query_one("#trials", Input)
        trials.value = "0"
        trials.focus()
        await press(pilot, "enter")
        assert "Trials: give at least 1" in str(form.query_one("#launch-error", Static).content)
        assert screen.job is None
        trials.value = "3"
        form.query_one("#days", Input).value = "20"
        form.query_one("#strategy", Select).value = "breakout"
        await pilot.pause()
        assert form.spec() == LaunchSpec("breakout", ("1HZ100V",), "15m", 20, 3, 1, 1)
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, CalibrationScreen)
        assert screen.job is not None and screen.job.alive()
        assert await until(pilot, lambda: screen.job is not None and screen.job.finished, 2400)
        await settle(pilot)
        assert screen.error == "", screen.error
        assert len(screen.studies) == 1
        assert screen.studies[0]["done"] == 3
        bar = screen.query_one("#job-progress", ProgressBar)
        assert (bar.total, bar.progress) == (3, 3)
        assert "finished: study" in screen.job_text
