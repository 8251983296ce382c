"""What the calibration screen shows and exports, from real studies in a temp SQLite storage:
the optimisation history (best-so-far line, liquidated trials marked and never counted), the
PED-ANOVA importances, the parallel-coordinates view of the best trials, the trials CSV and
the PNG export, and the ETA arithmetic."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.insight import (
    CHART_NAMES,
    eta_s,
    export_folder,
    export_study,
    fmt_eta,
    history_chart,
    importances,
    parallel_chart,
    state_counts,
    study_view,
    write_trials_csv,
)
from tradeterm.calibration.study import best_trial, load, run_study
from tradeterm.charts import render_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> optuna.Study:
    """14 trials of breakout up to 100x, the 100x prior second: complete, pruned and
    liquidated trials in one study."""
    folder = tmp_path_factory.mktemp("insight")
    run_study(
        task(leverage_max=100, fixed={"atr_period": 14}),
        settings(folder, 14, name="ins", priors=(("lev100", {"leverage": 100}),)),
        poll_s=0.05,
    )
    return load(f"sqlite:///{folder / 'optuna.db'}", "ins")


def test_history_has_a_rising_best_line_and_marks_liquidated_trials(study: optuna.Study) -> None:
    trials = study.get_trials(deepcopy=False)
    liquidated = {t.number for t in trials if t.user_attrs.get("liquidated")}
    assert liquidated, "the fixture must liquidate (the 100x prior)"
    chart = history_chart(trials, "ins")
    markers = {m.name: m for m in chart.markers}
    assert set(markers["liquidated"].x.astype(int)) == liquidated
    assert not set(markers["trial value"].x.astype(int)) & liquidated
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(markers["trial value"].x.astype(int)) == sorted(t.number for t in complete)
    (line,) = chart.series
    assert line.name == "best so far"
    assert np.all(np.diff(line.y) >= 0)
    best = best_trial(study)
    assert best is not None and line.y[-1] == pytest.approx(best.value)
    pruned = {t.number for t in trials if t.state == TrialState.PRUNED} - liquidated
    assert set(markers["pruned"].x.astype(int)) == pruned
    text = render_text(chart, 100, 20, color=False)
    assert "Optimisation history: ins" in text and "liquidated" in text


def test_importances_come_from_ped_anova_over_the_varied_parameters(study: optuna.Study) -> None:
    found = importances(study)
    assert found, "enough complete trials: importances expected"
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varied = {n for n in complete[0].params if len({repr(t.params[n]) for t in complete}) > 1}
    assert set(found) <= varied and "atr_period" not in found  # pinned: not searched
    assert sum(found.values()) == pytest.approx(1.0)
    assert list(found.values()) == sorted(found.values(), reverse=True)
    view = study_view(study)
    chart = view.charts["importance"]
    assert chart.categories == tuple(found)
    text = render_text(chart, 160, 20, color=False)
    assert "PED-ANOVA" in text and next(iter(found)) in text


def test_importances_wait_for_enough_complete_trials(tmp_path: Path) -> None:
    run_study(task(), settings(tmp_path, 1, name="one"), poll_s=0.05)
    study = load(f"sqlite:///{tmp_path / 'optuna.db'}", "one")
    assert importances(study) == {}
    assert "needs 4 complete trials" in study_view(study).charts["importance"].title


def test_parallel_view_draws_the_best_trials_scaled_with_the_best_on_top(
    study: optuna.Study,
) -> None:
    chart = parallel_chart(study, top=5)
    best = best_trial(study)
    assert best is not None
    assert chart.series[-1].name == f"best #{best.number}" and chart.series[-1].color == "green"
    axes = [label for _x, label in chart.x_ticks]
    assert axes[-1] == "value" and len(axes) == chart.series[0].x.size
    for line in chart.series:
        finite = line.y[np.isfinite(line.y)]
        assert np.all((finite >= 0) & (finite <= 1))
    assert chart.series[-1].y[-1] == 1.0  # the best has the top value


def test_trials_csv_has_every_trial_with_state_value_params_and_attrs(
    study: optuna.Study, tmp_path: Path
) -> None:
    trials = study.get_trials(deepcopy=False)
    path = write_trials_csv(trials, tmp_path / "t.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["number"]) for r in rows] == [t.number for t in trials]
    for row, t in zip(rows, trials, strict=True):
        liq = bool(t.user_attrs.get("liquidated"))
        assert row["state"] == ("liquidated" if liq else t.state.name.lower())
        assert row["liquidated"] == str(liq)
        assert row["value"] == ("" if t.value is None else str(t.value))
        assert row["param_leverage"] == str(t.params["leverage"])
    assert "attr_total_return" in rows[0] and "attr_worker" in rows[0]


def test_export_writes_three_pngs_and_the_csv_into_the_report_folder(
    study: optuna.Study, tmp_path: Path
) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    files = export_study(study, tmp_path / "reports", now)
    folder = tmp_path / "reports" / "20260102-030405_calibration_ins"
    assert folder == export_folder(tmp_path / "reports", "ins", now)
    names = [*(f"{n}.png" for n in CHART_NAMES), "trials.csv"]
    assert sorted(f.name for f in files) == sorted(names)
    for f in files:
        assert f.parent == folder and f.stat().st_size > 1000
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == PNG_MAGIC
    assert export_folder("r", "a b/c", now).name == "20260102-030405_calibration_a_b_c"


def _trial(number: int, state: TrialState, start: datetime, seconds: float | None) -> FrozenTrial:
    return FrozenTrial(
        number=number, state=state, value=1.0 if state == TrialState.COMPLETE else None,
        datetime_start=start, datetime_complete=None if seconds is None
        else start + timedelta(seconds=seconds), params={"a": 0.5},
        distributions={"a": FloatDistribution(0, 1)}, user_attrs={}, system_attrs={},
        intermediate_values={}, trial_id=number, values=None,
    )  # fmt: skip


def test_eta_is_the_mean_duration_times_the_work_left_over_the_workers() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    t0 = now - timedelta(minutes=5)
    trials = [
        _trial(0, TrialState.COMPLETE, t0, 10.0),
        _trial(1, TrialState.PRUNED, t0, 20.0),
        _trial(2, TrialState.RUNNING, now - timedelta(seconds=5), None),
    ]
    # mean 15 s; 3 trials not started (6 - 2 done - 1 running) = 45 s, the running one has
    # 10 s left: 55 s of work on 2 workers
    assert eta_s(trials, 6, 2, now) == pytest.approx(27.5)
    assert eta_s(trials, 6, 1, now) == pytest.approx(55.0)
    assert eta_s(trials[2:], 6, 1, now) is None  # nothing finished: nothing to measure
    assert eta_s(trials[:2], 2, 1, now) == 0.0
    assert fmt_eta(27.5) == "ETA 28s" and fmt_eta(125) == "ETA 2m05s"
    assert fmt_eta(3700) == "ETA 1h01m" and fmt_eta(None) == "ETA after the first trial"
    assert state_counts(trials) == {"complete": 1, "running": 1, "pruned": 1}
