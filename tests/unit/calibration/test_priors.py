"""Seed parameters (configs/seed_params.toml) are the first trials after the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.priors import load_priors
from tradeterm.calibration.space import default_values
from tradeterm.calibration.study import load, run_study
from tradeterm.errors import UserError

SEEDS = """
[[breakout]]
channel = 30
[[breakout]]
channel = 80
leverage = 3

[ema_trend]
fast = 9
slow = 55
"""


def test_seeds_are_enqueued_after_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "seed_params.toml"
    path.write_text(SEEDS)
    priors = load_priors("breakout", path)
    assert [label for label, _ in priors] == ["seed_params.toml#1", "seed_params.toml#2"]
    run_study(task(leverage_max=5), settings(tmp_path, 4, priors=priors), poll_s=0.05)
    trials = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t").trials
    assert [t.user_attrs.get("prior") for t in trials[:3]] == [
        "defaults",
        "seed_params.toml#1",
        "seed_params.toml#2",
    ]
    assert trials[0].params["channel"] == default_values("breakout")["channel"]
    assert (trials[1].params["channel"], trials[1].params["leverage"]) == (30, 1)
    assert (trials[2].params["channel"], trials[2].params["leverage"]) == (80, 3)
    assert "prior" not in trials[3].user_attrs  # then the sampler


def test_a_strategy_without_seeds_or_no_default_file_has_none(tmp_path: Path) -> None:
    path = tmp_path / "seed_params.toml"
    path.write_text(SEEDS)
    assert load_priors("mean_revert", path) == ()
    assert load_priors("ema_trend", path)[0][1] == {"fast": 9, "slow": 55}


def test_an_invalid_seed_or_missing_explicit_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "seed_params.toml"
    path.write_text("[ema_trend]\nfast = 60\nslow = 20\n")
    with pytest.raises(UserError, match=r"\[ema_trend\] seed 1: .*fast"):
        load_priors("ema_trend", path)
    with pytest.raises(UserError, match="no such file"):
        load_priors("ema_trend", tmp_path / "nope.toml")


def test_a_study_launched_from_the_console_takes_the_same_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's launch form builds its study as `tradeterm calibrate` does, seed priors
    included (configs/seed_params.toml under the working folder)."""
    from tradeterm.config.models import TradetermConfig
    from tradeterm.tui.calib_job import LaunchSpec, build_run

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "seed_params.toml").write_text(SEEDS)
    monkeypatch.chdir(tmp_path)
    spec = LaunchSpec("breakout", ("1HZ100V",), "15m", days=None, trials=3)
    _task, chosen = build_run(TradetermConfig(), spec, f"sqlite:///{tmp_path / 'o.db'}",
                              str(tmp_path / "state"))  # fmt: skip
    assert chosen.priors == load_priors("breakout")
    assert [label for label, _ in chosen.priors] == ["seed_params.toml#1", "seed_params.toml#2"]
