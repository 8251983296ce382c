"""NR7 / NR-n: the narrow-range bar flag breakout strategies trigger on."""

from __future__ import annotations

import numpy as np

import tradeterm.indicators as ind
from tradeterm.indicators import talib_

NAN = np.nan
RANGES = np.array([5.0, 4.0, 3.0, 3.0, 6.0, 2.0, 7.0, 2.5, 2.0, 9.0])
# n = 3: narrowest of the last three ranges, a tie with an earlier bar still counts.
EXPECTED = np.array([NAN, NAN, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0])


def _bars(ranges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = np.linspace(100.0, 109.0, ranges.shape[0])
    return low + ranges, low


def test_flags_the_narrowest_bar_of_the_window_ties_included() -> None:
    high, low = _bars(RANGES)
    np.testing.assert_array_equal(ind.nr7(high, low, 3), EXPECTED)
    np.testing.assert_array_equal(talib_.nr7_reference(high, low, 3), EXPECTED)


def test_a_bar_with_unknown_range_blanks_every_window_it_is_in() -> None:
    high, low = _bars(RANGES)
    high[4] = NAN
    expected = EXPECTED.copy()
    expected[4:7] = NAN
    np.testing.assert_array_equal(ind.nr7(high, low, 3), expected)
    np.testing.assert_array_equal(talib_.nr7_reference(high, low, 3), expected)


def test_default_is_seven_bars() -> None:
    high, low = _bars(np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 3.5, 2.0]))
    np.testing.assert_array_equal(ind.nr7(high, low), [NAN] * 6 + [1.0, 0.0, 1.0])
