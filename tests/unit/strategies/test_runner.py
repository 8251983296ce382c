"""The live runner: the Signal it emits at a bar close, short windows, and strategy failures."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.strategies.conftest import make_bars
from tradeterm.domain.enums import Side
from tradeterm.domain.ids import signal_id
from tradeterm.domain.series import BarSeries
from tradeterm.errors import StrategyError
from tradeterm.strategies import (
    SignalFrame,
    Strategy,
    StrategyRunner,
    get_strategy,
    required_bars,
)
from tradeterm.strategies import vector_signals as vector
from tradeterm.strategies.breakout import Breakout, BreakoutParams

START_MS = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000


def _breakout_bars() -> BarSeries:
    rng = np.random.default_rng(1)
    close = 100.0 + rng.normal(0.0, 0.3, 600)
    close[550:] = np.linspace(103.0, 110.0, 50)
    return make_bars(close, start_ms=START_MS)


def _runner(*, confirm_timeframe: str = "", instance: str = "") -> StrategyRunner:
    return StrategyRunner(
        Breakout,
        BreakoutParams(),
        venue="sim",
        symbol="R_100",
        timeframe="5m",
        confirm_timeframe=confirm_timeframe,
        instance=instance,
    )


def test_on_bar_emits_the_signal_of_the_bar_that_just_closed() -> None:
    bars = _breakout_bars()
    runner = _runner(instance="range_break")
    window = bars.slice(slice(0, 551))
    signal = runner.on_bar(window)
    assert signal is not None
    bar_open = int(bars.open_ms[550])
    assert signal.id == signal_id("range_break", "sim", "R_100", "5m", bar_open)
    assert signal.ts_ms == bar_open + 300_000  # stamped at the bar's close
    assert (signal.venue, signal.symbol, signal.timeframe) == ("sim", "R_100", "5m")
    assert (signal.strategy, signal.strategy_version) == ("range_break", "1.0.0")
    assert signal.side is Side.BUY and signal.entry == bars.close[550]
    assert signal.reward_risk == pytest.approx(4.0) and signal.is_consistent
    assert 0.0 <= signal.confidence <= 1.0
    assert runner.on_bar(window) == signal  # re-evaluating a bar gives the same signal and id
    assert runner.on_bar(bars.slice(slice(0, 552))) is None  # next bar: no repeat entry


def test_signal_id_falls_back_to_the_strategy_name() -> None:
    signal = _runner().on_bar(_breakout_bars().slice(slice(0, 551)))
    assert signal is not None and signal.strategy == "breakout"


def test_a_window_shorter_than_required_bars_gives_no_signal() -> None:
    bars = _breakout_bars()
    runner = _runner()
    assert runner.required_bars == Breakout.total_lookback(BreakoutParams())
    assert runner.on_bar(bars.slice(slice(551 - runner.required_bars + 1, 551))) is None
    assert runner.on_bar(bars.slice(slice(551 - runner.required_bars, 551))) is not None
    assert runner.on_bar(BarSeries.empty()) is None


def test_confirmation_widens_the_window_to_cover_the_higher_bars() -> None:
    params = BreakoutParams()
    assert required_bars(Breakout, params, timeframe="5m", confirm_timeframe="1h") == 420
    assert required_bars(Breakout, params, timeframe="5m", confirm_timeframe="4h") == 22 * 48
    assert _runner(confirm_timeframe="4h").required_bars == 22 * 48


def test_a_misconfigured_runner_is_refused_before_the_first_bar() -> None:
    with pytest.raises(StrategyError, match=r"'breakout'.*whole multiple"):
        _runner(confirm_timeframe="1m")
    with pytest.raises(StrategyError, match="unknown timeframe '7m'"):
        StrategyRunner(Breakout, BreakoutParams(), venue="sim", symbol="X", timeframe="7m")
    wrong = get_strategy("ema_trend").default_params()
    with pytest.raises(StrategyError, match="needs BreakoutParams, got EmaTrendParams"):
        StrategyRunner(Breakout, wrong, venue="sim", symbol="X", timeframe="5m")


def test_vector_signals_can_tell_the_bar_timeframe_from_the_bars(btc_5m: BarSeries) -> None:
    explicit = vector(Breakout, BreakoutParams(), btc_5m, "1h", timeframe="5m")
    inferred = vector(Breakout, BreakoutParams(), btc_5m, "1h")
    np.testing.assert_array_equal(explicit.side, inferred.side)
    assert 0 < explicit.count < vector(Breakout, BreakoutParams(), btc_5m).count


class _Exploding(Strategy[BreakoutParams]):
    """A strategy with a bug: it divides by zero on every evaluation."""

    name = "exploding"
    version = "0.0.1"
    params_model = BreakoutParams

    @classmethod
    def lookback(cls, params: BreakoutParams) -> int:
        return 5

    @classmethod
    def evaluate(cls, bars: BarSeries, params: BreakoutParams) -> SignalFrame:
        raise ZeroDivisionError("float division by zero")


class _Truncating(_Exploding):
    """A strategy with a bug: it returns fewer rows than bars."""

    name = "truncating"

    @classmethod
    def evaluate(cls, bars: BarSeries, params: BreakoutParams) -> SignalFrame:
        return SignalFrame.flat(len(bars) - 1)


@pytest.mark.parametrize(
    ("strategy", "detail"),
    [
        (_Exploding, "ZeroDivisionError: float division by zero"),
        (_Truncating, "1m: returned 20 rows for 21 bars"),
    ],
)
def test_a_failing_strategy_raises_strategy_error_naming_it_and_the_market(
    strategy: type[Strategy[BreakoutParams]], detail: str
) -> None:
    runner = StrategyRunner(
        strategy, BreakoutParams(), venue="deriv", symbol="BOOM1000", timeframe="1m"
    )
    with pytest.raises(StrategyError) as err:
        runner.on_bar(make_bars(np.linspace(1.0, 2.0, 30), step_ms=60_000))
    message = str(err.value)
    assert f"'{strategy.name}'" in message and "deriv:BOOM1000 1m" in message
    assert detail in message


def test_the_signal_carries_the_real_atr_not_one_derived_from_its_stop() -> None:
    """The stop-width cap compares the stop with the market's ATR; an ATR worked back from the
    stop (stop distance / stop_atr) would make the cap pass every stop by construction."""
    from tradeterm import indicators

    bars = _breakout_bars()
    signal = _runner().on_bar(bars.slice(slice(0, 551)))
    assert signal is not None
    atr = indicators.atr(bars.high[:551], bars.low[:551], bars.close[:551], 14)[-1]
    assert signal.atr == pytest.approx(atr, rel=1e-9)
    # the trend widened the stop to 1.25 x 1.5 ATR: it is no longer 1.5 ATRs from the entry
    assert signal.risk_per_unit == pytest.approx(1.25 * 1.5 * atr, rel=1e-9)
    assert signal.risk_per_unit / BreakoutParams().stop_atr != pytest.approx(signal.atr)


def test_regime_stops_are_tighter_in_chop_than_in_trend() -> None:
    from tradeterm.strategies.base import efficiency_ratio, regime_stop_scale

    straight = np.linspace(100.0, 120.0, 50)
    zigzag = 100.0 + np.tile([0.0, 1.0], 25)
    assert efficiency_ratio(straight, 20)[-1] == pytest.approx(1.0)
    assert efficiency_ratio(zigzag, 20)[-1] == pytest.approx(0.0)
    params = BreakoutParams()
    assert regime_stop_scale(straight, params)[-1] == params.trend_stop_scale
    assert regime_stop_scale(zigzag, params)[-1] == params.chop_stop_scale
    assert np.isnan(efficiency_ratio(straight, 20)[:20]).all()
