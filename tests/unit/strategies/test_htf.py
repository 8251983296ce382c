"""Higher-timeframe confirmation: only closed higher bars count, and nothing looks ahead."""

from __future__ import annotations

import numpy as np
import pytest

from tradeterm.domain.series import BarSeries
from tradeterm.strategies import SignalFrame
from tradeterm.strategies.htf import closed_higher_bars, confirm, higher_trend, htf_lookback

M5 = 300_000
H1 = 3_600_000
M1 = 60_000
M15 = 900_000


def _bars(open_ms: list[int] | np.ndarray, close: list[float] | np.ndarray) -> BarSeries:
    c = np.asarray(close, dtype=np.float64)
    return BarSeries.from_columns(open_ms, c, c + 1, c - 1, c)


def _hours(hourly_closes: list[float]) -> BarSeries:
    """5m bars whose hour closes are `hourly_closes`; inside each hour the price wanders
    against the hourly direction so only the hour's last bar carries its close."""
    ts, close = [], []
    for h, c in enumerate(hourly_closes):
        for k in range(12):
            ts.append(h * H1 + k * M5)
            close.append(c if k == 11 else 1000.0 - c + k)
    return _bars(ts, close)


def test_an_hour_is_closed_at_its_last_five_minute_bar() -> None:
    bars = _bars([k * M5 for k in range(14)], np.arange(14.0))
    closes, closed_at = closed_higher_bars(bars.open_ms, bars.close, M5, H1)
    assert list(closes) == [11.0, 13.0]
    assert list(closed_at) == [11, 14]  # the second hour has not closed yet


def test_an_hour_ending_in_a_gap_closes_when_the_next_hour_begins() -> None:
    ts = [k * M5 for k in range(10)] + [H1]  # 00:50 and 00:55 missing
    bars = _bars(ts, np.arange(11.0))
    closes, closed_at = closed_higher_bars(bars.open_ms, bars.close, M5, H1)
    assert list(closes) == [9.0, 10.0]
    assert list(closed_at) == [10, 11]


def test_trend_follows_closed_hours_and_is_unknown_before_enough_have_closed() -> None:
    bars = _hours([100.0, 101.0, 102.0, 103.0, 99.0, 98.0])
    trend = higher_trend(bars, M5, H1, period=3)
    assert not trend[:35].any()  # fewer than 3 hours closed
    assert trend[35] == 1  # hour 2 closed at 102 > mean(100, 101, 102)
    assert (trend[35:47] == 1).all()  # hour 3 still forming: last closed trend holds
    assert trend[47] == 1  # 103 > mean(101, 102, 103)
    assert trend[59] == -1  # 99 < mean(102, 103, 99)
    assert (trend[59:] == -1).all()


def test_confirm_keeps_only_signals_that_agree_with_the_higher_trend() -> None:
    n = 4
    frame = SignalFrame.from_atr_stops(
        np.array([1, 1, -1, -1]),
        np.full(n, 100.0),
        np.ones(n),
        stop_atr=1.0,
        reward_risk=3.0,
        confidence=np.full(n, 0.5),
    )
    kept = confirm(frame, np.array([1, -1, -1, 0], dtype=np.int8))
    assert list(kept.side) == [1, 0, -1, 0]
    assert kept.row(2) == frame.row(2)


def _check_no_lookahead(bars: BarSeries, lower: int, higher: int, cuts: np.ndarray) -> None:
    full = higher_trend(bars, lower, higher)
    rng = np.random.default_rng(7)
    for i in cuts:
        prefix = bars.slice(slice(0, i + 1))
        np.testing.assert_array_equal(higher_trend(prefix, lower, higher), full[: i + 1])
        noisy = bars.close.copy()
        noisy[i + 1 :] *= 1.0 + rng.normal(0.0, 0.05, noisy.shape[0] - i - 1)
        altered = BarSeries.from_columns(bars.open_ms, noisy, noisy, noisy, noisy)
        np.testing.assert_array_equal(higher_trend(altered, lower, higher)[: i + 1], full[: i + 1])


def test_future_bars_never_change_the_trend_seen_at_a_five_minute_bar(btc_5m: BarSeries) -> None:
    cuts = np.arange(200, 1800, 7)  # every phase of the hour, many hours
    _check_no_lookahead(btc_5m, M5, H1, cuts)
    assert set(np.unique(higher_trend(btc_5m, M5, H1))) == {-1, 0, 1}


def test_future_bars_never_change_the_trend_on_gappy_one_minute_data(
    unittest_1m: BarSeries,
) -> None:
    gaps = np.flatnonzero(np.diff(unittest_1m.open_ms) > M1)
    cuts = np.unique(np.concatenate([gaps[:60], gaps[:60] + 1, np.arange(400, 1600, 11)]))
    _check_no_lookahead(unittest_1m, M1, M15, cuts[cuts > 0])


def test_a_window_of_htf_lookback_bars_sees_the_same_trend_as_the_full_history(
    unittest_1m: BarSeries,
) -> None:
    need = htf_lookback(M1, M15)
    assert need == 22 * 15
    full = higher_trend(unittest_1m, M1, M15)
    for i in range(need - 1, need + 1500):
        window = unittest_1m.slice(slice(i + 1 - need, i + 1))
        assert higher_trend(window, M1, M15)[-1] == full[i], f"bar {i}"


def test_bad_timeframes_and_periods_are_refused() -> None:
    bars = _hours([1.0, 2.0])
    with pytest.raises(ValueError, match="whole multiple"):
        higher_trend(bars, M5, 7 * 60_000)
    with pytest.raises(ValueError, match="at least 2"):
        higher_trend(bars, M5, H1, period=1)
    assert len(higher_trend(BarSeries.empty(), M5, H1)) == 0
