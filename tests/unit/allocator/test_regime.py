"""The regime classifier on real BTCUSDT 5-minute bars (Feb-Mar 2024): rallies and crashes are
trends with the right direction, quiet nights are chop."""

from __future__ import annotations

import math

from tradeterm.allocator import Regime, RegimeClassifier
from tradeterm.domain.enums import DirectionRegime, TrendRegime
from tradeterm.domain.series import BarSeries


def _window(bars: BarSeries, end: int, size: int = 200) -> BarSeries:
    return bars.slice(slice(end - size, end))


def test_the_26_february_rally_is_a_bull_trend(btc_5m: BarSeries) -> None:
    # 26 Feb 2024 13:00-17:00 UTC: BTC climbs from 51,242 to 53,361 in four hours.
    regime = RegimeClassifier("5m").classify("binance:BTCUSDT", _window(btc_5m, 1250))
    assert regime.trend is TrendRegime.TREND and regime.direction is DirectionRegime.BULL
    assert regime.adx > 60
    assert regime.label == "trend/bull"


def test_the_5_march_crash_is_a_bear_trend(btc_5m: BarSeries) -> None:
    # 5 Mar 2024 afternoon: the all-time-high reversal, 65,209 -> 62,236 with a 6,600 range.
    regime = RegimeClassifier("5m").classify("binance:BTCUSDT", _window(btc_5m, 3600))
    assert regime.trend is TrendRegime.TREND and regime.direction is DirectionRegime.BEAR


def test_a_quiet_night_is_chop_and_calmer_than_the_crash(btc_5m: BarSeries) -> None:
    # 2-3 Mar 2024 around midnight: four hours inside a 408-dollar range.
    classifier = RegimeClassifier("5m")
    quiet = classifier.classify("binance:BTCUSDT", _window(btc_5m, 2800))
    crash = classifier.classify("binance:BTCUSDT", _window(btc_5m, 3600))
    assert quiet.trend is TrendRegime.CHOP and quiet.adx < 15
    assert quiet.volatility < 0.5 < 1.5 < crash.volatility  # annualised


def test_update_remembers_the_latest_regime_per_market(btc_5m: BarSeries) -> None:
    classifier = RegimeClassifier("5m")
    first = classifier.update("binance:BTCUSDT", btc_5m.slice(slice(0, 1250)))
    assert classifier.regime("binance:BTCUSDT") == first
    assert first.ts_ms == int(btc_5m.open_ms[1249]) + 300_000  # the close of the last bar
    classifier.update("binance:BTCUSDT", btc_5m.slice(slice(0, 2800)))
    assert classifier.regime("binance:BTCUSDT").trend is TrendRegime.CHOP
    assert set(classifier.regimes()) == {"binance:BTCUSDT"}


def test_a_market_without_enough_bars_is_unknown_chop(btc_5m: BarSeries) -> None:
    classifier = RegimeClassifier("5m")
    assert classifier.regime("sim:R_100") == Regime.unknown("sim:R_100")
    short = classifier.update("binance:BTCUSDT", btc_5m.slice(slice(1200, 1220)))
    assert not short.known and math.isnan(short.adx)
    assert short.trend is TrendRegime.CHOP and short.direction is DirectionRegime.BEAR
    assert not math.isnan(short.volatility)  # 19 returns are enough for a volatility
    assert classifier.update("binance:BTCUSDT", btc_5m.slice(slice(1200, 1228))).known
