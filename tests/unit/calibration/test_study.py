"""The study runner on generated histories: seeded runs repeat, liquidated trials are recorded
but never best, the SQLite storage is in WAL mode, walk-forward reports per split."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.space import default_values
from tradeterm.calibration.study import best_trial, load, ranked_trials, run_study
from tradeterm.errors import UserError


def test_a_seeded_study_repeats_trial_by_trial(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        report = run_study(task(leverage_max=5), settings(folder, 8), poll_s=0.05)
        study = load(f"sqlite:///{folder / 'optuna.db'}", "t")
        runs.append(([t.params for t in study.trials], report.best))
    (params_a, best_a), (params_b, best_b) = runs
    assert len(params_a) == 8
    assert params_a == params_b
    assert best_a is not None and best_b is not None
    assert (best_a.number, best_a.params, best_a.value) == (
        best_b.number,
        best_b.params,
        best_b.value,
    )
    defaults = default_values("breakout")
    assert {k: params_a[0][k] for k in defaults} == defaults  # the prior: the defaults first


def test_a_liquidated_trial_is_recorded_pruned_and_never_best(tmp_path: Path) -> None:
    # 15m bars of the most volatile index, leverage searched up to 100x on isolated margin:
    # at 50x and above a stop of 1.5 ATR lies beyond the liquidation price
    report = run_study(
        task(leverage_max=100, bars=4000), settings(tmp_path, 12, seed=5), poll_s=0.05
    )
    study = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t")
    liquidated = [t for t in study.trials if t.user_attrs.get("liquidated")]
    assert liquidated, "the fixture must produce liquidations"
    for t in liquidated:
        assert t.state == TrialState.PRUNED
        assert t.user_attrs["liquidation_bar"] >= 0 and t.user_attrs["liquidation_ms"] > 0
        assert t.params["leverage"] >= 20
    assert report.progress.liquidated == len(liquidated)
    assert report.best is not None and not report.best.user_attrs["liquidated"]
    assert all(not t.user_attrs["liquidated"] for t in ranked_trials(study))
    assert best_trial(study) == report.best


def test_every_trial_liquidated_leaves_no_best(tmp_path: Path) -> None:
    report = run_study(
        task(leverage_max=100, fixed={**default_values("breakout"), "leverage": 100}),
        settings(tmp_path, 1),
        poll_s=0.05,
    )
    assert report.progress.liquidated == 1
    assert report.best is None and report.top == []


def test_the_sqlite_storage_is_in_wal_mode(tmp_path: Path) -> None:
    run_study(task(), settings(tmp_path, 1), poll_s=0.05)
    conn = sqlite3.connect(tmp_path / "optuna.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_trials_carry_every_metric_as_user_attrs(tmp_path: Path) -> None:
    report = run_study(task(), settings(tmp_path, 2), poll_s=0.05)
    attrs = report.top[0].user_attrs
    for key in ("total_return", "max_drawdown", "sharpe", "sortino", "calmar", "trade_count"):
        assert key in attrs
    assert attrs["score"] == pytest.approx(report.top[0].value)


def test_walk_forward_reports_each_split_and_scores_their_mean(tmp_path: Path) -> None:
    report = run_study(task(bars=3000, splits=3), settings(tmp_path, 3), poll_s=0.05)
    study = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t")
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert done and report.best is not None
    for t in done:
        assert sorted(t.intermediate_values) == [0, 1, 2]
        assert len(t.user_attrs["split_scores"]) == 3
        assert t.value == pytest.approx(sum(t.user_attrs["split_scores"]) / 3)


def test_an_existing_study_needs_resume_and_then_continues_to_the_target(tmp_path: Path) -> None:
    run_study(task(), settings(tmp_path, 2), poll_s=0.05)
    with pytest.raises(UserError, match="--resume"):
        run_study(task(), settings(tmp_path, 4), poll_s=0.05)
    report = run_study(task(), settings(tmp_path, 4, resume=True), poll_s=0.05)
    assert report.progress.done == 4


def test_two_worker_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    # real backtests in every trial (no quick prunes): neither worker can take them all
    slow = task(bars=3000, splits=2, fixed={"atr_period": 14, "channel": 48})
    report = run_study(slow, settings(tmp_path, 6, jobs=2), poll_s=0.2)
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    numbers = [t.number for t in study.trials]
    assert 6 <= len(numbers) <= 7 and len(set(numbers)) == len(numbers)
    assert report.progress.workers_seen == 2


def test_best_queries_skip_a_complete_trial_marked_liquidated() -> None:
    study = optuna.create_study(direction="maximize")
    for value, liquidated in ((5.0, True), (1.0, False)):
        trial = study.ask()
        trial.set_user_attr("liquidated", liquidated)
        study.tell(trial, value)
    best = best_trial(study)
    assert best is not None and best.value == 1.0
    assert [t.value for t in ranked_trials(study)] == [1.0]


def test_a_point_whose_warm_up_eats_the_data_is_pruned_with_its_reason(tmp_path: Path) -> None:
    report = run_study(task(bars=600, fixed={"channel": 500}), settings(tmp_path, 1), poll_s=0.05)
    (trial,) = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t").trials
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs["invalid"].startswith("lookback ")
    assert "room for 450" in trial.user_attrs["invalid"]
    assert report.best is None


def test_a_point_that_never_trades_is_pruned_not_scored_zero(tmp_path: Path) -> None:
    # reward:risk 1 at the signal's prices: the gate wants 3 net of costs and refuses every entry
    pins = {**default_values("breakout"), "reward_risk": 1.0}
    report = run_study(task(fixed=pins), settings(tmp_path, 2), poll_s=0.05)
    trials = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t").trials
    assert [t.state for t in trials] == [TrialState.PRUNED, TrialState.PRUNED]
    assert all(t.user_attrs["invalid"] == "no trades" for t in trials)
    assert all(t.user_attrs["trade_count"] == 0 for t in trials)
    assert report.best is None
