"""StreamManager under a SimClock with a scripted venue: ticks -> bars on the bus, reconnects,
dedup, stale feeds, warm-up, backfill and the candle store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradeterm.bus import Bus
from tradeterm.clock import SimClock, datetime_to_ms
from tradeterm.config.models import MarketDataConfig
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.series import BarSeries
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.marketdata.store import CandleStore
from tradeterm.marketdata.streams import StreamManager
from tradeterm.venues.base import DataClient, VenueCapabilities, VenueHealth

T0 = datetime_to_ms(datetime(2024, 3, 5, 10, 0, tzinfo=UTC))
SEC = 1_000
MIN = 60_000


def tick(ts: int, price: float, symbol: str = "BTC", size: float = 1.0) -> Tick:
    return Tick("fake", symbol, ts, price, price, price, size)


@dataclass
class Session:
    """What the venue does between one connect and the next disconnect."""

    ticks: list[Tick] = field(default_factory=list)
    end: BaseException | None = None  # raised after the ticks; None = stay open until closed


class ScriptedDataClient:
    """A DataClient that plays scripted sessions in SimClock time and records every call."""

    def __init__(
        self,
        clock: SimClock,
        sessions: Sequence[Session | BaseException],
        *,
        history: dict[tuple[str, str], list[Bar]] | None = None,
        history_timeframes: tuple[str, ...] = ("1m", "5m"),
        max_history_bars: int = 1000,
    ) -> None:
        self.name = "fake"
        self.capabilities = VenueCapabilities(
            history_timeframes=history_timeframes, max_history_bars=max_history_bars
        )
        self._clock = clock
        self._script = list(sessions)
        self._session = Session()
        self._closed = asyncio.Event()
        self._history = history or {}
        self.connect_times: list[int] = []
        self.subscribe_calls: list[list[str]] = []
        self.unsubscribe_calls: list[list[str]] = []
        self.history_calls: list[tuple[str, str, int | None, int]] = []
        self.closes = 0

    async def connect(self) -> None:
        self.connect_times.append(self._clock.now_ms())
        step = self._script.pop(0) if self._script else Session()
        if isinstance(step, BaseException):
            raise step
        self._session = step
        self._closed = asyncio.Event()

    async def close(self) -> None:
        self.closes += 1
        self._closed.set()

    async def instruments(self) -> list[Instrument]:
        return []

    async def subscribe(self, symbols: Sequence[str]) -> None:
        self.subscribe_calls.append(list(symbols))

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        self.unsubscribe_calls.append(list(symbols))

    async def ticks(self) -> AsyncIterator[Tick]:
        session = self._session
        for item in session.ticks:
            await self._clock.sleep_until(item.ts_ms)
            yield item
        if session.end is not None:
            raise session.end
        await self._closed.wait()

    async def history(
        self, symbol: str, timeframe: str, *, end_ms: int | None = None, limit: int = 500
    ) -> list[Bar]:
        self.history_calls.append((symbol, timeframe, end_ms, limit))
        bars = [
            b
            for b in self._history.get((symbol, timeframe), [])
            if end_ms is None or b.open_ms <= end_ms
        ]
        return bars[-limit:]


class Recorder:
    """Everything published on the bus, in order."""

    def __init__(self, bus: Bus) -> None:
        self.messages: list[tuple[str, Any]] = []
        bus.subscribe("*", self.on_message, inline=True)

    def on_message(self, topic: str, message: Any) -> None:
        self.messages.append((topic, message))

    def of(self, topic: str) -> list[Any]:
        return [m for t, m in self.messages if t == topic]

    @property
    def health(self) -> list[VenueHealth]:
        return self.of("venue.health")


def config(**overrides: Any) -> MarketDataConfig:
    values: dict[str, Any] = {"timeframes": ["1m"], "window_bars": 50, "warmup_bars": 0}
    values.update(overrides)
    return MarketDataConfig(**values)


class Rig:
    """A manager, its bus recorder and its clock, started in the background."""

    def __init__(
        self,
        client: ScriptedDataClient,
        clock: SimClock,
        cfg: MarketDataConfig,
        store: CandleStore | None = None,
        **manager_kwargs: Any,
    ) -> None:
        self.clock = clock
        self.client = client
        self.bus = Bus()
        self.recorder = Recorder(self.bus)
        manager_kwargs.setdefault("close_grace_ms", 0)
        self.manager = StreamManager(self.bus, clock, cfg, store=store, **manager_kwargs)
        self.manager.add_client(client)
        self.task: asyncio.Task[None] | None = None

    async def start(self, symbols: Sequence[str] = ("BTC",)) -> None:
        await self.manager.subscribe("fake", symbols)
        self.task = asyncio.create_task(self.manager.run())
        for _ in range(5):
            await asyncio.sleep(0)

    async def stop(self) -> None:
        await self.manager.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)


def make_rig(sessions: Sequence[Session | BaseException], **kwargs: Any) -> Rig:
    clock = SimClock(T0)
    client_kwargs = {
        k: kwargs.pop(k)
        for k in ("history", "history_timeframes", "max_history_bars")
        if k in kwargs
    }
    store = kwargs.pop("store", None)
    manager_kwargs = {
        k: kwargs.pop(k)
        for k in ("initial_backoff_s", "flush_interval_s", "store_batch_bars")
        if k in kwargs
    }
    client = ScriptedDataClient(clock, sessions, **client_kwargs)
    return Rig(client, clock, config(**kwargs), store, **manager_kwargs)


def test_the_scripted_client_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedDataClient(SimClock(T0), []), DataClient)


def flow(rig: Rig) -> list[tuple[str, int]]:
    """(topic, time) of every tick and bar published, in publication order."""
    return [
        (topic, msg.ts_ms if topic == "tick" else msg.open_ms)
        for topic, msg in rig.recorder.messages
        if topic in ("tick", "bar")
    ]


async def test_ticks_and_closed_bars_reach_the_bus_in_order() -> None:
    script = [tick(T0 + 1 * SEC, 100), tick(T0 + 30 * SEC, 103), tick(T0 + MIN + 5 * SEC, 101)]
    rig = make_rig([Session(script)])
    await rig.start()
    await rig.clock.advance_to(T0 + MIN + 10 * SEC)
    # the 10:00 bar closes when the minute ends, before the 10:01:05 tick arrives
    assert flow(rig) == [
        ("tick", T0 + 1 * SEC),
        ("tick", T0 + 30 * SEC),
        ("bar", T0),
        ("tick", T0 + MIN + 5 * SEC),
    ]
    (bar,) = rig.recorder.of("bar")
    assert (bar.open, bar.high, bar.low, bar.close, bar.ticks) == (100, 103, 100, 103, 2)
    window = rig.manager.windows.get("fake:BTC", "1m")
    assert window.series().close.tolist() == [103.0]
    await rig.stop()


async def test_the_tick_that_closes_a_bar_is_published_before_that_bar() -> None:
    script = [tick(T0 + 1 * SEC, 100), tick(T0 + MIN, 101), tick(T0 + 2 * MIN, 102)]
    rig = make_rig([Session(script)], timeframes=["1m", "15s"], flush_interval_s=3600.0)
    await rig.start()
    await rig.clock.advance_to(T0 + 2 * MIN + SEC)
    assert flow(rig) == [
        ("tick", T0 + 1 * SEC),
        ("tick", T0 + MIN),
        ("bar", T0),  # 15s
        ("bar", T0),  # 1m
        ("tick", T0 + 2 * MIN),
        ("bar", T0 + MIN),
        ("bar", T0 + MIN),
    ]
    assert [b.timeframe for b in rig.recorder.of("bar")] == ["15s", "1m", "15s", "1m"]
    await rig.stop()


async def test_a_quiet_market_closes_its_bar_when_the_minute_ends_and_not_before() -> None:
    rig = make_rig([Session([tick(T0 + 20 * SEC, 100)])])
    await rig.start()
    await rig.clock.advance_to(T0 + MIN - 1)
    assert rig.recorder.of("bar") == []
    await rig.clock.advance_to(T0 + MIN + 300)
    (bar,) = rig.recorder.of("bar")
    assert bar.open_ms == T0 and bar.close == 100
    await rig.clock.advance_to(T0 + 5 * MIN)
    assert len(rig.recorder.of("bar")) == 1  # no invented bars while nothing trades
    await rig.stop()


async def test_duplicate_and_out_of_order_ticks_are_dropped_and_counted() -> None:
    script = [
        tick(T0 + 1 * SEC, 100),
        tick(T0 + 1 * SEC, 100),  # duplicate
        tick(T0 + 1 * SEC, 101),  # same time, new price: a real trade
        tick(T0 + 1 * SEC, 100),  # duplicate of the first
        tick(T0 + 500, 99),  # older than the last accepted
        tick(T0 + 2 * SEC, 102),
    ]
    rig = make_rig([Session(script)])
    await rig.start()
    await rig.clock.advance_to(T0 + 3 * SEC)
    assert [(t.ts_ms, t.price) for t in rig.recorder.of("tick")] == [
        (T0 + 1 * SEC, 100),
        (T0 + 1 * SEC, 101),
        (T0 + 2 * SEC, 102),
    ]
    health = rig.manager.health("fake")
    assert health.extra["duplicate_ticks"] == 2
    assert health.extra["out_of_order_ticks"] == 1
    assert health.extra["ticks"] == 3
    await rig.stop()


async def test_reconnects_after_a_disconnect_and_resubscribes() -> None:
    first = Session([tick(T0 + 10 * SEC, 100)], end=TemporaryVenueError("socket closed"))
    second = Session([tick(T0 + 40 * SEC, 105), tick(T0 + MIN + 1, 106)])
    rig = make_rig([first, second])
    await rig.start()
    await rig.clock.advance_to(T0 + MIN + 5 * SEC)
    assert rig.client.connect_times == [T0, T0 + 11 * SEC]  # 1 s backoff after the drop
    assert rig.client.subscribe_calls == [["BTC"], ["BTC"]]
    states = [(h.connected, h.reconnects, h.detail) for h in rig.recorder.health]
    assert (False, 0, "disconnected: socket closed") in states
    assert states.index((True, 1, "")) > states.index((False, 0, "disconnected: socket closed"))
    (bar,) = rig.recorder.of("bar")
    assert (bar.open, bar.close, bar.ticks) == (100, 105, 2)
    await rig.stop()


async def test_failed_connects_back_off_exponentially_up_to_the_cap() -> None:
    fails: list[Session | BaseException] = [TemporaryVenueError("refused") for _ in range(5)]
    rig = make_rig([*fails, Session()], reconnect_max_backoff_s=4.0)
    await rig.start()
    await rig.clock.advance_to(T0 + 60 * SEC)
    gaps = [
        b - a for a, b in zip(rig.client.connect_times, rig.client.connect_times[1:], strict=False)
    ]
    assert gaps == [1 * SEC, 2 * SEC, 4 * SEC, 4 * SEC, 4 * SEC]
    assert rig.manager.health("fake").connected
    await rig.stop()


async def test_a_permanent_error_halts_only_that_venue_and_says_why() -> None:
    rig = make_rig([PermanentVenueError("invalid API key")])
    await rig.start()
    await rig.clock.advance_to(T0 + 10 * MIN)
    assert rig.client.connect_times == [T0]
    last = rig.recorder.health[-1]
    assert not last.connected and last.detail == "halted: invalid API key"
    await rig.stop()


async def test_a_silent_feed_is_reported_stale_and_recovers_on_the_next_tick() -> None:
    rig = make_rig(
        [Session([tick(T0 + 1 * SEC, 100), tick(T0 + 20 * SEC, 101)])], stale_after_s=5.0
    )
    await rig.start()
    await rig.clock.advance_to(T0 + 5 * SEC)
    assert all(h.detail != "stale" for h in rig.recorder.health)
    await rig.clock.advance_to(T0 + 6 * SEC + 300)
    assert rig.recorder.health[-1].detail == "stale"
    assert rig.recorder.health[-1].extra["last_message_age_s"] >= 5.0
    await rig.clock.advance_to(T0 + 19 * SEC)
    assert rig.recorder.health[-1].detail == "stale"
    await rig.clock.advance_to(T0 + 20 * SEC)
    assert rig.recorder.health[-1].detail == ""
    assert rig.recorder.health[-1].connected
    await rig.stop()


def history_bars(series: BarSeries, symbol: str = "BTC", timeframe: str = "5m") -> list[Bar]:
    return [
        Bar(
            "fake",
            symbol,
            timeframe,
            int(series.open_ms[i]),
            float(series.open[i]),
            float(series.high[i]),
            float(series.low[i]),
            float(series.close[i]),
            float(series.volume[i]),
        )
        for i in range(len(series))
    ]


async def test_warm_up_fills_the_window_with_closed_history_paging_past_the_venue_limit(
    btc_5m: BarSeries,
) -> None:
    bars = history_bars(btc_5m)
    now = bars[2000].open_ms + 2 * MIN  # bar 2000 is still forming at this moment
    clock = SimClock(now)
    client = ScriptedDataClient(clock, [], history={("BTC", "5m"): bars}, max_history_bars=100)
    manager = StreamManager(Bus(), clock, config(timeframes=["5m"], warmup_bars=250))
    manager.add_client(client)
    got = await manager.warm_up("fake", "BTC", ["5m"])
    assert got["5m"].open_ms.tolist() == btc_5m.open_ms[1750:2000].tolist()
    assert got["5m"].close.tolist() == btc_5m.close[1750:2000].tolist()
    assert len(client.history_calls) == 3
    assert len(manager.windows.get("fake:BTC", "5m")) == 250


async def test_warm_up_reads_the_store_for_timeframes_the_venue_has_no_history_for(
    tmp_path: Path, btc_5m: BarSeries
) -> None:
    store = CandleStore(tmp_path)
    store.write("fake", "BTC", "5m", btc_5m)
    clock = SimClock(int(btc_5m.open_ms[-1]) + 5 * MIN)
    client = ScriptedDataClient(clock, [], history_timeframes=("1h",))
    manager = StreamManager(Bus(), clock, config(timeframes=["5m"], warmup_bars=60), store=store)
    manager.add_client(client)
    got = await manager.warm_up("fake", "BTC", ["5m"])
    assert got["5m"].open_ms.tolist() == btc_5m.open_ms[-60:].tolist()
    assert client.history_calls == []


async def test_bars_missed_while_disconnected_are_backfilled_into_the_window_not_the_bus() -> None:
    history = [
        Bar("fake", "BTC", "1m", T0 + i * MIN, 200 + i, 201 + i, 199 + i, 200 + i)
        for i in range(10)
    ]
    # the feed drops right after 10:01:00, and is back 3.5 minutes later
    first = Session(
        [tick(T0 + 10 * SEC, 100), tick(T0 + MIN + 1, 101)], end=TemporaryVenueError("gone")
    )
    back_at = T0 + MIN + 1 + 210 * SEC
    second = Session([tick(back_at + SEC, 150)])
    rig = make_rig(
        [first, second],
        history={("BTC", "1m"): history},
        reconnect_max_backoff_s=240.0,
        initial_backoff_s=210.0,
    )
    await rig.start()
    await rig.clock.advance_to(T0 + 6 * MIN)
    assert rig.client.connect_times == [T0, back_at]
    window = rig.manager.windows.get("fake:BTC", "1m").series()
    assert window.open_ms.tolist() == [T0 + i * MIN for i in range(5)]
    assert window.close.tolist() == [100, 101, 202, 203, 150]  # 10:02 and 10:03 from the venue
    assert [b.open_ms for b in rig.recorder.of("bar")] == [T0, T0 + MIN, T0 + 4 * MIN]
    assert rig.manager.health("fake").extra["backfilled_bars"] == 2
    await rig.stop()


@pytest.mark.parametrize(
    ("store_timeframes", "rows_15s"), [(None, 0), (["1m", "15s"], 10)], ids=["default", "opt-in"]
)
async def test_closed_bars_are_written_to_the_store_by_stop(
    tmp_path: Path, store_timeframes: list[str] | None, rows_15s: int
) -> None:
    # by default only 1m and longer bars go to disk; shorter ones live in memory unless asked for
    store = CandleStore(tmp_path)
    script = [tick(T0 + i * 20 * SEC + 1, 100 + i) for i in range(10)]
    extra = {"store_timeframes": store_timeframes} if store_timeframes else {}
    rig = make_rig([Session(script)], store=store, timeframes=["1m", "15s"], **extra)
    await rig.start()
    await rig.clock.advance_to(T0 + 4 * MIN)
    await rig.stop()
    assert store.read("fake", "BTC", "1m").open_ms.tolist() == [
        T0,
        T0 + MIN,
        T0 + 2 * MIN,
        T0 + 3 * MIN,
    ]
    assert len(store.read("fake", "BTC", "15s")) == rows_15s
    assert rig.recorder.health[-1].detail == "stopped"


async def test_subscribing_while_connected_reaches_the_venue_at_once() -> None:
    rig = make_rig([Session()])
    await rig.start(symbols=["BTC"])
    await rig.manager.subscribe("fake", ["ETH", "BTC"])
    await rig.manager.unsubscribe("fake", ["BTC"])
    assert rig.client.subscribe_calls == [["BTC"], ["ETH"]]
    assert rig.client.unsubscribe_calls == [["BTC"]]
    assert rig.manager.subscribed("fake") == ["ETH"]
    with pytest.raises(ValueError, match="'nowhere'"):
        await rig.manager.subscribe("nowhere", ["X"])
    await rig.stop()


async def wait_for_rows(store: CandleStore, timeframe: str, rows: int) -> int:
    """Poll the store while the manager's worker thread writes (the write is off the loop)."""
    deadline = time.monotonic() + 60  # a loaded machine may take long; the write still lands
    found = len(store.read("fake", "BTC", timeframe))
    while found < rows and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        found = len(store.read("fake", "BTC", timeframe))
    return found


async def test_bars_reach_the_store_in_batches_while_streaming(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    script = [tick(T0 + i * MIN + 1, 100 + i) for i in range(5)]
    rig = make_rig([Session(script)], store=store, store_batch_bars=2)
    await rig.start()
    await rig.clock.advance_to(T0 + 2 * MIN + SEC)
    assert await wait_for_rows(store, "1m", 2) == 2
    await rig.stop()


async def test_a_store_that_refuses_writes_keeps_the_bars_for_the_next_attempt(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "candles"
    blocked.write_text("a file where the store folder should be")
    store = CandleStore(blocked)
    script = [tick(T0 + i * MIN + 1, 100 + i) for i in range(3)]
    rig = make_rig([Session(script)], store=store)
    await rig.start()
    await rig.clock.advance_to(T0 + 3 * MIN + SEC)
    await rig.stop()
    assert rig.manager.store_errors >= 1
    blocked.unlink()
    await rig.manager.flush_store()
    assert store.read("fake", "BTC", "1m").close.tolist() == [100.0, 101.0, 102.0]
