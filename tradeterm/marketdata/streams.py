"""The stream manager: venue tick streams in, ticks and closed bars out on the bus.

For each venue it keeps one task that connects the venue's `DataClient`, (re)subscribes, reads
its ticks and reconnects with exponential backoff when the stream drops. On the way to the bus
it drops bad frames, duplicate ticks (same symbol, time and price) and ticks older than the last
accepted one for their symbol, then publishes:

- `"tick"`: every accepted Tick;
- `"bar"`: every Bar the builder closes, after it has been added to its live window (so a
  subscriber that reads `windows` on a bar sees that bar);
- `"venue.health"`: a `VenueHealth` snapshot whenever connection state changes, when the feed
  goes stale or wakes, and every few seconds.

A timer closes the bars of quiet symbols (`BarBuilder.flush`), watches for stale feeds and hands
closed bars to the candle store in batches on a worker thread, away from the tick path. After a
reconnect, bars missed while disconnected are fetched from the venue's history into the live
windows and the store (not re-published: they are old news to a strategy).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections.abc import Sequence

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import MarketDataConfig
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import (
    PermanentVenueError,
    TemporaryVenueError,
    VenueError,
)
from tradeterm.marketdata.bars import BarBuilder
from tradeterm.marketdata.candles import CandleWindows
from tradeterm.marketdata.store import CandleStore
from tradeterm.venues.base import DataClient, VenueHealth

log = logging.getLogger(__name__)

TOPIC_TICK = "tick"
TOPIC_BAR = "bar"
TOPIC_HEALTH = "venue.health"

_MAX_PENDING_BARS = 200_000
"""Bars held for the store while it refuses writes; older ones are dropped beyond this."""


class _SymbolFeed:
    """Last accepted tick time of one symbol and the prices already seen at that time."""

    __slots__ = ("last_ts", "prices")

    def __init__(self) -> None:
        self.last_ts = -1
        self.prices: list[float] = []


class _VenueFeed:
    """Everything the manager tracks about one venue's stream."""

    def __init__(self, client: DataClient) -> None:
        self.client = client
        self.health = VenueHealth(venue=client.name)
        self.symbols: set[str] = set()
        self.feeds: dict[str, _SymbolFeed] = {}
        self.task: asyncio.Task[None] | None = None
        self.ever_connected = False
        self.got_message = False
        self.stale = False
        self.ticks = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.bars = 0
        self.backfilled = 0


def _bar_columns(bars: Sequence[Bar]) -> BarSeries:
    return BarSeries.from_columns(
        [b.open_ms for b in bars],
        [b.open for b in bars],
        [b.high for b in bars],
        [b.low for b in bars],
        [b.close for b in bars],
        [b.volume for b in bars],
    )


class StreamManager:
    """Connects every venue's market data to the bus, the live candle windows and the store."""

    def __init__(
        self,
        bus: Bus,
        clock: Clock,
        config: MarketDataConfig,
        *,
        store: CandleStore | None = None,
        flush_interval_s: float = 0.25,
        close_grace_ms: int = 250,
        health_interval_s: float = 5.0,
        initial_backoff_s: float = 1.0,
        store_batch_bars: int = 500,
        store_interval_s: float = 60.0,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._config = config
        self._store = store
        self._store_writes = store is not None and config.store_candles
        self._store_timeframes = frozenset(config.store_timeframes)
        self._store_lock = asyncio.Lock()
        self._flush_interval_s = flush_interval_s
        self._close_grace_ms = close_grace_ms
        self._health_interval_ms = int(health_interval_s * 1000)
        self._initial_backoff_s = min(initial_backoff_s, config.reconnect_max_backoff_s)
        self._store_batch_bars = store_batch_bars
        self._store_interval_ms = int(store_interval_s * 1000)
        self._stale_after_ms = int(config.stale_after_s * 1000)
        self.windows = CandleWindows(max(config.window_bars, config.warmup_bars))
        self.builder = BarBuilder(config.timeframes, fill_gaps=config.fill_gaps)
        self._feeds: dict[str, _VenueFeed] = {}
        self._pending: list[Bar] = []
        self._store_task: asyncio.Task[None] | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._stopped: asyncio.Event | None = None
        self._running = False
        self.store_errors = 0
        self.store_dropped_bars = 0

    # ---- setup ---------------------------------------------------------------------------
    def add_client(self, client: DataClient) -> None:
        """Attach a venue's data client (one per venue name); started at once if running."""
        if client.name in self._feeds:
            raise ValueError(f"a data client for venue '{client.name}' is already attached")
        feed = _VenueFeed(client)
        self._feeds[client.name] = feed
        if self._running:
            self._start_feed(feed)

    def venues(self) -> list[str]:
        return list(self._feeds)

    def _feed(self, venue: str) -> _VenueFeed:
        try:
            return self._feeds[venue]
        except KeyError:
            raise ValueError(f"no data client attached for venue '{venue}'") from None

    async def subscribe(self, venue: str, symbols: Sequence[str]) -> None:
        """Stream `symbols` from `venue` now (if connected) and after every reconnect."""
        feed = self._feed(venue)
        new = [s for s in symbols if s not in feed.symbols]
        feed.symbols.update(new)
        if new and feed.health.connected:
            await feed.client.subscribe(new)

    async def unsubscribe(self, venue: str, symbols: Sequence[str]) -> None:
        """Stop streaming `symbols` from `venue`."""
        feed = self._feed(venue)
        gone = [s for s in symbols if s in feed.symbols]
        feed.symbols.difference_update(gone)
        if gone and feed.health.connected:
            await feed.client.unsubscribe(gone)

    def subscribed(self, venue: str) -> list[str]:
        return sorted(self._feed(venue).symbols)

    async def warm_up(
        self, venue: str, symbol: str, timeframes: Sequence[str]
    ) -> dict[str, BarSeries]:
        """Fill the live windows with the venue's recent closed bars (`warmup_bars` each).

        Timeframes the venue has no history for are read from the candle store, if any.
        Returns what each window now holds.
        """
        feed = self._feed(venue)
        key = f"{venue}:{symbol}"
        out: dict[str, BarSeries] = {}
        now = self._clock.now_ms()
        for tf in timeframes:
            need = self._config.warmup_bars
            window = self.windows.get(key, tf)
            if tf in feed.client.capabilities.history_timeframes:
                bars = await self._history(feed.client, symbol, tf, now, need)
                window.extend(_bar_columns(bars))
            elif self._store is not None:
                closed_by = now - timeframe_ms(tf) + 1
                stored = await asyncio.to_thread(
                    self._store.read, venue, symbol, tf, end_ms=closed_by
                )
                window.extend(stored.tail(need))
            out[tf] = window.series(need)
        return out

    async def _history(
        self, client: DataClient, symbol: str, timeframe: str, now_ms: int, need: int
    ) -> list[Bar]:
        """Up to `need` bars closed by `now_ms`, oldest first, paging back past the venue's
        per-request limit."""
        page = max(1, client.capabilities.max_history_bars)
        bars: list[Bar] = []
        end = now_ms
        while len(bars) < need:
            chunk = await client.history(
                symbol, timeframe, end_ms=end, limit=min(page, need - len(bars))
            )
            oldest = bars[0].open_ms if bars else math.inf
            fresh = {b.open_ms: b for b in chunk if b.open_ms < oldest and b.close_ms <= now_ms}
            if not fresh:
                break
            chunk = [fresh[ts] for ts in sorted(fresh)]
            bars = chunk + bars
            end = chunk[0].open_ms - 1
        return bars[-need:] if need else []

    # ---- lifecycle -------------------------------------------------------------------------
    async def run(self) -> None:
        """Stream every attached venue until `stop()` (one task per venue plus the timer)."""
        if self._running:
            raise RuntimeError("StreamManager is already running")
        self._running = True
        self._stopped = asyncio.Event()
        for feed in self._feeds.values():
            self._start_feed(feed)
        self._timer_task = asyncio.create_task(self._timer(), name="marketdata:timer")
        try:
            await self._stopped.wait()
        finally:
            if self._running:
                await self._shutdown()

    async def stop(self) -> None:
        """Stop streaming, close the clients and write the bars still waiting for the store.
        Forming bars are left unpublished: they never closed."""
        if self._running:
            await self._shutdown()
        else:
            await self.flush_store()
        if self._stopped is not None:
            self._stopped.set()

    async def _shutdown(self) -> None:
        self._running = False
        tasks = [f.task for f in self._feeds.values() if f.task is not None]
        if self._timer_task is not None:
            tasks.append(self._timer_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for feed in self._feeds.values():
            feed.task = None
            if feed.health.connected:
                await self._close_client(feed)
                feed.health.connected = False
                feed.health.detail = "stopped"
                await self._publish_health(feed)
        self._timer_task = None
        await self.flush_store()

    def _start_feed(self, feed: _VenueFeed) -> None:
        name = f"marketdata:{feed.client.name}"
        feed.task = asyncio.create_task(self._run_venue(feed), name=name)

    # ---- one venue -------------------------------------------------------------------------
    async def _run_venue(self, feed: _VenueFeed) -> None:
        backoff = self._initial_backoff_s
        while True:
            try:
                await self._connect(feed)
                async for tick in feed.client.ticks():
                    await self._on_tick(feed, tick)
                reason = "stream ended"
            except PermanentVenueError as exc:
                await self._halt(feed, str(exc))
                return
            except TemporaryVenueError as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:  # a client bug must not end the feed: log it and reconnect
                log.exception("market data from %s failed", feed.client.name)
                reason = f"{type(exc).__name__}: {exc}"
            if feed.got_message:
                backoff = self._initial_backoff_s
            await self._disconnected(feed, reason)
            if not self._running:
                return  # stopping: a cancel swallowed inside a client must not bring us back
            await self._clock.sleep(backoff)
            backoff = min(backoff * 2, self._config.reconnect_max_backoff_s)

    async def _connect(self, feed: _VenueFeed) -> None:
        await feed.client.connect()
        if feed.symbols:
            await feed.client.subscribe(sorted(feed.symbols))
        health = feed.health
        if feed.ever_connected:
            health.reconnects += 1
        health.connected = True
        health.detail = ""
        health.last_message_ms = self._clock.now_ms()
        feed.stale = False
        feed.got_message = False
        await self._publish_health(feed)
        if feed.ever_connected:
            await self._backfill(feed)
        feed.ever_connected = True

    async def _disconnected(self, feed: _VenueFeed, reason: str) -> None:
        await self._close_client(feed)
        feed.health.connected = False
        feed.health.errors += 1
        feed.health.detail = f"disconnected: {reason}"
        log.warning("market data from %s disconnected: %s", feed.client.name, reason)
        await self._publish_health(feed)

    async def _halt(self, feed: _VenueFeed, reason: str) -> None:
        await self._close_client(feed)
        feed.health.connected = False
        feed.health.errors += 1
        feed.health.detail = f"halted: {reason}"
        log.error("market data from %s halted: %s", feed.client.name, reason)
        await self._publish_health(feed)

    @staticmethod
    async def _close_client(feed: _VenueFeed) -> None:
        try:
            await feed.client.close()
        except Exception:  # closing a broken connection may fail; it is being dropped anyway
            log.debug("closing %s failed", feed.client.name, exc_info=True)

    # ---- the hot path ----------------------------------------------------------------------
    async def ingest(self, tick: Tick) -> None:
        """Take one tick of an attached venue exactly as its stream would deliver it (checks,
        TICK, then the bars it closes). The event backtest drives the manager this way, one
        tick at a time, instead of running `run`."""
        await self._on_tick(self._feed(tick.venue), tick)

    async def _on_tick(self, feed: _VenueFeed, tick: Tick) -> None:
        health = feed.health
        health.last_message_ms = self._clock.now_ms()
        feed.got_message = True
        if feed.stale:
            feed.stale = False
            health.detail = ""
            await self._publish_health(feed)
        price = tick.price
        if not (math.isfinite(price) and math.isfinite(tick.size) and tick.size >= 0):
            health.bad_frames += 1
            return
        state = feed.feeds.get(tick.symbol)
        if state is None:
            state = feed.feeds[tick.symbol] = _SymbolFeed()
        ts = tick.ts_ms
        if ts < state.last_ts:
            feed.out_of_order += 1
            return
        if ts == state.last_ts:
            if price in state.prices:
                feed.duplicates += 1
                return
            state.prices.append(price)
        else:
            state.last_ts = ts
            state.prices.clear()
            state.prices.append(price)
        feed.ticks += 1
        await self._bus.publish(TOPIC_TICK, tick)
        closed = self.builder.on_tick(tick)
        for bar in closed:
            await self._on_bar(bar)

    async def _on_bar(self, bar: Bar) -> None:
        if not self.windows.append(bar):
            return  # a bar at or before one already in the window (warm-up or backfill had it)
        feed = self._feeds.get(bar.venue)
        if feed is not None:
            feed.bars += 1
        await self._bus.publish(TOPIC_BAR, bar)
        if self._store_writes and bar.timeframe in self._store_timeframes:
            self._pending.append(bar)
            if len(self._pending) >= self._store_batch_bars:
                self._start_store_write()

    # ---- timer: quiet bars, stale feeds, health, store -------------------------------------
    async def _timer(self) -> None:
        now = self._clock.now_ms()
        next_health = now + self._health_interval_ms
        next_store = now + self._store_interval_ms
        while True:
            await self._clock.sleep(self._flush_interval_s)
            now = self._clock.now_ms()
            for bar in self.builder.flush(now - self._close_grace_ms):
                await self._on_bar(bar)
            for feed in self._feeds.values():
                await self._check_stale(feed, now)
            if now >= next_health:
                next_health = now + self._health_interval_ms
                for feed in self._feeds.values():
                    await self._publish_health(feed)
            if self._pending and now >= next_store:
                next_store = now + self._store_interval_ms
                self._start_store_write()

    async def _check_stale(self, feed: _VenueFeed, now_ms: int) -> None:
        health = feed.health
        if not health.connected or feed.stale:
            return
        if now_ms - health.last_message_ms >= self._stale_after_ms:
            feed.stale = True
            health.detail = "stale"
            log.warning("market data from %s is stale", feed.client.name)
            await self._publish_health(feed)

    def health(self, venue: str) -> VenueHealth:
        """A snapshot of one venue's health, with the feed's counters in `extra`."""
        feed = self._feed(venue)
        now = self._clock.now_ms()
        late = sum(self.builder.late_ticks_for(f"{venue}:{s}") for s in feed.feeds)
        snapshot = dataclasses.replace(feed.health, extra=dict(feed.health.extra))
        snapshot.extra.update(
            ticks=float(feed.ticks),
            duplicate_ticks=float(feed.duplicates),
            out_of_order_ticks=float(feed.out_of_order),
            late_ticks=float(late),
            bars=float(feed.bars),
            backfilled_bars=float(feed.backfilled),
            last_message_age_s=max(0.0, (now - feed.health.last_message_ms) / 1000.0),
        )
        return snapshot

    async def _publish_health(self, feed: _VenueFeed) -> None:
        await self._bus.publish(TOPIC_HEALTH, self.health(feed.client.name))

    # ---- backfill after a reconnect ------------------------------------------------------
    async def _backfill(self, feed: _VenueFeed) -> None:
        """Fetch the bars closed while the feed was down into the windows and the store."""
        venue = feed.client.name
        cutoff = self._clock.now_ms() - self._close_grace_ms
        history_tfs = feed.client.capabilities.history_timeframes
        for symbol in sorted(feed.symbols):
            for tf in self.builder.timeframes:
                window = self.windows.find(f"{venue}:{symbol}", tf)
                if tf not in history_tfs or window is None or window.last_open_ms is None:
                    continue
                missing = (cutoff - window.last_open_ms) // timeframe_ms(tf) - 1
                if missing <= 0:
                    continue
                try:
                    bars = await self._history(feed.client, symbol, tf, cutoff, missing)
                except VenueError as exc:  # backfill is a courtesy: the stream goes on without it
                    log.warning("backfill of %s %s %s failed: %s", venue, symbol, tf, exc)
                    continue
                for bar in bars:
                    if window.append(bar):
                        feed.backfilled += 1
                        if self._store_writes and bar.timeframe in self._store_timeframes:
                            self._pending.append(bar)

    # ---- candle store ----------------------------------------------------------------------
    def _start_store_write(self) -> None:
        if not self._store_writes or not self._pending:
            return
        if self._store_task is None or self._store_task.done():
            self._store_task = asyncio.create_task(self._write_pending(), name="marketdata:store")

    async def flush_store(self) -> None:
        """Write every bar waiting for the store now (and wait for a write in progress)."""
        if self._store_task is not None:
            with contextlib.suppress(Exception):
                await self._store_task
        await self._write_pending()

    async def _write_pending(self) -> None:
        """Hand every waiting bar to the store on a worker thread, one batch at a time."""
        store = self._store
        if store is None:
            return
        async with self._store_lock:
            while self._pending:
                batch, self._pending = self._pending, []
                if not await self._write_batch(store, batch):
                    return

    async def _write_batch(self, store: CandleStore, batch: list[Bar]) -> bool:
        """Write one batch; on a storage failure keep it for the next attempt (bounded)."""
        groups: dict[tuple[str, str, str], list[Bar]] = {}
        for bar in batch:
            groups.setdefault((bar.venue, bar.symbol, bar.timeframe), []).append(bar)
        try:
            await asyncio.to_thread(_write_groups, store, groups)
        except ValueError as exc:  # bars the store can never accept: retrying cannot help
            self.store_errors += 1
            log.error("candle store refused %d bars: %s", len(batch), exc)
        except Exception as exc:  # StorageError, or a bug: keep the bars and try again later
            self.store_errors += 1
            log.error("candle store write failed (%d bars kept for retry): %s", len(batch), exc)
            self._pending = batch + self._pending
            overflow = len(self._pending) - _MAX_PENDING_BARS
            if overflow > 0:
                self.store_dropped_bars += overflow
                del self._pending[:overflow]
            return False
        return True


def _write_groups(store: CandleStore, groups: dict[tuple[str, str, str], list[Bar]]) -> None:
    for (venue, symbol, timeframe), bars in groups.items():
        store.write(venue, symbol, timeframe, _bar_columns(bars))
