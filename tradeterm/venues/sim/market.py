"""The sim market: every feed of the venue played out on the clock, ticks handed to listeners.

One pump task sleeps on the injected clock until the next tick of any instrument, plays every
feed up to that time, and hands the ticks of the symbols someone cares about (subscriptions,
working orders) to each listener in time order (ties by symbol). Any caller may also catch the
market up to the present with `advance_to`, which is idempotent, so the data stream and the
accounts always see one price path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import Protocol

from tradeterm.aio import reap
from tradeterm.clock import Clock
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.venues.base import VenueHealth
from tradeterm.venues.sim.feeds import Feed
from tradeterm.venues.sim.tape import TickRun

log = logging.getLogger(__name__)


class TickListener(Protocol):
    """Something fed by the market: a data client or an account's matching engine."""

    def wanted_symbols(self) -> Collection[str]:
        """Symbols whose every tick this listener needs now."""
        ...

    def on_tick(self, tick: Tick) -> None:
        """One tick, in time order."""
        ...


_Part = tuple[str, TickRun]


def _tick_time(tick: Tick) -> int:
    return tick.ts_ms


class SimMarket:
    """All feeds of one sim venue on one clock. History before `start_ms` counts as played."""

    def __init__(
        self,
        venue: str,
        feeds: Mapping[str, Feed],
        clock: Clock,
        *,
        start_ms: int,
        health: VenueHealth,
    ) -> None:
        self.venue = venue
        self.start_ms = start_ms
        self._feeds = dict(sorted(feeds.items()))
        self._symbols = list(self._feeds)
        self._clock = clock
        self._health = health
        self._listeners: list[TickListener] = []
        self._users: set[int] = set()
        self._pump: asyncio.Task[None] | None = None
        self._played = 0
        for feed in self._feeds.values():
            feed.tape.play_until(start_ms - 1)

    # ---- catalogue -----------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def instrument(self, symbol: str) -> Instrument | None:
        feed = self._feeds.get(symbol)
        return feed.instrument if feed is not None else None

    def instruments(self) -> list[Instrument]:
        return [f.instrument for f in self._feeds.values()]

    def add_listener(self, listener: TickListener) -> None:
        self._listeners.append(listener)

    # ---- playing -------------------------------------------------------------------------
    def next_ts(self) -> int | None:
        """Venue-clock time of the next tick of any instrument (None when every feed ended)."""
        times = [t for f in self._feeds.values() if (t := f.tape.next_ts()) is not None]
        return min(times) if times else None

    def advance_to(self, ts_ms: int) -> int:
        """Play every feed up to `ts_ms` and deliver the wanted ticks; returns how many."""
        wanted: set[str] = set()
        for listener in self._listeners:
            wanted.update(listener.wanted_symbols())
        parts: list[_Part] = []
        for symbol, feed in self._feeds.items():
            run = feed.tape.play_until(ts_ms)
            if run is not None and symbol in wanted:
                parts.append((symbol, run))
        if not parts:
            return 0
        ticks = self._ticks(parts)
        for tick in ticks:
            for listener in self._listeners:
                listener.on_tick(tick)
        self._played += len(ticks)
        self._health.last_message_ms = self._clock.now_ms()
        self._health.extra["ticks"] = float(self._played)
        return len(ticks)

    def _ticks(self, parts: list[_Part]) -> list[Tick]:
        """Tick values in time order, ties broken by symbol (parts come in symbol order and the
        sort is stable, so each symbol also keeps its own order)."""
        venue = self.venue
        ticks: list[Tick] = []
        for symbol, run in parts:
            ticks.extend(run.ticks(venue, symbol))
        if len(parts) > 1:
            ticks.sort(key=_tick_time)
        return ticks

    def played_since(self, symbols: Collection[str], since_ms: int) -> list[Tick]:
        """Ticks of `symbols` already played and stamped at or after `since_ms`, in time order
        (what a subscription made at `since_ms` must still receive)."""
        parts: list[_Part] = []
        for symbol, feed in self._feeds.items():
            if symbol in symbols:
                run = feed.tape.played_since(since_ms)
                if run is not None:
                    parts.append((symbol, run))
        return self._ticks(parts) if parts else []

    def last_tick(self, symbol: str) -> Tick | None:
        """The latest played tick of `symbol`."""
        feed = self._feeds.get(symbol)
        last = feed.tape.last_played() if feed is not None else None
        if last is None:
            return None
        ts, price, bid, ask = last
        return Tick(self.venue, symbol, ts, price, bid, ask, 0.0)

    def bars(self, symbol: str, timeframe: str, end_ms: int, limit: int) -> list[Bar]:
        """Closed bars of `symbol` ending at or before `end_ms` (never after now), oldest first."""
        feed = self._feeds[symbol]
        end = min(end_ms, self._clock.now_ms())
        cols = feed.tape.bars(timeframe_ms(timeframe), end, max(0, limit))
        venue = self.venue
        return [
            Bar(venue, symbol, timeframe, t, o, h, lo, c, v, n)
            for t, o, h, lo, c, v, n in zip(
                cols.open_ms.tolist(),
                cols.open.tolist(),
                cols.high.tolist(),
                cols.low.tolist(),
                cols.close.tolist(),
                cols.volume.tolist(),
                cols.ticks.tolist(),
                strict=True,
            )
        ]

    # ---- the pump ------------------------------------------------------------------------
    async def attach(self, user: object) -> None:
        """A client connected: make sure the pump runs. Returns once the pump has caught up and
        waits on the clock for the next tick, so a SimClock advanced right after wakes it."""
        self._users.add(id(user))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(
                self._run(), name=f"sim-market:{self.venue}"
            )
            await asyncio.sleep(0)

    async def detach(self, user: object) -> None:
        """A client closed: stop the pump once nobody is connected."""
        self._users.discard(id(user))
        if not self._users:
            await self.stop()

    async def stop(self) -> None:
        self._users.clear()
        task, self._pump = self._pump, None
        if task is not None and not task.done():
            task.cancel()
            await reap(task, errors=False)

    async def _run(self) -> None:
        while True:
            nxt = self.next_ts()
            if nxt is None:
                return
            now = self._clock.now_ms()
            if nxt > now:
                await self._clock.sleep_until(nxt)
                now = max(nxt, self._clock.now_ms())
            try:
                self.advance_to(now)
            except Exception:  # a broken listener must not stop the market
                self._health.errors += 1
                log.exception("sim market %s: delivering ticks failed", self.venue)
                await asyncio.sleep(0)
