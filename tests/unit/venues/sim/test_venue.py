"""The sim venue end to end on a SimClock: the live stream, warm-up history, and paper accounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradeterm.clock import SimClock
from tradeterm.config.models import FillModelConfig, ReplaySourceConfig, SimVenueConfig
from tradeterm.domain.enums import ContractKind, Liquidity, OrderStatus, OrderType, Side
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import Fill, Order
from tradeterm.errors import ConfigError, PermanentVenueError
from tradeterm.venues.base import DataClient, ExecClient, ExecEvent, OrderUpdate
from tradeterm.venues.sim import SimVenue, index_spec
from tradeterm.venues.sim.replay import load_candles
from tradeterm.venues.sim.tape import bucket_ticks

T0 = 1_699_999_980_000  # a whole minute, an even second
SYMBOLS = ["R_100", "1HZ100V", "stpRNG"]


class Recorder:
    """Consumes an async stream in a task and keeps what it yields, with the clock time."""

    def __init__(self, stream: AsyncIterator[Any], clock: SimClock) -> None:
        self.items: list[Any] = []
        self.seen_at: list[int] = []
        self._clock = clock
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[Any]) -> None:
        async for item in stream:
            self.items.append(item)
            self.seen_at.append(self._clock.now_ms())


def make_venue(clock: SimClock, **update: Any) -> SimVenue:
    fields: dict[str, Any] = {"symbols": SYMBOLS, "history_minutes": 30.0, "seed": 7}
    fields.update(update)
    return SimVenue("sim", SimVenueConfig(**fields), clock)


@pytest.fixture
async def clock() -> SimClock:
    return SimClock(T0)


@pytest.fixture
async def sim(clock: SimClock) -> AsyncIterator[SimVenue]:
    venue = make_venue(clock)
    yield venue
    await venue.close()


async def stream_ticks(
    sim: SimVenue, clock: SimClock, symbols: list[str], seconds: float
) -> Recorder:
    await sim.data.connect()
    await sim.data.subscribe(symbols)
    recorder = Recorder(sim.data.ticks(), clock)
    await asyncio.sleep(0)
    await clock.advance(seconds)
    return recorder


async def test_clients_implement_the_venue_protocols(sim: SimVenue) -> None:
    assert isinstance(sim.data, DataClient)
    assert isinstance(sim.exec_client("paper"), ExecClient)
    assert sim.capabilities.funding is False
    assert sim.capabilities.partial_fills and sim.capabilities.native_stops
    instruments = await sim.data.instruments()
    assert sorted(i.symbol for i in instruments) == sorted(SYMBOLS)
    assert {i.kind for i in instruments} == {ContractKind.SYNTHETIC}


async def test_ticks_arrive_in_time_order_at_their_own_time(sim: SimVenue, clock: SimClock) -> None:
    rec = await stream_ticks(sim, clock, SYMBOLS, 60)
    ticks: list[Tick] = rec.items
    keys = [(t.ts_ms, t.symbol) for t in ticks]
    assert keys == sorted(keys)  # time order, ties by symbol
    assert rec.seen_at == [t.ts_ms for t in ticks]  # each tick when the clock reaches it
    by_symbol = {s: [t.ts_ms for t in ticks if t.symbol == s] for s in SYMBOLS}
    assert by_symbol["R_100"] == list(range(T0, T0 + 60_001, 2000))
    assert by_symbol["1HZ100V"] == list(range(T0, T0 + 60_001, 1000))
    for t in ticks:
        assert t.bid < t.price < t.ask
    assert sim.health.connected and sim.health.last_message_ms == T0 + 60_000


async def test_unsubscribed_symbols_are_not_streamed(sim: SimVenue, clock: SimClock) -> None:
    rec = await stream_ticks(sim, clock, ["R_100"], 10)
    await sim.data.unsubscribe(["R_100"])
    await clock.advance(10)
    assert {t.symbol for t in rec.items} == {"R_100"}
    assert rec.items[-1].ts_ms == T0 + 10_000
    with pytest.raises(PermanentVenueError, match="R_999"):
        await sim.data.subscribe(["R_999"])


async def test_close_ends_the_tick_stream(sim: SimVenue, clock: SimClock) -> None:
    rec = await stream_ticks(sim, clock, ["R_100"], 4)
    await sim.data.close()
    await asyncio.wait_for(rec.task, 1.0)
    assert not sim.health.connected


async def test_history_ends_exactly_where_the_live_stream_begins(
    sim: SimVenue, clock: SimClock
) -> None:
    bars = await sim.data.history("R_100", "1m", limit=1000)
    assert len(bars) == 30
    assert bars[0].open_ms == T0 - 30 * 60_000 and bars[-1].close_ms == T0
    assert all(b.ticks == 30 for b in bars)
    seconds = await sim.data.history("R_100", "1s", limit=10_000)
    rec = await stream_ticks(sim, clock, ["R_100"], 120)
    live: list[Tick] = rec.items
    # The tick series: history's last tick, then the first live tick one cadence later.
    assert seconds[-1].open_ms == T0 - 2000
    assert live[0].ts_ms == T0
    assert seconds[-1].close == bars[-1].close
    # The joined series is exactly the generator's path from the history start.
    spec = index_spec("R_100")
    assert spec is not None
    path = spec.generator(seed=7, start_ms=T0 - 30 * 60_000).next_chunk()
    joined = [b.close for b in seconds] + [t.price for t in live]
    assert joined == path.quote[: len(joined)].tolist()


async def test_history_after_running_matches_the_streamed_ticks(
    sim: SimVenue, clock: SimClock
) -> None:
    rec = await stream_ticks(sim, clock, ["1HZ100V"], 600)
    live: list[Tick] = rec.items
    bars = await sim.data.history("1HZ100V", "1m", limit=10)
    ts = np.array([t.ts_ms for t in live if t.ts_ms < clock.now_ms()], dtype=np.int64)
    px = np.array([t.price for t in live if t.ts_ms < clock.now_ms()])
    expect = bucket_ticks(ts, px, np.ones_like(px), 60_000)
    assert [b.open_ms for b in bars] == expect.open_ms.tolist()
    assert [(b.open, b.high, b.low, b.close) for b in bars] == list(
        zip(
            expect.open.tolist(),
            expect.high.tolist(),
            expect.low.tolist(),
            expect.close.tolist(),
            strict=True,
        )
    )
    # Bars still open are never served, and the future is never served.
    later = await sim.data.history("1HZ100V", "1m", end_ms=clock.now_ms() + 3_600_000, limit=5)
    assert later[-1].close_ms <= clock.now_ms()
    with pytest.raises(PermanentVenueError, match="timeframe"):
        await sim.data.history("1HZ100V", "7m")


async def test_same_seed_same_start_gives_the_same_market(clock: SimClock) -> None:
    a, b = make_venue(clock), make_venue(clock)
    c = make_venue(clock, seed=8)
    bars_a = await a.data.history("stpRNG", "5m", limit=6)
    bars_b = await b.data.history("stpRNG", "5m", limit=6)
    bars_c = await c.data.history("stpRNG", "5m", limit=6)
    assert bars_a == bars_b
    assert [x.close for x in bars_a] != [x.close for x in bars_c]


async def test_speed_runs_the_generators_faster_than_the_clock(clock: SimClock) -> None:
    fast = make_venue(clock, speed=10.0)
    try:
        rec = await stream_ticks(fast, clock, ["R_100"], 2)
    finally:
        await fast.close()
    ticks: list[Tick] = rec.items
    assert [t.ts_ms for t in ticks] == list(range(T0, T0 + 2001, 200))
    spec = index_spec("R_100")
    assert spec is not None
    path = spec.generator(seed=7, start_ms=T0 - 30 * 60_000).next_chunk().quote
    assert [t.price for t in ticks] == path[900 : 900 + len(ticks)].tolist()


def market(coid: str, side: Side, qty: float, **kw: Any) -> Order:
    return Order(
        client_order_id=coid,
        wallet_id="paper:synthetics",
        venue="sim",
        symbol=kw.pop("symbol", "R_100"),
        side=side,
        order_type=kw.pop("order_type", OrderType.MARKET),
        qty=qty,
        created_ms=T0,
        **kw,
    )


async def test_round_trip_books_fees_and_pnl_in_the_ledger(clock: SimClock) -> None:
    fill_model = FillModelConfig(taker_fee_rate=0.001, slippage_bps=5.0)
    sim = make_venue(clock, fill_model=fill_model, starting_balance=1000.0)
    paper = sim.exec_client("paper")
    try:
        await paper.connect()
        rec = Recorder(paper.events(), clock)
        quote = sim.market.last_tick("R_100")
        assert quote is not None
        ack = await paper.submit(market("buy-1", Side.BUY, 1.0))
        assert ack.status is OrderStatus.SUBMITTED
        (held,) = await paper.positions()
        assert (held.side, held.qty) == (Side.BUY, 1.0)
        await clock.advance(300)
        await paper.submit(market("sell-1", Side.SELL, 1.0))
        await asyncio.sleep(0)
        events: list[ExecEvent] = rec.items
        buy, sell = (e for e in events if isinstance(e, Fill))
        assert buy.price == pytest.approx(quote.ask * 1.0005)
        pnl = sell.price - buy.price
        balance = await paper.balance()
        assert balance.total == pytest.approx(1000.0 - buy.fee - sell.fee + pnl)
        assert await paper.positions() == []
        statuses = [e.status for e in events if isinstance(e, OrderUpdate)]
        assert statuses == [OrderStatus.SUBMITTED, OrderStatus.FILLED] * 2
        # The other account never saw any of it.
        live = sim.exec_client("live")
        assert (await live.balance()).total == 1000.0
        assert sim.exec_client("paper") is paper
    finally:
        await sim.close()


async def test_resting_limit_fills_as_the_clock_moves_the_market(clock: SimClock) -> None:
    sim = make_venue(clock, fill_model=FillModelConfig(maker_fee_rate=0.0))
    paper = sim.exec_client("paper")
    try:
        await paper.connect()
        rec = Recorder(paper.events(), clock)
        quote = sim.market.last_tick("R_100")
        assert quote is not None
        limit = round(quote.ask * 0.997, 2)
        await paper.submit(market("dip", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=limit))
        assert len(await paper.open_orders()) == 1
        for _ in range(24):
            await clock.advance(300)
            if not await paper.open_orders():
                break
        (fill,) = [e for e in rec.items if isinstance(e, Fill)]
        assert fill.price == limit and fill.liquidity is Liquidity.MAKER
        assert fill.ts_ms > T0 and fill.ts_ms % 2000 == 0  # on an R_100 tick
        assert fill.fee == 0.0
    finally:
        await sim.close()


async def test_reduce_only_orders_are_refused_when_flat_and_cancelled_once_flat(
    clock: SimClock,
) -> None:
    sim = make_venue(clock)
    paper = sim.exec_client("paper")
    try:
        await paper.connect()
        refused = await paper.submit(market("ro-0", Side.SELL, 1.0, reduce_only=True))
        assert refused.status is OrderStatus.REJECTED and "reduce-only" in refused.reason
        await paper.submit(market("entry", Side.BUY, 1.0))
        px = sim.market.last_tick("R_100")
        assert px is not None
        await paper.submit(
            market(
                "tp",
                Side.SELL,
                1.0,
                order_type=OrderType.LIMIT,
                price=round(px.price * 1.5, 2),
                reduce_only=True,
            )
        )
        await paper.submit(
            market(
                "sl",
                Side.SELL,
                1.0,
                order_type=OrderType.STOP,
                stop_price=round(px.price * 0.5, 2),
                reduce_only=True,
            )
        )
        assert len(await paper.open_orders()) == 2
        await paper.submit(market("exit", Side.SELL, 1.0))
        assert await paper.open_orders() == []
        assert await paper.positions() == []
    finally:
        await sim.close()


async def test_orders_below_the_minimum_or_on_unknown_symbols_are_rejected(sim: SimVenue) -> None:
    paper = sim.exec_client("paper")
    tiny = await paper.submit(market("tiny", Side.BUY, 0.0001))
    assert tiny.status is OrderStatus.REJECTED and "minimum" in tiny.reason
    ghost = await paper.submit(market("ghost", Side.BUY, 1.0, symbol="R_999"))
    assert ghost.status is OrderStatus.REJECTED and "unknown symbol" in ghost.reason
    again = await paper.submit(market("ghost", Side.BUY, 1.0, symbol="R_999"))
    assert again.status is OrderStatus.REJECTED


async def test_config_errors_name_the_path(clock: SimClock, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"venues\.sim\.symbols.*R_999"):
        make_venue(clock, symbols=["R_999"])
    with pytest.raises(ConfigError, match=r"venues\.sim\.accounts.*demo"):
        make_venue(clock).exec_client("demo")
    csv = tmp_path / "r.csv"
    csv.write_text("ts,open,high,low,close,volume\n0,1,1,1,1,1\n")
    clash = ReplaySourceConfig(symbol="R_100", path=str(csv), timeframe="1m")
    with pytest.raises(ConfigError, match=r"venues\.sim\.replay\[0\]"):
        make_venue(clock, replay=[clash])


async def test_replayed_file_streams_its_bars_and_serves_earlier_bars_as_history(
    clock: SimClock, shared_data: Path
) -> None:
    path = shared_data / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"
    source = ReplaySourceConfig(symbol="BTCUSDT", path=str(path), timeframe="5m", speed=60.0)
    sim = make_venue(clock, symbols=["R_100"], replay=[source], history_minutes=10.0)
    candles = load_candles(path)
    try:
        inst = {i.symbol: i for i in await sim.data.instruments()}["BTCUSDT"]
        assert inst.kind is ContractKind.PERPETUAL
        bars = await sim.data.history("BTCUSDT", "1m", limit=100)
        # 10 clock minutes at speed 60 = 120 file bars, 12 per clock minute.
        assert len(bars) == 10 and bars[-1].close_ms == T0
        assert bars[0].open == candles.open[0]
        assert bars[-1].close == candles.close[119]
        assert bars[0].high == candles.high[:12].max()
        rec = await stream_ticks(sim, clock, ["BTCUSDT"], 5)
        prices = [t.price for t in rec.items]
        bar = 120  # bullish or bearish order of the live bar
        o, h, lo, c = candles.open[bar], candles.high[bar], candles.low[bar], candles.close[bar]
        middle = [lo, h] if c >= o else [h, lo]
        assert prices[:4] == [o, *middle, c]
        assert [t.ts_ms for t in rec.items[:5]] == [T0, T0 + 1250, T0 + 2500, T0 + 3750, T0 + 5000]
    finally:
        await sim.close()
