"""The calibration lab (`c`): studies made by the real calibration API on a small generated
history, their trials (a liquidated one flagged and never marked best), promotion through the
CLI's function after a y/n confirm (audited; refused on n, refused for a liquidated trial), and a
small study launched from the console in a child process."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, ProgressBar, Select, Static

from tests.tui.kit import WIDE, ConsoleUnderTest, audited, press, settle, started
from tests.tui.screens.kit import until
from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.insight import importances
from tradeterm.calibration.study import best_trial, load, run_study
from tradeterm.storage.active_configs import load_active, load_audit
from tradeterm.tui.calib_job import LaunchSpec
from tradeterm.tui.screens.calibration import CalibrationScreen, LaunchModal
from tradeterm.tui.screens.lab import AskModal

STUDY = "breakout-lev"


def make_study(state_dir: Path, trials: int = 4) -> None:
    """`trials` trials of breakout: the defaults at 1x, then 100x (liquidated), then TPE's."""
    run_study(
        task(leverage_max=100, fixed={"atr_period": 14, "channel": 48}),
        settings(state_dir, trials, name=STUDY, priors=(("lev100", {"leverage": 100}),)),
        poll_s=0.05,
    )


def state_of(app: ConsoleUnderTest) -> Path:
    return Path(app.node.config.storage.state_dir)


def screen_of(pilot: Pilot[Any]) -> CalibrationScreen:
    screen = pilot.app.screen
    assert isinstance(screen, CalibrationScreen), type(screen)
    return screen


async def launch_form(pilot: Pilot[Any]) -> LaunchModal:
    """`n` on the calibration screen: the launch form."""
    await press(pilot, "n")
    form = pilot.app.screen
    assert isinstance(form, LaunchModal), type(form)
    return form


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
        form = await launch_form(pilot)
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
        assert form.spec() == LaunchSpec("breakout", ("1HZ100V",), "15m", 20, 3, 1, 1, seed=42)
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, CalibrationScreen)
        # (press waits for the console's workers, the study's watcher among them: the child may
        # be gone already)
        assert screen.job is not None and screen.job.pid is not None
        assert await until(pilot, lambda: screen.job is not None and screen.job.finished, 2400)
        await settle(pilot)
        assert screen.error == "", screen.error
        assert len(screen.studies) == 1
        assert screen.studies[0]["done"] == 3
        bar = screen.query_one("#job-progress", ProgressBar)
        assert (bar.total, bar.progress) == (3, 3)
        assert "finished: study" in screen.job_text


# ---- charts, export, the full launch form, live progress --------------------------------------
def chart_text(screen: CalibrationScreen) -> str:
    return str(screen.query_one("#chart", Static).content)


@pytest.fixture
def rich_console(new_console: Any) -> ConsoleUnderTest:
    """A study with enough complete trials for importances (14 trials)."""
    app: ConsoleUnderTest = new_console()
    make_study(state_of(app), 14)
    return app


async def test_v_and_g_show_history_importances_and_the_best_trials(
    rich_console: ConsoleUnderTest,
) -> None:
    study = load(f"sqlite:///{state_of(rich_console) / 'optuna.db'}", STUDY)
    found = importances(study)
    assert found
    async with rich_console.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        assert "Optimisation history" not in chart_text(screen)
        await press(pilot, "v")
        assert screen.chart == "history"
        history = chart_text(screen)
        assert f"Optimisation history: {STUDY}" in history and "best so far" in history
        assert "liquidated" in history  # the 100x prior is marked
        await press(pilot, "g")
        text = chart_text(screen)
        assert screen.chart == "importance" and "Parameter importances (PED-ANOVA)" in text
        assert next(iter(found)) in text  # the most important parameter is labelled
        assert screen.view is not None and screen.view.importances == pytest.approx(found)
        await press(pilot, "g")
        best = best_trial(study)
        assert best is not None
        assert screen.chart == "parallel" and f"best #{best.number}" in chart_text(screen)
        await press(pilot, "v")
        assert screen.query_one("#studies", DataTable).display  # back to the tables
        progress = str(screen.query_one("#cal-progress", Static).content)
        assert f"best {best.value:.4g} (#{best.number})" in progress
        liq = sum(1 for t in study.trials if t.user_attrs.get("liquidated"))
        assert f"liquidated {liq}" in progress and "14 trials" in progress


async def test_x_exports_pngs_and_the_trials_csv_and_a_toast_names_the_folder(
    console: ConsoleUnderTest,
) -> None:
    reports = Path(console.node.config.storage.reports_dir)
    async with console.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        await press(pilot, "x")
        assert await until(pilot, lambda: screen.exported != [], 600)
        folder = screen.exported[0].parent
        assert folder.parent == reports and folder.name.endswith(f"_calibration_{STUDY}")
        names = sorted(f.name for f in folder.iterdir())
        assert names == ["history.png", "importance.png", "parallel.png", "trials.csv"]
        for png in folder.glob("*.png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        with (folder / "trials.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["number"] for r in rows] == ["0", "1", "2", "3"]
        assert rows[1]["state"] == "liquidated" and rows[1]["param_leverage"] == "100"
        assert console.noted(str(folder))


async def test_the_form_offers_the_cli_options_and_names_a_bad_field(
    new_console: Any, tmp_path: Path
) -> None:
    app: ConsoleUnderTest = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        form = await launch_form(pilot)

        def error() -> str:
            return str(form.query_one("#launch-error", Static).content)

        async def submit(field: str, value: str) -> None:
            box = form.query_one(f"#{field}", Input)
            old = box.value
            box.value = value
            box.focus()
            await press(pilot, "enter")
            box.value = old

        await submit("leverage", "500")
        assert error() == "Leverage max: give 1..125"
        await submit("jobs", "0")
        assert error() == "Jobs: give at least 1 (or -1 = one per core)"
        await submit("seed", "x")
        assert error() == "Seed: 'x' is not a whole number"
        await submit("data", str(tmp_path / "nowhere"))
        assert error() == f"Data folder: {tmp_path / 'nowhere'} is not a folder"
        await submit("timeframe", "7m")
        assert error().startswith("Timeframe: '7m' is not one of 1s, 5s, ")
        form.query_one("#walk-forward", Checkbox).value = True
        await submit("splits", "0")
        assert error() == "Walk-forward splits: give 1..20"
        assert isinstance(pilot.app.screen, LaunchModal)  # nothing launched
        form.query_one("#splits", Input).value = "4"
        form.query_one("#objective", Select).value = "calmar"
        form.query_one("#margin", Select).value = "both"
        form.query_one("#strategy", Select).value = "breakout"
        form.query_one("#days", Input).value = ""
        form.query_one("#data", Input).value = str(tmp_path)
        form.query_one("#jobs", Input).value = "-1"
        form.query_one("#seed", Input).value = "7"
        form.query_one("#leverage", Input).value = "20"
        form.query_one("#study", Input).value = "mine"
        await pilot.pause()
        assert form.spec() == LaunchSpec(
            "breakout", ("1HZ100V",), "15m", days=None, trials=10, jobs=-1, leverage_max=20,
            study="mine", seed=7, objective="calmar", walk_forward=True, splits=4,
            margin="both", data_dir=str(tmp_path),
        )  # fmt: skip
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, CalibrationScreen)


async def test_a_running_study_shows_live_progress_eta_memory_and_fills_the_tables(
    new_console: Any,
) -> None:
    app: ConsoleUnderTest = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        spec = LaunchSpec("breakout", ("1HZ100V",), "15m", 20, 400, 1, 5, study="live", seed=1)
        screen.start(spec)
        job = screen.job
        assert job is not None

        def two_done() -> bool:
            live = screen.live
            return live is not None and live.view is not None and live.progress.done >= 2

        assert await until(pilot, two_done, 2400), screen.job_text
        assert not job.finished  # 400 trials: still running
        await settle(pilot)
        live = screen.live
        assert live is not None and live.view is not None
        assert screen.study_name == "live" and [r["name"] for r in screen.studies] == ["live"]
        assert len(cells(screen, "#trials")) == len(live.view.trials) >= 2
        progress = str(screen.query_one("#cal-progress", Static).content)
        assert f"live: {live.progress.done}/400 trials" in progress
        assert re.search(r"ETA (\d+h\d\dm|\d+m\d\ds|\d+s)", progress), progress
        assert re.search(r"workers [1-9]\d* MB RSS", progress), progress
        assert "complete" in progress or "pruned" in progress
        assert app.node_running  # the node keeps trading while the study runs
        before = screen.live_updates
        assert await until(pilot, lambda: screen.live_updates > before, 2400)
        screen.job.cancel()
    assert not job.alive()


async def test_the_form_launches_walk_forward_calmar_on_both_margins_from_a_data_folder(
    new_console: Any, shared_data: Path
) -> None:
    app: ConsoleUnderTest = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "c")
        screen = screen_of(pilot)
        form = await launch_form(pilot)
        values = {"symbols": "BTCUSDT", "days": "", "data": str(shared_data / "crypto"),
                  "splits": "2", "leverage": "5", "trials": "3", "seed": "7", "study": "wf"}  # fmt: skip
        for field, value in values.items():
            form.query_one(f"#{field}", Input).value = value
        form.query_one("#strategy", Select).value = "breakout"
        form.query_one("#objective", Select).value = "calmar"
        form.query_one("#margin", Select).value = "both"
        form.query_one("#walk-forward", Checkbox).value = True
        await pilot.pause()
        form.query_one("#trials", Input).focus()
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, CalibrationScreen)
        assert await until(pilot, lambda: screen.job is not None and screen.job.finished, 2400)
        await settle(pilot)
        assert screen.error == "", screen.error
    study = load(f"sqlite:///{state_of(app) / 'optuna.db'}", "wf")
    attrs = study.user_attrs
    assert (attrs["strategy"], attrs["objective"], attrs["splits"]) == ("breakout", "calmar", 2)
    rows = (shared_data / "crypto" / "usdm_BTCUSDT_15m_2024-02.csv").read_text().count("\n") - 1
    assert attrs["symbols"] == ["BTCUSDT"] and attrs["bars"] == rows  # days empty: the whole file
    assert len(study.trials) == 3
    assert "margin_mode" in study.trials[0].distributions  # margin searched: both modes
    assert set(study.trials[0].distributions["margin_mode"].choices) == {"isolated", "cross"}
    assert study.trials[0].distributions["leverage"].high == 5
    done = [t for t in study.trials if "split_scores" in t.user_attrs]
    assert done and all(len(t.user_attrs["split_scores"]) <= 2 for t in done)
