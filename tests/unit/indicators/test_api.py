"""The public indicator API strategies call: argument checks, shapes, and live-window parity."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

import tradeterm.indicators as ind
from tradeterm.domain.series import BarSeries


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: ind.sma(c, 0), "n must be >= 1, got 0"),
        (lambda c: ind.ema(c, -3), "n must be >= 1, got -3"),
        (lambda c: ind.rsi(c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.zscore(c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.bbands(c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.adx(c, c, c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.plus_di(c, c, c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.minus_di(c, c, c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.donchian(c, c, 1), "n must be >= 2, got 1"),
        (lambda c: ind.atr(c, c, c, 0), "n must be >= 1, got 0"),
        (lambda c: ind.nr7(c, c, 0), "n must be >= 1, got 0"),
        (lambda c: ind.sma(c, 14.0), "n must be an integer period, got 14.0"),  # type: ignore[arg-type]
        (lambda c: ind.sma(c, True), "n must be an integer period, got True"),
        (lambda c: ind.bbands(c, 20, float("inf")), "nbdev_up must be a finite number"),
        (lambda c: ind.bbands(c, 20, 2.0, float("nan")), "nbdev_dn must be a finite number"),
        (lambda c: ind.atr(c, c[:-1], c), r"high, low, close must have the same length"),
        (lambda c: ind.donchian(c, c[:-2]), r"\(high=50, low=48\)"),
        (lambda c: ind.sma(c.reshape(5, 10), 3), "x must be one-dimensional"),
    ],
)
def test_bad_arguments_are_refused_with_the_argument_named(
    call: Callable[[npt.NDArray[np.float64]], object], message: str
) -> None:
    close = np.linspace(100.0, 110.0, 50)
    with pytest.raises(ValueError, match=message):
        call(close)


def test_numpy_integer_periods_are_accepted(orcl_daily: BarSeries) -> None:
    np.testing.assert_array_equal(
        ind.sma(orcl_daily.close, np.int64(10)),  # type: ignore[arg-type]
        ind.sma(orcl_daily.close, 10),
    )


def test_outputs_are_float64_columns_of_the_input_length(btc_5m: BarSeries) -> None:
    b = btc_5m
    outputs = [
        ind.sma(b.close, 20),
        ind.ema(b.close, 20),
        ind.rsi(b.close),
        ind.zscore(b.close),
        ind.atr(b.high, b.low, b.close),
        ind.true_range(b.high, b.low, b.close),
        ind.adx(b.high, b.low, b.close),
        ind.plus_di(b.high, b.low, b.close),
        ind.minus_di(b.high, b.low, b.close),
        ind.nr7(b.high, b.low),
        *ind.bbands(b.close),
        *ind.donchian(b.high, b.low),
    ]
    for out in outputs:
        assert out.dtype == np.float64
        assert out.shape == (len(b),)


def test_inputs_are_left_untouched_and_lists_work(orcl_daily: BarSeries) -> None:
    close = orcl_daily.close[:100].copy()
    before = close.copy()
    ind.bbands(close, 10)
    ind.zscore(close, 10)
    np.testing.assert_array_equal(close, before)
    np.testing.assert_array_equal(ind.ema(close.tolist(), 10), ind.ema(close, 10))


def test_bands_and_channel_unpack_like_talib_and_have_names(btc_5m: BarSeries) -> None:
    upper, middle, lower = ind.bbands(btc_5m.close, 20)
    bands = ind.bbands(btc_5m.close, 20)
    for unpacked, named in ((upper, bands.upper), (middle, bands.middle), (lower, bands.lower)):
        np.testing.assert_array_equal(unpacked, named)
    assert (bands.upper[19:] >= bands.middle[19:]).all()
    assert (bands.middle[19:] >= bands.lower[19:]).all()
    channel = ind.donchian(btc_5m.high, btc_5m.low, 20)
    assert (channel.upper[19:] >= btc_5m.high[19:]).all()
    assert (channel.lower[19:] <= btc_5m.low[19:]).all()


def test_values_are_in_their_documented_ranges(eth_5m: BarSeries) -> None:
    b = eth_5m
    for name, values in {
        "rsi": ind.rsi(b.close),
        "adx": ind.adx(b.high, b.low, b.close),
        "plus_di": ind.plus_di(b.high, b.low, b.close),
        "minus_di": ind.minus_di(b.high, b.low, b.close),
    }.items():
        known = values[~np.isnan(values)]
        assert ((known >= 0.0) & (known <= 100.0)).all(), name
    assert (ind.atr(b.high, b.low, b.close)[14:] > 0.0).all()


def test_rolling_live_window_gives_the_backtest_value_at_the_last_bar(btc_5m: BarSeries) -> None:
    """Live calls indicators on the last W bars; windowed indicators must not care about W."""
    b, window = btc_5m, 300
    full = {
        "sma": ind.sma(b.close, 50),
        "bbands": ind.bbands(b.close, 50).upper,
        "zscore": ind.zscore(b.close, 50),
        "donchian": ind.donchian(b.high, b.low, 50).lower,
        "nr7": ind.nr7(b.high, b.low),
        "true_range": ind.true_range(b.high, b.low, b.close),
    }
    for end in (window, 1234, len(b)):
        live = b.slice(slice(end - window, end))
        at_end = {
            "sma": ind.sma(live.close, 50),
            "bbands": ind.bbands(live.close, 50).upper,
            "zscore": ind.zscore(live.close, 50),
            "donchian": ind.donchian(live.high, live.low, 50).lower,
            "nr7": ind.nr7(live.high, live.low),
            "true_range": ind.true_range(live.high, live.low, live.close),
        }
        for name, values in at_end.items():
            assert values[-1] == pytest.approx(full[name][end - 1], rel=1e-9), (name, end)


def test_importing_indicators_does_not_import_talib() -> None:
    code = "import sys, tradeterm.indicators; sys.exit('talib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
