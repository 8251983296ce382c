"""The ORSTAC miner's themes become per-strategy seeds: mapped onto each strategy's Params,
clipped to the bounds, valid per the model, and enqueued right after the defaults."""

from __future__ import annotations

from pathlib import Path

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.priors import load_priors, theme_seeds
from tradeterm.calibration.space import default_values
from tradeterm.calibration.study import load, run_study
from tradeterm.cli import main

ORSTAC = Path(__file__).resolve().parents[3].parent / "shared" / "orstac_xml"

THEMES = {
    "ema": {"periods": {"10": 5, "300": 9, "1": 7, "21": 2, "30": 3}},
    "rsi": {
        "periods": {"14": 3, "70": 1},
        "oversold": {"median": 25.0},
        "overbought": {"median": 99.5},
    },
    "bb": {"periods": {"3": 4}, "std_multiplier": {"median": 2.5}},
}


def test_themes_map_onto_params_clipped_to_bounds_and_valid() -> None:
    # EMA periods by count: 300 (9), 1 (7), 10 (5), 30 (3), 21 (2): pairs (1, 300), (10, 30)
    # -> clipped to fast 2..100 and slow 5..200: (2, 200), (10, 30); the third pair is missing
    assert theme_seeds("ema_trend", THEMES) == [{"fast": 2, "slow": 200}, {"fast": 10, "slow": 30}]
    # RSI thresholds clipped to mean_revert's rsi_high <= 95; BB period 3 clipped to >= 5;
    # seed 2 has RSI period 70 clipped to 50 and no second BB period (medians stay)
    assert theme_seeds("mean_revert", THEMES) == [
        {"bb_period": 5, "rsi_period": 14, "bb_dev": 2.5, "rsi_low": 25.0, "rsi_high": 95.0},
        {"rsi_period": 50, "bb_dev": 2.5, "rsi_low": 25.0, "rsi_high": 95.0},
    ]
    assert theme_seeds("breakout", THEMES) == []  # no theme informs a Donchian channel


def test_a_themed_pair_that_is_invalid_after_clipping_is_dropped() -> None:
    themes = {"ema": {"periods": {"150": 2, "180": 1}}}
    # (150, 180) clips fast to 100 < 180: fine; reversed order in a table does not matter
    assert theme_seeds("ema_trend", themes) == [{"fast": 100, "slow": 180}]
    themes = {"ema": {"periods": {"3": 2, "4": 1}}}
    # (3, 4): slow clipped up to 5 > fast 3: valid
    assert theme_seeds("ema_trend", themes) == [{"fast": 3, "slow": 5}]
    themes = {"ema": {"periods": {"250": 2, "300": 1}}}
    # (250, 300) -> (100, 200): valid; and defaults-equal seeds are dropped
    assert theme_seeds("ema_trend", themes) == [{"fast": 100, "slow": 200}]
    defaults = default_values("ema_trend")
    same = {"ema": {"periods": {str(defaults["fast"]): 2, str(defaults["slow"]): 1}}}
    assert theme_seeds("ema_trend", same) == []


def test_orstac_seed_output_is_enqueued_after_the_defaults(tmp_path: Path) -> None:
    seeds = tmp_path / "seed_params.toml"
    assert main(["orstac-seed", "--input", str(ORSTAC), "--output", str(seeds)]) == 0
    priors = load_priors("mean_revert", seeds)
    assert priors, "the mined themes give mean_revert no seed"
    assert all(label.startswith("seed_params.toml:themes#") for label, _ in priors)
    n = len(priors)
    run_study(task(strategy="mean_revert"), settings(tmp_path, n + 2, priors=priors), poll_s=0.05)
    trials = load(f"sqlite:///{tmp_path / 'optuna.db'}", "t").trials
    assert trials[0].user_attrs["prior"] == "defaults"
    for trial, (label, values) in zip(trials[1 : n + 1], priors, strict=True):
        assert trial.user_attrs["prior"] == label
        assert {k: trial.params[k] for k in values} == values
    assert "prior" not in trials[n + 1].user_attrs
    # the miner's headline themes reach the study: BB 20 x 1.5, RSI 14 at 30/70
    assert trials[1].params["bb_period"] == 20 and trials[1].params["bb_dev"] == 1.5
    assert (trials[1].params["rsi_low"], trials[1].params["rsi_high"]) == (30.0, 70.0)
