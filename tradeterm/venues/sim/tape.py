"""The tick tape of one sim instrument: every tick its feed has produced, what has been played
out so far, and the closed bars built from it.

History and the live stream read the same tape, so warm-up bars join the live ticks exactly:
a tick is either before the play cursor (history, already played) or after it (still to come).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TickChunk:
    """Consecutive ticks of one instrument: times (epoch ms on the venue clock), prices, sizes."""

    ts: I64
    price: F64
    size: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


ChunkSource = Callable[[], TickChunk | None]
"""Produces the next chunk of a feed, or None when the feed has ended (a replay without loop)."""


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Closed OHLCV bars as columns, oldest first; `ticks` counts the ticks in each bar."""

    open_ms: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    ticks: I64

    def __len__(self) -> int:
        return int(self.open_ms.shape[0])

    def tail(self, n: int) -> BarColumns:
        """The last `n` bars."""
        s = slice(max(0, len(self) - n), None)
        return BarColumns(
            self.open_ms[s],
            self.open[s],
            self.high[s],
            self.low[s],
            self.close[s],
            self.volume[s],
            self.ticks[s],
        )


def bucket_ticks(ts: I64, price: F64, size: F64, bar_ms: int) -> BarColumns:
    """Ticks in time order grouped into UTC-aligned bars of `bar_ms` (empty buckets are skipped)."""
    if ts.shape[0] == 0:
        return BarColumns(_EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_I)
    opens = ts - ts % bar_ms
    starts = np.concatenate(([0], np.flatnonzero(np.diff(opens)) + 1)).astype(np.int64)
    ends = np.append(starts[1:], ts.shape[0])
    return BarColumns(
        open_ms=opens[starts],
        open=price[starts],
        high=np.maximum.reduceat(price, starts),
        low=np.minimum.reduceat(price, starts),
        close=price[ends - 1],
        volume=np.add.reduceat(size, starts),
        ticks=(ends - starts).astype(np.int64),
    )


TickColumns = tuple[I64, F64, F64, F64, F64]
"""Played ticks as columns: ts, price, bid, ask, size."""

_EMPTY_RUN: TickColumns = (_EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F)
_TRIM_SLACK_MS = 3_600_000


class TickTape:
    """Ticks of one instrument, generated ahead on demand, with a play cursor.

    Bid and ask sit `half_spread` either side of the price (rounded to `decimals`); they are
    computed once per chunk, so playing a tick costs no numeric work. `coverage_ms` is the
    earliest time from which the tape holds every tick: bars that open before it would be
    incomplete and are never served. Played ticks older than `retain_ms` are dropped.
    """

    def __init__(
        self,
        source: ChunkSource,
        *,
        coverage_ms: int,
        retain_ms: int,
        half_spread: float,
        decimals: int,
    ) -> None:
        self._source = source
        self._coverage_ms = coverage_ms
        self._retain_ms = retain_ms
        self._half_spread = half_spread
        self._decimals = decimals
        self._cols: TickColumns = _EMPTY_RUN
        self._cursor = 0
        self._last_generated = -(2**62)
        self._next: int | None = None
        self._ended = False

    @property
    def coverage_ms(self) -> int:
        return self._coverage_ms

    def _extend(self) -> bool:
        """Append the next chunk; False when the feed has ended."""
        if self._ended:
            return False
        chunk = self._source()
        if chunk is None or len(chunk) == 0:
            self._ended = True
            return False
        bid = np.round(chunk.price - self._half_spread, self._decimals)
        ask = np.round(chunk.price + self._half_spread, self._decimals)
        new = (chunk.ts, chunk.price, bid, ask, chunk.size)
        ts, price, bids, asks, size = (
            np.concatenate((old, add)) for old, add in zip(self._cols, new, strict=True)
        )
        self._cols = (ts, price, bids, asks, size)
        self._last_generated = int(chunk.ts[-1])
        return True

    def _generate_past(self, ts_ms: int) -> None:
        """Make sure every tick at or before `ts_ms` (and one after it) has been generated."""
        while self._last_generated <= ts_ms and self._extend():
            pass

    def next_ts(self) -> int | None:
        """Time of the next tick still to be played, None if the feed has ended."""
        if self._next is None:
            while self._cursor >= self._cols[0].shape[0]:
                if not self._extend():
                    return None
            self._next = int(self._cols[0][self._cursor])
        return self._next

    def play_until(self, ts_ms: int) -> TickColumns:
        """Play every tick up to and including `ts_ms` and return them."""
        nxt = self.next_ts()
        if nxt is None or nxt > ts_ms:
            return _EMPTY_RUN
        self._generate_past(ts_ms)
        start = self._cursor
        stop = int(np.searchsorted(self._cols[0], ts_ms, side="right"))
        self._cursor = stop
        self._next = None
        played = self._slice(start, stop)
        if ts_ms - int(self._cols[0][0]) > self._retain_ms + _TRIM_SLACK_MS:
            self._trim(ts_ms)
        return played

    def _slice(self, start: int, stop: int) -> TickColumns:
        ts, price, bid, ask, size = self._cols
        return ts[start:stop], price[start:stop], bid[start:stop], ask[start:stop], size[start:stop]

    def played_since(self, ts_ms: int) -> TickColumns:
        """Played ticks stamped at or after `ts_ms`."""
        lo = int(np.searchsorted(self._cols[0][: self._cursor], ts_ms, side="left"))
        return self._slice(lo, self._cursor)

    def last_played(self) -> tuple[int, float, float, float] | None:
        """(ts, price, bid, ask) of the latest played tick."""
        if self._cursor == 0:
            return None
        i = self._cursor - 1
        ts, price, bid, ask, _ = self._cols
        return int(ts[i]), float(price[i]), float(bid[i]), float(ask[i])

    def _trim(self, now_ms: int) -> None:
        """Forget played ticks older than the retention window."""
        drop = int(np.searchsorted(self._cols[0], now_ms - self._retain_ms, side="left"))
        drop = min(drop, self._cursor)
        if drop <= 0:
            return
        first_kept = int(self._cols[0][drop]) if drop < self._cols[0].shape[0] else now_ms
        self._coverage_ms = max(self._coverage_ms, first_kept)
        ts, price, bid, ask, size = self._cols
        self._cols = (
            ts[drop:].copy(),
            price[drop:].copy(),
            bid[drop:].copy(),
            ask[drop:].copy(),
            size[drop:].copy(),
        )
        self._cursor -= drop

    def bars(self, bar_ms: int, end_ms: int, limit: int) -> BarColumns:
        """The last `limit` complete bars that closed at or before `end_ms`."""
        cut = end_ms - end_ms % bar_ms
        self._generate_past(cut)
        ts, price, _, _, size = self._cols
        lo = int(np.searchsorted(ts, self._coverage_ms, side="left"))
        hi = int(np.searchsorted(ts, cut, side="left"))
        cols = bucket_ticks(ts[lo:hi], price[lo:hi], size[lo:hi], bar_ms)
        complete = cols.open_ms >= self._coverage_ms
        if not bool(complete.all()):
            first = int(np.argmax(complete)) if bool(complete.any()) else len(cols)
            cols = cols.tail(len(cols) - first)
        return cols.tail(limit)
