"""Clocks. Nothing in tradeterm calls time.time(): a Clock is injected everywhere.

Times are integer epoch milliseconds UTC (`ts_ms`), the unit of the venues and the candle files.
`LiveClock` reads the system clock; `SimClock` moves only when told to (backtests, tests), and its
`sleep` wakes in timestamp order as the clock is advanced.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


def ms_to_datetime(ts_ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts_ms / 1000.0, tz=UTC)


def datetime_to_ms(when: datetime) -> int:
    """Aware datetime to epoch milliseconds (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def format_ms(ts_ms: int, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Format epoch milliseconds as UTC text."""
    return ms_to_datetime(ts_ms).strftime(fmt)


@runtime_checkable
class Clock(Protocol):
    """What every engine needs to know about time."""

    def now_ms(self) -> int:
        """Current time, epoch milliseconds UTC."""
        ...

    def now(self) -> datetime:
        """Current time as an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards (latency measurement)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...

    async def sleep_until(self, ts_ms: int) -> None:
        """Wait until this clock reads at least `ts_ms`."""
        ...


class LiveClock:
    """The wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now(self) -> datetime:
        return ms_to_datetime(self.now_ms())

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, ts_ms: int) -> None:
        delay = (ts_ms - self.now_ms()) / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)


class SimClock:
    """A clock that moves only when advanced. Sleepers wake in timestamp order.

    `advance_to(ts)` sets the time step by step through every pending wake-up, yielding to the
    event loop at each so that woken tasks run before later ones are woken.
    """

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    def now(self) -> datetime:
        return ms_to_datetime(self._now_ms)

    def monotonic(self) -> float:
        return self._now_ms / 1000.0

    def set_time(self, ts_ms: int) -> None:
        """Jump forward without waking sleepers (use `advance_to` to wake them)."""
        if ts_ms < self._now_ms:
            raise ValueError(f"SimClock cannot go backwards: {ts_ms} < {self._now_ms}")
        self._now_ms = ts_ms

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now_ms + round(seconds * 1000))

    async def sleep_until(self, ts_ms: int) -> None:
        if ts_ms <= self._now_ms:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (ts_ms, next(self._seq), fut))
        await fut

    @property
    def next_wakeup_ms(self) -> int | None:
        """The earliest pending wake-up, if any sleeper is waiting."""
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        return self._waiters[0][0] if self._waiters else None

    async def advance_to(self, ts_ms: int, *, settle: int = 3) -> None:
        """Move time to `ts_ms`, waking each sleeper at its own time, in order."""
        while True:
            nxt = self.next_wakeup_ms
            if nxt is None or nxt > ts_ms:
                break
            self._now_ms = max(self._now_ms, nxt)
            while self._waiters and self._waiters[0][0] <= self._now_ms:
                _, _, fut = heapq.heappop(self._waiters)
                if not fut.done():
                    fut.set_result(None)
            for _ in range(settle):
                await asyncio.sleep(0)
        self._now_ms = max(self._now_ms, ts_ms)
        for _ in range(settle):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking sleepers on the way."""
        await self.advance_to(self._now_ms + round(seconds * 1000))
