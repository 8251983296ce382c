"""Live candle windows: the last N closed bars of each symbol and timeframe, in memory.

A `CandleWindow` is a fixed-capacity ring buffer over preallocated numpy columns, so appending a
closed bar costs six array stores and no allocation. Strategies read it as a `BarSeries` (a
time-ordered, contiguous copy), the same shape the backtester feeds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tradeterm.domain.market import Bar
from tradeterm.domain.series import F64, I64, BarSeries


def _ordered(column: np.ndarray, start: int, count: int, n: int) -> np.ndarray:  # type: ignore[type-arg]
    """The last `n` of `count` values stored in ring order from `start`, as a contiguous copy."""
    capacity = column.shape[0]
    first = (start + count - n) % capacity
    stop = first + n
    if stop <= capacity:
        return column[first:stop].copy()
    return np.concatenate((column[first:], column[: stop - capacity]))


class CandleWindow:
    """The most recent closed bars of one symbol and timeframe (oldest dropped when full)."""

    def __init__(self, capacity: int, *, key: str = "", timeframe: str = "") -> None:
        if capacity < 1:
            raise ValueError(f"a candle window needs a capacity of at least 1, got {capacity}")
        self.key = key
        self.timeframe = timeframe
        self._capacity = capacity
        self._open_ms: I64 = np.zeros(capacity, dtype=np.int64)
        self._open: F64 = np.zeros(capacity, dtype=np.float64)
        self._high: F64 = np.zeros(capacity, dtype=np.float64)
        self._low: F64 = np.zeros(capacity, dtype=np.float64)
        self._close: F64 = np.zeros(capacity, dtype=np.float64)
        self._volume: F64 = np.zeros(capacity, dtype=np.float64)
        self._start = 0
        self._count = 0
        self._last_open_ms: int | None = None

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def last_open_ms(self) -> int | None:
        """Open time of the newest bar held, or None while empty."""
        return self._last_open_ms

    def __len__(self) -> int:
        return self._count

    def append(self, bar: Bar) -> bool:
        """Add a closed bar. A bar that does not open after the newest one held is ignored
        (returns False): windows only move forward."""
        if self._last_open_ms is not None and bar.open_ms <= self._last_open_ms:
            return False
        i = (self._start + self._count) % self._capacity
        self._open_ms[i] = bar.open_ms
        self._open[i] = bar.open
        self._high[i] = bar.high
        self._low[i] = bar.low
        self._close[i] = bar.close
        self._volume[i] = bar.volume
        if self._count < self._capacity:
            self._count += 1
        else:
            self._start = (self._start + 1) % self._capacity
        self._last_open_ms = bar.open_ms
        return True

    def extend(self, series: BarSeries) -> int:
        """Add the bars of a time-ordered series that open after the newest one held.
        Returns how many were added (only the last `capacity` of them are kept)."""
        if len(series) > 1 and not bool(np.all(np.diff(series.open_ms) > 0)):
            raise ValueError("CandleWindow.extend needs bars in strictly increasing time order")
        start_row = 0
        if self._last_open_ms is not None:
            start_row = int(np.searchsorted(series.open_ms, self._last_open_ms, side="right"))
        added = len(series) - start_row
        if added <= 0:
            return 0
        keep = min(added, self._capacity)
        rows = slice(len(series) - keep, len(series))
        sources = (series.open_ms, series.open, series.high, series.low, series.close)
        targets = (self._open_ms, self._open, self._high, self._low, self._close)
        for src, dst in (*zip(sources, targets, strict=True), (series.volume, self._volume)):
            self._write(dst, src[rows])
        overflow = max(0, self._count + keep - self._capacity)
        self._start = (self._start + overflow) % self._capacity
        self._count = min(self._count + keep, self._capacity)
        self._last_open_ms = int(series.open_ms[-1])
        return added

    def _write(self, dst: np.ndarray, values: np.ndarray) -> None:  # type: ignore[type-arg]
        """Copy `values` into the ring right after the newest bar (wrapping)."""
        i = (self._start + self._count) % self._capacity
        n = values.shape[0]
        head = min(n, self._capacity - i)
        dst[i : i + head] = values[:head]
        if head < n:
            dst[: n - head] = values[head:]

    def series(self, n: int | None = None) -> BarSeries:
        """The last `n` bars (all when None) as a time-ordered copy with contiguous columns."""
        count = self._count if n is None else max(0, min(n, self._count))
        args = (self._start, self._count, count)
        return BarSeries(
            _ordered(self._open_ms, *args),
            _ordered(self._open, *args),
            _ordered(self._high, *args),
            _ordered(self._low, *args),
            _ordered(self._close, *args),
            _ordered(self._volume, *args),
        )


class CandleWindows:
    """Every live window, keyed by (`venue:symbol`, timeframe); created on first use."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a candle window needs a capacity of at least 1, got {capacity}")
        self._capacity = capacity
        self._windows: dict[tuple[str, str], CandleWindow] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def get(self, key: str, timeframe: str) -> CandleWindow:
        """The window of `key` (`venue:symbol`) on `timeframe`, created empty if new."""
        window = self._windows.get((key, timeframe))
        if window is None:
            window = CandleWindow(self._capacity, key=key, timeframe=timeframe)
            self._windows[(key, timeframe)] = window
        return window

    def find(self, key: str, timeframe: str) -> CandleWindow | None:
        """The window if it exists (never creates one)."""
        return self._windows.get((key, timeframe))

    def append(self, bar: Bar) -> bool:
        """Add a closed bar to its own window (see `CandleWindow.append`)."""
        return self.get(bar.key, bar.timeframe).append(bar)

    def keys(self) -> list[tuple[str, str]]:
        return list(self._windows)

    def __contains__(self, item: object) -> bool:
        return item in self._windows

    def __len__(self) -> int:
        return len(self._windows)

    def __iter__(self) -> Iterator[CandleWindow]:
        return iter(list(self._windows.values()))
