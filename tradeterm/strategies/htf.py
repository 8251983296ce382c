"""Higher-timeframe confirmation: trade a 5m signal only when the 1h trend agrees.

The higher bars are rebuilt from the lower bars themselves, and only CLOSED higher bars count:
a higher bucket is closed at lower bar i when bar i is its last lower bar by time
(`open_ms + lower_ms == bucket end`) or when a bar of a later bucket has arrived (the bucket ended
with a gap). The close of a higher bar is the close of its last lower bar.

The higher trend at lower bar i compares the latest closed higher close with the simple average of
the last `period` closed higher closes: above -> +1 (up), below -> -1 (down), otherwise (or before
`period` higher bars have closed) 0, which lets no signal through. An SMA has finite memory and is
summed in a fixed order, so a rolling window of `htf_lookback` lower bars gives bit-identical
values to the full history: the live runner and the vector backtest agree exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradeterm.domain.series import BarSeries
from tradeterm.strategies.base import SignalFrame

I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

DEFAULT_CONFIRM_PERIOD = 20
"""Closed higher bars in the confirmation SMA (20 hours for a 1h confirm timeframe)."""


def htf_lookback(lower_ms: int, higher_ms: int, period: int = DEFAULT_CONFIRM_PERIOD) -> int:
    """Lower bars a live window needs so the higher trend at its last bar is exact: (period + 2)
    higher bars' worth (one spare for a partly covered first bucket, one for the forming one)."""
    _check_period(period)
    return (period + 2) * _ratio(lower_ms, higher_ms)


def _check_period(period: int) -> None:
    if period < 2:
        raise ValueError(f"confirmation period must be at least 2 higher bars, got {period}")


def _ratio(lower_ms: int, higher_ms: int) -> int:
    if lower_ms <= 0 or higher_ms <= lower_ms or higher_ms % lower_ms:
        raise ValueError(
            f"confirm timeframe ({higher_ms} ms) must be a whole multiple above the bar "
            f"timeframe ({lower_ms} ms)"
        )
    return higher_ms // lower_ms


def closed_higher_bars(
    open_ms: I64, close: F64, lower_ms: int, higher_ms: int
) -> tuple[F64, npt.NDArray[np.intp]]:
    """The higher bars built from lower bars, in time order: (close of each higher bar, index of
    the lower bar at which it is known to be closed; len(open_ms) when not closed yet)."""
    _ratio(lower_ms, higher_ms)
    n = open_ms.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.intp)
    bucket = open_ms // higher_ms
    last = np.flatnonzero(np.append(bucket[1:] != bucket[:-1], True))
    complete = open_ms[last] + lower_ms >= (bucket[last] + 1) * higher_ms
    closed_at = np.where(complete, last, last + 1).astype(np.intp)
    return close[last], closed_at


def higher_trend(
    bars: BarSeries, lower_ms: int, higher_ms: int, period: int = DEFAULT_CONFIRM_PERIOD
) -> I8:
    """The higher-timeframe trend seen at each lower bar (+1 up, -1 down, 0 unknown/flat), from
    closed higher bars only: bars after i never change the value at i."""
    _check_period(period)
    n = len(bars)
    trend = np.zeros(n, dtype=np.int8)
    closes, closed_at = closed_higher_bars(bars.open_ms, bars.close, lower_ms, higher_ms)
    m = closes.shape[0]
    if m < period:
        return trend
    # SMA of each run of `period` closes, summed left to right (the same order in any window)
    total = closes[: m - period + 1].copy()
    for j in range(1, period):
        total += closes[j : m - period + 1 + j]
    state = np.sign(closes[period - 1 :] - total / period).astype(np.int8)
    # how many higher bars are closed at each lower bar
    n_closed = np.searchsorted(closed_at, np.arange(n), side="right")
    ready = n_closed >= period
    trend[ready] = state[n_closed[ready] - period]
    return trend


def confirm(frame: SignalFrame, trend: I8) -> SignalFrame:
    """Keep only the signals whose side agrees with the higher-timeframe trend."""
    return frame.keep(frame.side == trend)
