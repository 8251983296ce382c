"""The tick tape of one sim instrument: every tick its feed has produced, what has been played
out so far, and the closed bars built from it.

History and the live stream read the same tape, so warm-up bars join the live ticks exactly:
a tick is either before the play cursor (history, already played) or after it (still to come).

The tape keeps two numbers a tick, its time and its price (16 bytes). Bid and ask follow from
the price by the venue's quote rule and are worked out only when ticks are played or served;
sizes take a column only when they differ from tick to tick (a replayed file), otherwise one
number stands for all of them (synthetic indices count every tick as size 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tradeterm.domain.market import Tick

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

Sizes = F64 | float
"""Tick sizes: one per tick, or one number when every tick has the same size."""

_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TickChunk:
    """Consecutive ticks of one instrument: times (epoch ms on the venue clock), prices, sizes.
    The tape keeps the sizes as one number when they are all equal."""

    ts: I64
    price: F64
    size: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


ChunkSource = Callable[[], TickChunk | None]
"""Produces the next chunk of a feed, or None when the feed has ended (a replay without loop)."""


def quote_bid(price: float, half_spread: float, scale: float) -> float:
    """The sim venue's bid of a price: `half_spread` below, rounded to the pip (1 / scale) with
    round half to even (numba-compatible: the vector backtester quotes with it)."""
    return round((price - half_spread) * scale) / scale


def quote_ask(price: float, half_spread: float, scale: float) -> float:
    """The sim venue's ask of a price: `half_spread` above, rounded to the pip."""
    return round((price + half_spread) * scale) / scale


@dataclass(frozen=True, slots=True)
class QuoteRule:
    """Where the sim venue quotes around its price: bid and ask `half_spread` either side,
    rounded to `decimals` (the pip) exactly as `np.round(price -/+ half_spread, decimals)`."""

    half_spread: float
    decimals: int
    scale: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", float(10**self.decimals))

    def bid(self, price: float) -> float:
        """The bid of one price (numpy's rounding: round half to even at the pip)."""
        return quote_bid(price, self.half_spread, self.scale)

    def ask(self, price: float) -> float:
        """The ask of one price."""
        return quote_ask(price, self.half_spread, self.scale)


class TickRun(NamedTuple):
    """Consecutive played ticks of one instrument (views into its tape): times, prices, sizes,
    and the quote rule that gives their bid and ask. A named tuple, not a dataclass: one is made
    for every instrument that ticks, on every step of the market."""

    ts: I64
    price: F64
    size: Sizes
    quote: QuoteRule

    def ticks(self, venue: str, symbol: str) -> list[Tick]:
        """The run as Tick values, in order (bid and ask by the quote rule: `quote_bid` and
        `quote_ask` inlined, as this is the hot path; tests hold them equal)."""
        hs, k = self.quote.half_spread, self.quote.scale
        times, prices = self.ts.tolist(), self.price.tolist()
        sizes = (
            self.size.tolist()
            if isinstance(self.size, np.ndarray)
            else repeat(self.size, len(times))
        )
        return [
            Tick(venue, symbol, t, p, round((p - hs) * k) / k, round((p + hs) * k) / k, z)
            for t, p, z in zip(times, prices, sizes, strict=True)
        ]


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


def bucket_ticks(ts: I64, price: F64, size: Sizes, bar_ms: int) -> BarColumns:
    """Ticks in time order grouped into UTC-aligned bars of `bar_ms` (empty buckets are skipped).
    With one size for every tick, a bar's volume is its tick count times that size."""
    if ts.shape[0] == 0:
        return BarColumns(_EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_I)
    opens = ts - ts % bar_ms
    starts = np.concatenate(([0], np.flatnonzero(np.diff(opens)) + 1)).astype(np.int64)
    ends = np.append(starts[1:], ts.shape[0])
    counts = (ends - starts).astype(np.int64)
    per_bar = np.add.reduceat(size, starts) if isinstance(size, np.ndarray) else counts * size
    volume = np.asarray(per_bar, dtype=np.float64)
    return BarColumns(
        open_ms=opens[starts],
        open=price[starts],
        high=np.maximum.reduceat(price, starts),
        low=np.minimum.reduceat(price, starts),
        close=price[ends - 1],
        volume=volume,
        ticks=counts,
    )


def uniform_size(size: Sizes) -> Sizes:
    """One number for sizes that are all equal, else the column as given."""
    if isinstance(size, np.ndarray):
        if size.shape[0] and bool((size == size[0]).all()):
            return float(size[0])
        return size
    return float(size)


def join_sizes(runs: Sequence[tuple[Sizes, int]]) -> Sizes:
    """The sizes of consecutive runs of ticks, each given as (sizes, count): one number while
    every tick shares it, else one column."""
    kept = [(uniform_size(size), n) for size, n in runs if n]
    if not kept:
        return 1.0
    shared = kept[0][0]
    if not isinstance(shared, np.ndarray) and all(size == shared for size, _ in kept):
        return shared
    return np.concatenate([_column(size, n) for size, n in kept])


def _column(size: Sizes, n: int) -> F64:
    return size if isinstance(size, np.ndarray) else np.full(n, size, dtype=np.float64)


def _cut(size: Sizes, start: int, stop: int) -> Sizes:
    return size[start:stop] if isinstance(size, np.ndarray) else size


_TRIM_SLACK_MS = 3_600_000


class TickTape:
    """Ticks of one instrument, generated ahead on demand, with a play cursor.

    Each tick costs the tape its time and price; bid and ask come from `quote` when ticks are
    played or served. `coverage_ms` is the earliest time from which the tape holds every tick:
    bars that open before it would be incomplete and are never served. Played ticks older than
    `retain_ms` are dropped.
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
        self.quote = QuoteRule(half_spread, decimals)
        self._ts: I64 = _EMPTY_I
        self._price: F64 = _EMPTY_F
        self._size: Sizes = 1.0
        self._cursor = 0
        self._last_generated = -(2**62)
        self._next: int | None = None
        self._ended = False

    @property
    def coverage_ms(self) -> int:
        return self._coverage_ms

    def __len__(self) -> int:
        """Ticks held: the retained history, plus those generated but not yet played."""
        return int(self._ts.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the tape's tick columns."""
        size = self._size.nbytes if isinstance(self._size, np.ndarray) else 0
        return int(self._ts.nbytes + self._price.nbytes + size)

    def _extend(self, until_ms: int) -> bool:
        """Pull chunks until one holds a tick after `until_ms` (or the feed ends) and append them
        in one copy, so a long history costs one allocation, not one a chunk. False when
        nothing was added (the feed has ended)."""
        chunks: list[TickChunk] = []
        last = self._last_generated
        while last <= until_ms and not self._ended:
            chunk = self._source()
            if chunk is None or len(chunk) == 0:
                self._ended = True
            else:
                chunks.append(chunk)
                last = int(chunk.ts[-1])
        if not chunks:
            return False
        self._size = join_sizes([(self._size, len(self)), *((c.size, len(c)) for c in chunks)])
        self._ts = np.concatenate([self._ts, *(c.ts for c in chunks)])
        self._price = np.concatenate([self._price, *(c.price for c in chunks)])
        self._last_generated = last
        return True

    def _generate_past(self, ts_ms: int) -> None:
        """Make sure every tick at or before `ts_ms` (and one after it) has been generated."""
        if self._last_generated <= ts_ms:
            self._extend(ts_ms)

    def next_ts(self) -> int | None:
        """Time of the next tick still to be played, None if the feed has ended."""
        if self._next is None:
            while self._cursor >= self._ts.shape[0]:
                if not self._extend(self._last_generated):
                    return None
            self._next = int(self._ts[self._cursor])
        return self._next

    def play_until(self, ts_ms: int) -> TickRun | None:
        """Play every tick up to and including `ts_ms` and return them (None if there are none)."""
        nxt = self.next_ts()
        if nxt is None or nxt > ts_ms:
            return None
        self._generate_past(ts_ms)
        start, stop = self._cursor, self._end_of(ts_ms)
        self._cursor = stop
        self._next = None
        played = self._run(start, stop)
        if ts_ms - int(self._ts[0]) > self._retain_ms + _TRIM_SLACK_MS:
            self._trim(ts_ms)
        return played

    def _end_of(self, ts_ms: int) -> int:
        """Index just past the last tick at or before `ts_ms`, from the cursor on."""
        ts, after = self._ts, self._cursor + 1
        if after < ts.shape[0] and ts[after] > ts_ms:  # the usual step plays one tick
            return after
        return int(ts.searchsorted(ts_ms, side="right"))

    def _run(self, start: int, stop: int) -> TickRun:
        return TickRun(
            self._ts[start:stop], self._price[start:stop], _cut(self._size, start, stop), self.quote
        )

    def played_since(self, ts_ms: int) -> TickRun | None:
        """Played ticks stamped at or after `ts_ms` (None if there are none)."""
        lo = int(self._ts[: self._cursor].searchsorted(ts_ms, side="left"))
        return self._run(lo, self._cursor) if lo < self._cursor else None

    def last_played(self) -> tuple[int, float, float, float] | None:
        """(ts, price, bid, ask) of the latest played tick."""
        if self._cursor == 0:
            return None
        i = self._cursor - 1
        price = float(self._price[i])
        return int(self._ts[i]), price, self.quote.bid(price), self.quote.ask(price)

    def _trim(self, now_ms: int) -> None:
        """Forget played ticks older than the retention window."""
        drop = int(np.searchsorted(self._ts, now_ms - self._retain_ms, side="left"))
        drop = min(drop, self._cursor)
        if drop <= 0:
            return
        first_kept = int(self._ts[drop]) if drop < self._ts.shape[0] else now_ms
        self._coverage_ms = max(self._coverage_ms, first_kept)
        self._ts = self._ts[drop:].copy()
        self._price = self._price[drop:].copy()
        if isinstance(self._size, np.ndarray):
            self._size = self._size[drop:].copy()
        self._cursor -= drop

    def bars(self, bar_ms: int, end_ms: int, limit: int) -> BarColumns:
        """The last `limit` complete bars that closed at or before `end_ms`."""
        cut = end_ms - end_ms % bar_ms
        self._generate_past(cut)
        ts = self._ts
        lo = int(np.searchsorted(ts, self._coverage_ms, side="left"))
        hi = int(np.searchsorted(ts, cut, side="left"))
        cols = bucket_ticks(ts[lo:hi], self._price[lo:hi], _cut(self._size, lo, hi), bar_ms)
        complete = cols.open_ms >= self._coverage_ms
        if not bool(complete.all()):
            first = int(np.argmax(complete)) if bool(complete.any()) else len(cols)
            cols = cols.tail(len(cols) - first)
        return cols.tail(limit)
