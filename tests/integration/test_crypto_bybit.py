"""The Bybit v5 adapter (ccxt bybit, linear perpetuals) against the Bybit protocol simulator over
loopback: the same checks as Binance's where Bybit has the feature."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from tests.integration.crypto_kit import ccxt_session, order, served, wait_for
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill, OrderPurpose
from tradeterm.venues.crypto.bybit import bybit_profile, point_bybit
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession
from tradeterm.venues.sim.servers.binance import BinanceSimOptions
from tradeterm.venues.sim.servers.bybit import BybitSim

KEY, SECRET = "bybit-key", "bybit-secret"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[BybitSim, str, str]]:
    server = BybitSim(
        BinanceSimOptions(
            speed=60.0, history_days=3, api_key=KEY, api_secret=SECRET, tick_ms=100,
            funding_interval_s=300.0,
        )
    )  # fmt: skip
    async with served(server) as running:
        yield running


@pytest.fixture
async def session(sim) -> AsyncIterator[CcxtSession]:  # type: ignore[no-untyped-def]
    _, rest, ws = sim
    async with ccxt_session("bybit", bybit_profile("linear"), KEY, SECRET, rest, ws) as s:
        yield s


async def test_markets_history_and_funding(session: CcxtSession) -> None:
    data = CcxtDataClient(session)
    await data.connect()
    btc = {i.symbol: i for i in await data.instruments()}["BTCUSDT"]
    assert (btc.tick_size, btc.lot_step, btc.min_notional) == (0.1, 0.001, 100.0)
    bars = await data.history("BTCUSDT", "15m", limit=120)  # Bybit sends newest first
    opens = [b.open_ms for b in bars]
    assert len(bars) == 120 and opens == sorted(set(opens))
    rate, mark, _ = await data.funding_rate("BTCUSDT")
    assert rate == pytest.approx(0.0001) and mark > 0
    await data.close()


async def test_rounded_order_with_link_id_and_no_double_placement(
    sim, session: CcxtSession
) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    ack = await client.submit(order("tt-by-1", Side.BUY, 0.01279))
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    placed = [o for o in server.orders.values() if o.client_id == "tt-by-1"]
    assert len(placed) == 1 and placed[0].qty == pytest.approx(0.012)
    fill = await anext(e async for e in client.events() if isinstance(e, Fill))
    assert fill.client_order_id == "tt-by-1" and fill.qty == pytest.approx(0.012)
    # a resting limit resubmitted by another process with the same orderLinkId: 110072 from
    # the venue, resolved by lookup, never a second order
    last = server.last("BTCUSDT")
    entry = order(
        "tt-by-2", Side.BUY, 0.01, order_type=OrderType.LIMIT, price=round(last * 0.98, 1)
    )
    first = await client.submit(entry)
    other = CcxtExecClient(session, "live")
    other._known["tt-by-2"] = client._known["tt-by-2"]
    again = await other.submit(entry)
    assert again.venue_order_id == first.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-by-2") == 1
    positions = await client.positions()
    assert positions[0].symbol == "BTCUSDT" and positions[0].qty == pytest.approx(0.012)
    await client.close()


async def test_resting_stop_fires_and_orphans_are_visible(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, rest, ws = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    await client.submit(order("tt-by-entry", Side.BUY, 0.01))
    await wait_for(client.positions, "the position")
    level = round(server.last("BTCUSDT") * 0.995, 1)
    stop = order(
        "tt-by-sl", Side.SELL, 0.01, order_type=OrderType.STOP, stop_price=level + 0.07,
        reduce_only=True, purpose=OrderPurpose.STOP_LOSS,
    )  # fmt: skip
    ack = await client.submit(stop)
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    resting = [o for o in await client.open_orders() if o.client_order_id == "tt-by-sl"]
    assert resting and resting[0].reduce_only and resting[0].stop_price == pytest.approx(level)
    stranger = ccxtpro.bybit(
        {"apiKey": KEY, "secret": SECRET, "options": dict(bybit_profile("linear").options)}
    )
    point_bybit(stranger, rest, ws)
    last = server.last("ETHUSDT")
    await stranger.create_order(
        "ETH/USDT:USDT", "limit", "buy", 0.05, round(last * 0.97, 2), {"clientOrderId": "by-hand"}
    )
    await stranger.close()
    orphan = [o for o in await client.open_orders() if o.client_order_id == "by-hand"]
    assert orphan and orphan[0].wallet_id == ""
    server.markets["BTCUSDT"].price = server.last("BTCUSDT") * 0.95
    await wait_for(lambda: not server.positions["BTCUSDT"].amount, "the stop to fire")
    async for event in client.events():
        if isinstance(event, Fill) and event.client_order_id == "tt-by-sl":
            assert event.side is Side.SELL and event.qty == pytest.approx(0.01)
            break
    await client.close()


async def test_kline_stream_survives_outages(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, rest, _ = sim
    data = CcxtDataClient(session)
    await data.connect()
    bars = []

    async def collect() -> None:
        async for bar in data.closed_bars("BTCUSDT", "1m"):
            bars.append(bar)
            if len(bars) >= 10:
                return

    task = asyncio.create_task(collect())
    async with aiohttp.ClientSession() as http:
        for n in range(2):
            await wait_for(lambda n=n: len(bars) >= 3 * n + 1, "a bar")
            await wait_for(lambda: server.public_ws, "the kline stream connected")
            async with http.post(f"{rest}/sim/drop", json={"down_s": 2.5}) as resp:
                assert (await resp.json())["dropped"] >= 1
    await asyncio.wait_for(task, 60)
    opens = [b.open_ms for b in bars]
    assert len(set(opens)) == len(opens), "duplicated bar"
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens)), "lost bar"
    end = bars[-1].open_ms + 120_000
    truth = {b.open_ms: b for b in await data.history("BTCUSDT", "1m", end_ms=end, limit=100)}
    for bar in bars:
        assert truth[bar.open_ms].close == pytest.approx(bar.close)
    await data.close()
