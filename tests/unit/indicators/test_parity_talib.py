"""Golden parity: every indicator equals its TA-Lib twin on real market data, bar for bar.

A strategy calibrated against TA-Lib numbers (or a published chart) must see the same values
live; a difference in warm-up length or in a single bar would move entries and stops.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tradeterm.indicators as ind
from tests.unit.indicators.conftest import assert_twins
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import talib_

PERIODS = (2, 5, 14, 20, 50, 200)

Single = Callable[[BarSeries, int], np.ndarray]

# name -> (ours, TA-Lib, smallest period TA-Lib accepts)
SINGLE_OUTPUT: dict[str, tuple[Single, Single, int]] = {
    "sma": (lambda b, n: ind.sma(b.close, n), lambda b, n: talib_.sma(b.close, n), 1),
    "ema": (lambda b, n: ind.ema(b.close, n), lambda b, n: talib_.ema(b.close, n), 1),
    "rsi": (lambda b, n: ind.rsi(b.close, n), lambda b, n: talib_.rsi(b.close, n), 2),
    "zscore": (lambda b, n: ind.zscore(b.close, n), lambda b, n: talib_.zscore(b.close, n), 2),
    "atr": (
        lambda b, n: ind.atr(b.high, b.low, b.close, n),
        lambda b, n: talib_.atr(b.high, b.low, b.close, n),
        1,
    ),
    "adx": (
        lambda b, n: ind.adx(b.high, b.low, b.close, n),
        lambda b, n: talib_.adx(b.high, b.low, b.close, n),
        2,
    ),
    "plus_di": (
        lambda b, n: ind.plus_di(b.high, b.low, b.close, n),
        lambda b, n: talib_.plus_di(b.high, b.low, b.close, n),
        2,
    ),
    "minus_di": (
        lambda b, n: ind.minus_di(b.high, b.low, b.close, n),
        lambda b, n: talib_.minus_di(b.high, b.low, b.close, n),
        2,
    ),
}


def test_talib_runs_with_the_default_settings_the_twins_assume() -> None:
    assert talib_.check_default_settings() == []


@pytest.mark.parametrize("name", sorted(SINGLE_OUTPUT))
def test_indicator_equals_talib_on_real_series(bars: BarSeries, name: str) -> None:
    ours, theirs, smallest = SINGLE_OUTPUT[name]
    for n in (1, *PERIODS) if smallest == 1 else PERIODS:
        expected = theirs(bars, n)
        assert np.isfinite(expected).sum() > len(bars) // 2, f"{name}({n}) vacuous"
        assert_twins(ours(bars, n), expected, f"{name}({n})")


def test_true_range_equals_talib(bars: BarSeries) -> None:
    assert_twins(
        ind.true_range(bars.high, bars.low, bars.close),
        talib_.true_range(bars.high, bars.low, bars.close),
        "true_range",
    )


@pytest.mark.parametrize("nbdev", [(2.0, 2.0), (1.0, 1.0), (1.5, 2.5), (2.2, 1.0)])
def test_bollinger_bands_equal_talib(bars: BarSeries, nbdev: tuple[float, float]) -> None:
    up, dn = nbdev
    for n in PERIODS:
        ours = ind.bbands(bars.close, n, up, dn)
        theirs = talib_.bbands(bars.close, n, up, dn)
        for band, mine, ref in zip(("upper", "middle", "lower"), ours, theirs, strict=True):
            assert_twins(mine, ref, f"bbands({n}, {up}, {dn}).{band}")


def test_donchian_channel_equals_talib_max_min(bars: BarSeries) -> None:
    for n in PERIODS:
        ours = ind.donchian(bars.high, bars.low, n)
        upper, lower = talib_.donchian(bars.high, bars.low, n)
        assert_twins(ours.upper, upper, f"donchian({n}).upper")
        assert_twins(ours.lower, lower, f"donchian({n}).lower")


def test_nr7_equals_its_pandas_reference(bars: BarSeries) -> None:
    for n in (1, 4, 7, 20):
        flags = ind.nr7(bars.high, bars.low, n)
        assert_twins(flags, talib_.nr7_reference(bars.high, bars.low, n), f"nr7({n})")
        assert set(np.unique(flags[n - 1 :])) <= {0.0, 1.0}


def test_warm_up_tells_strategies_how_much_history_each_indicator_needs(
    orcl_daily: BarSeries,
) -> None:
    b = orcl_daily
    for n in (1, 2, 14):
        outputs = {
            "sma": ind.sma(b.close, n),
            "ema": ind.ema(b.close, n),
            "atr": ind.atr(b.high, b.low, b.close, n),
            "nr7": ind.nr7(b.high, b.low, n),
            "true_range": ind.true_range(b.high, b.low, b.close),
        }
        if n >= 2:
            outputs |= {
                "bbands": ind.bbands(b.close, n).middle,
                "donchian": ind.donchian(b.high, b.low, n).upper,
                "zscore": ind.zscore(b.close, n),
                "rsi": ind.rsi(b.close, n),
                "plus_di": ind.plus_di(b.high, b.low, b.close, n),
                "minus_di": ind.minus_di(b.high, b.low, b.close, n),
                "adx": ind.adx(b.high, b.low, b.close, n),
            }
        for name, values in outputs.items():
            # The first value sits right after the warm-up (later NaNs: zscore's flat windows).
            assert int(np.argmax(~np.isnan(values))) == ind.warm_up(name, n), (name, n)
    assert set(ind.INDICATORS) == {name for name in ind.__all__ if name.islower()} - {
        "warm_up",
        "use_backend",
    }


def test_warm_up_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="indicator must be one of adx, atr"):
        ind.warm_up("macd", 12)
