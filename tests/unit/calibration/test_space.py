"""The search space comes from the strategy's Params bounds, plus leverage and margin."""

from __future__ import annotations

import optuna
import pytest

from tradeterm.calibration.space import build_space
from tradeterm.errors import UserError
from tradeterm.strategies.ema_trend import EmaTrendParams


def test_every_bounded_field_is_a_dimension_with_its_bounds_and_kind() -> None:
    space = build_space("ema_trend", leverage_max=20, margin="both")
    dims = {d.name: d for d in space.dimensions}
    assert set(EmaTrendParams.model_fields) | {"leverage", "margin_mode"} == set(dims)
    assert (dims["fast"].kind, dims["fast"].low, dims["fast"].high) == ("int", 2, 100)
    assert (dims["slow"].low, dims["slow"].high) == (5, 200)
    assert (dims["adx_threshold"].kind, dims["adx_threshold"].low) == ("float", 10.0)
    assert dims["adx_threshold"].high == 50.0
    assert dims["regime_stops"].kind == "bool"
    assert (dims["leverage"].kind, dims["leverage"].low, dims["leverage"].high) == ("int", 1, 20)
    assert dims["margin_mode"].choices == ("isolated", "cross")


def test_sampled_values_stay_inside_the_bounds_and_leverage_steps_by_one() -> None:
    space = build_space("ema_trend", leverage_max=7)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(40):
        values = space.suggest(study.ask())
        assert 2 <= values["fast"] <= 100 and isinstance(values["fast"], int)
        assert 10.0 <= values["adx_threshold"] <= 50.0
        assert values["leverage"] in range(1, 8)
        assert values["margin_mode"] == "isolated"  # pinned: not searched
    params, leverage, margin = space.split(values)
    assert "leverage" not in params and leverage == values["leverage"] and margin == "isolated"


def test_pinned_parameters_are_not_searched_and_leverage_max_1_pins_leverage() -> None:
    space = build_space("ema_trend", fixed={"fast": 9})
    assert "fast" not in space.names() and "leverage" not in space.names()
    assert space.fixed["fast"] == 9 and space.fixed["leverage"] == 1


def test_unknown_parameter_or_leverage_out_of_range_is_one_clear_error() -> None:
    with pytest.raises(UserError, match="--param nope: strategy 'ema_trend' has no such parameter"):
        build_space("ema_trend", fixed={"nope": 1})
    with pytest.raises(UserError, match=r"outside 1\.\.125"):
        build_space("ema_trend", leverage_max=500)
