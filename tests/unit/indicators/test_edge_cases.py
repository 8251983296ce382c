"""Edge cases a strategy hits in practice: short history, n=1, flat markets, missing bars,
tiny quotes. In each the kernels must still say what TA-Lib says."""

from __future__ import annotations

import numpy as np
import pytest

import tradeterm.indicators as ind
from tests.unit.indicators.conftest import assert_twins
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import talib_


def _all_twins(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> None:
    """Every indicator against its twin on the given columns."""
    assert_twins(ind.sma(c, n), talib_.sma(c, n), "sma")
    assert_twins(ind.ema(c, n), talib_.ema(c, n), "ema")
    assert_twins(ind.rsi(c, n), talib_.rsi(c, n), "rsi")
    assert_twins(ind.zscore(c, n), talib_.zscore(c, n), "zscore")
    assert_twins(ind.atr(h, lo, c, n), talib_.atr(h, lo, c, n), "atr")
    assert_twins(ind.adx(h, lo, c, n), talib_.adx(h, lo, c, n), "adx")
    assert_twins(ind.plus_di(h, lo, c, n), talib_.plus_di(h, lo, c, n), "plus_di")
    assert_twins(ind.minus_di(h, lo, c, n), talib_.minus_di(h, lo, c, n), "minus_di")
    assert_twins(ind.true_range(h, lo, c), talib_.true_range(h, lo, c), "true_range")
    for mine, ref in zip(ind.bbands(c, n, 2.0, 2.0), talib_.bbands(c, n, 2.0, 2.0), strict=True):
        assert_twins(mine, ref, "bbands")
    for mine, ref in zip(ind.donchian(h, lo, n), talib_.donchian(h, lo, n), strict=True):
        assert_twins(mine, ref, "donchian")
    assert_twins(ind.nr7(h, lo, n), talib_.nr7_reference(h, lo, n), "nr7")


def test_period_longer_than_history_gives_all_nan(btc_5m: BarSeries) -> None:
    b = btc_5m.tail(30)
    _all_twins(b.high, b.low, b.close, 50)
    assert np.isnan(ind.sma(b.close, 31)).all()
    assert np.isnan(ind.adx(b.high, b.low, b.close, 16)).all()  # needs 2n = 32 bars
    assert np.isnan(ind.nr7(b.high, b.low, 31)).all()


def test_period_equal_to_history_gives_one_value_on_the_last_bar(orcl_daily: BarSeries) -> None:
    close = orcl_daily.close[:20]
    out = ind.sma(close, 20)
    assert np.isnan(out[:-1]).all()
    assert out[-1] == pytest.approx(close.mean(), rel=1e-12)


def test_period_one_where_talib_allows_it(eth_5m: BarSeries) -> None:
    b = eth_5m
    assert_twins(ind.sma(b.close, 1), talib_.sma(b.close, 1), "sma(1)")
    assert_twins(ind.ema(b.close, 1), talib_.ema(b.close, 1), "ema(1)")
    assert_twins(
        ind.atr(b.high, b.low, b.close, 1), talib_.atr(b.high, b.low, b.close, 1), "atr(1)"
    )
    np.testing.assert_array_equal(ind.sma(b.close, 1), b.close)
    np.testing.assert_array_equal(ind.ema(b.close, 1), b.close)
    np.testing.assert_array_equal(
        ind.atr(b.high, b.low, b.close, 1), ind.true_range(b.high, b.low, b.close)
    )
    assert (ind.nr7(b.high, b.low, 1) == 1.0).all()  # every bar is the narrowest of itself


def test_flat_market_matches_talib_and_reads_sensibly() -> None:
    flat = np.full(80, 101.25)
    _all_twins(flat, flat, flat, 14)
    assert np.isnan(ind.zscore(flat, 14)).all()  # no spread: no z-score, not a division blow-up
    assert (ind.rsi(flat, 14)[14:] == 0.0).all()  # TA-Lib's reading for "no move at all"
    bands = ind.bbands(flat, 20)
    np.testing.assert_array_equal(bands.upper[19:], bands.lower[19:])
    assert (ind.atr(flat, flat, flat, 14)[14:] == 0.0).all()
    assert (ind.adx(flat, flat, flat, 5)[9:] == 0.0).all()


def test_flat_stretch_inside_real_data(unittest_btc_1m: BarSeries) -> None:
    b = unittest_btc_1m
    z = ind.zscore(b.close, 5)
    assert np.isnan(z[4:]).any(), "the 1m altcoin file has flat 5-minute stretches"
    assert_twins(z, talib_.zscore(b.close, 5), "zscore(5)")


def test_leading_missing_bars_shift_the_warm_up(orcl_daily: BarSeries) -> None:
    b = orcl_daily.tail(400)
    h, lo, c = b.high.copy(), b.low.copy(), b.close.copy()
    h[:3], lo[:5], c[:4] = np.nan, np.nan, np.nan
    _all_twins(h, lo, c, 14)
    # k leading NaNs: the same numbers as on the trimmed series, k bars later.
    trimmed = ind.rsi(c[4:], 14)
    np.testing.assert_array_equal(ind.rsi(c, 14)[4:], trimmed)
    assert int(np.argmax(~np.isnan(ind.rsi(c, 14)))) == 4 + 14


def test_a_missing_bar_in_the_middle_is_handled_as_talib_does(btc_5m: BarSeries) -> None:
    b = btc_5m.tail(500)
    h, lo, c = b.high.copy(), b.low.copy(), b.close.copy()
    c[200], h[300] = np.nan, np.nan
    _all_twins(h, lo, c, 14)
    assert np.isnan(ind.sma(c, 14)[200:]).all()  # a gap poisons the running sums: clean data first


def test_all_missing_and_empty_inputs() -> None:
    gone = np.full(25, np.nan)
    _all_twins(gone, gone, gone, 5)
    assert np.isnan(ind.rsi(gone, 5)).all()
    empty = np.zeros(0)
    _all_twins(empty, empty, empty, 5)
    assert ind.bbands(empty, 5).middle.shape == (0,)


def test_tiny_quotes_are_not_flattened(orcl_daily: BarSeries) -> None:
    """A coin quoted at 1e-8 gets the same RSI and proportionally the same bands as a stock."""
    b = orcl_daily.tail(600)
    scale = 1e-8
    h, lo, c = b.high * scale, b.low * scale, b.close * scale
    _all_twins(h, lo, c, 14)
    np.testing.assert_allclose(ind.rsi(c, 14)[14:], ind.rsi(b.close, 14)[14:], rtol=1e-9)
    width = ind.bbands(c, 20).upper - ind.bbands(c, 20).lower
    ref = ind.bbands(b.close, 20).upper - ind.bbands(b.close, 20).lower
    np.testing.assert_allclose(width[19:], ref[19:] * scale, rtol=1e-6)
    assert (width[19:] > 0).all()
