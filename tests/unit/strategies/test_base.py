"""The strategy contract: parameter bounds, the signal frame, warm-up and settling lengths."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import Field, ValidationError

from tests.unit.strategies.conftest import BUILTIN
from tradeterm.domain.series import BarSeries
from tradeterm.errors import StrategyError
from tradeterm.strategies import SignalFrame, Strategy, StrategyParams, get_strategy, param_specs
from tradeterm.strategies.base import (
    SETTLE_TOLERANCE,
    adx_settle_bars,
    ema_settle_bars,
    fresh,
    previous,
    wilder_settle_bars,
)
from tradeterm.strategies.breakout import BreakoutParams


@pytest.mark.parametrize("name", BUILTIN)
def test_every_parameter_has_bounds_and_bounds_are_enforced(name: str) -> None:
    model = get_strategy(name).params_model
    model()  # the defaults are valid
    for spec in param_specs(model):
        assert spec.description, f"{name}.{spec.name} has no description"
        if spec.kind == "bool":
            continue
        assert spec.low is not None and spec.high is not None
        assert spec.low <= float(spec.default) <= spec.high
        step = 1 if spec.kind == "int" else 0.01
        with pytest.raises(ValidationError):
            model(**{spec.name: spec.high + step})
        with pytest.raises(ValidationError):
            model(**{spec.name: spec.low - step})


@pytest.mark.parametrize("name", BUILTIN)
def test_default_reward_risk_is_four_and_params_are_frozen(name: str) -> None:
    # 4 at the signal's prices leaves room for the gate's 3 net of costs
    params = get_strategy(name).default_params()
    assert params.reward_risk == 4.0
    with pytest.raises(ValidationError):
        params.reward_risk = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        type(params)(**{"not_a_knob": 1})


def test_a_params_field_without_bounds_is_refused_when_the_strategy_is_defined() -> None:
    with pytest.raises(TypeError, match="window: needs ge= and le= bounds"):

        class Unbounded(StrategyParams):
            window: int = Field(10, description="A window with no search space.")

    with pytest.raises(TypeError, match="window: needs a description"):

        class Undescribed(StrategyParams):
            window: int = Field(10, ge=1, le=20)


def test_param_specs_list_defaults_and_bounds_in_declaration_order() -> None:
    specs = {s.name: s for s in param_specs(BreakoutParams)}
    assert list(specs)[:3] == ["atr_period", "stop_atr", "reward_risk"]
    assert (specs["channel"].kind, specs["channel"].default) == ("int", 48)
    assert (specs["reward_risk"].low, specs["reward_risk"].high) == (1.0, 10.0)


def test_signal_frame_from_atr_stops_places_stop_and_target_by_side() -> None:
    entry = np.array([100.0, 100.0, 100.0, 100.0])
    atr = np.array([2.0, 2.0, np.nan, 2.0])
    conf = np.array([0.4, 1.7, 0.5, 0.5])
    frame = SignalFrame.from_atr_stops(
        [1, -1, 1, 0], entry, atr, stop_atr=1.5, reward_risk=3.0, confidence=conf
    )
    assert frame.row(0) == (1, 100.0, 97.0, 109.0, 0.4)
    assert frame.row(1) == (-1, 100.0, 103.0, 91.0, 1.0)  # confidence clipped to 1
    assert frame.row(2)[0] == 0  # no ATR yet: no signal
    assert np.isnan(frame.row(3)[1:]).all()
    assert frame.count == 2 and list(frame.signal_rows()) == [0, 1]


def test_signal_frame_keep_and_clear_before_remove_signals() -> None:
    frame = SignalFrame.from_atr_stops(
        np.ones(5),
        np.full(5, 10.0),
        np.ones(5),
        stop_atr=1.0,
        reward_risk=3.0,
        confidence=np.full(5, 0.5),
    )
    assert frame.clear_before(3).count == 2
    assert frame.keep(np.array([True, False, True, False, False])).count == 2
    assert np.isnan(frame.keep(np.zeros(5, dtype=bool)).entry).all()
    assert len(SignalFrame.flat(7)) == 7 and SignalFrame.flat(7).count == 0
    with pytest.raises(ValueError):
        SignalFrame(
            np.zeros(2, np.int8), np.zeros(3), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)
        )


def test_previous_and_fresh_look_only_backwards() -> None:
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(previous(x), [np.nan, 1.0, 2.0])
    cond = np.array([False, True, True, False, True])
    np.testing.assert_array_equal(fresh(cond), [False, True, False, False, True])


def test_settle_lengths_make_a_seed_error_negligible() -> None:
    for period in (5, 14, 48, 200):
        k = ema_settle_bars(period) - period
        assert (1 - 2 / (period + 1)) ** k <= SETTLE_TOLERANCE
        k = wilder_settle_bars(period) - period - 1
        assert (1 - 1 / period) ** k <= SETTLE_TOLERANCE
        assert adx_settle_bars(period) > wilder_settle_bars(period)


class _Echo(Strategy[BreakoutParams]):
    """A strategy that signals long on every bar (to see the warm-up applied)."""

    name = "echo"
    version = "0.0.1"
    params_model = BreakoutParams

    @classmethod
    def lookback(cls, params: BreakoutParams) -> int:
        return 10

    @classmethod
    def evaluate(cls, bars: BarSeries, params: BreakoutParams) -> SignalFrame:
        n = len(bars)
        return SignalFrame.from_atr_stops(
            np.ones(n),
            bars.close,
            np.ones(n),
            stop_atr=1.0,
            reward_risk=3.0,
            confidence=np.ones(n),
        )


def test_signals_are_flat_during_the_warm_up() -> None:
    bars = BarSeries.from_columns(np.arange(30), *([np.full(30, 5.0)] * 4))
    frame = _Echo.signals(bars, BreakoutParams(regime_stops=False))
    assert list(frame.signal_rows()) == list(range(9, 30))  # row lookback - 1 is the first
    # regime-aware stops read a 20-bar efficiency ratio: 21 bars before the first signal
    with_regime = _Echo.signals(bars, BreakoutParams())
    assert list(with_regime.signal_rows()) == list(range(20, 30))
    assert len(_Echo.signals(BarSeries.empty(), BreakoutParams())) == 0


def test_signals_refuse_another_strategys_params() -> None:
    bars = BarSeries.from_columns(np.arange(30), *([np.full(30, 5.0)] * 4))
    wrong = get_strategy("ema_trend").default_params()
    with pytest.raises(StrategyError, match="'echo' needs BreakoutParams, got EmaTrendParams"):
        _Echo.signals(bars, wrong)  # type: ignore[arg-type]
