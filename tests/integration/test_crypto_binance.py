"""The Binance USDT-M adapter (ccxt async + pro) against the protocol simulator over loopback.

Real parts only: the simulator is an aiohttp server on 127.0.0.1, the client is ccxt's
binanceusdm with its urls pointed at it, requests are HMAC-signed and checked.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from tests.integration.crypto_kit import ccxt_session, order, served, wait_for
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill, OrderPurpose
from tradeterm.errors import TemporaryVenueError
from tradeterm.venues.crypto.binance import BINANCE_FUTURES, point_binance
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession
from tradeterm.venues.sim.servers.binance import BinanceFuturesSim, BinanceSimOptions

KEY, SECRET = "test-key", "test-secret"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[BinanceFuturesSim, str, str]]:
    server = BinanceFuturesSim(
        BinanceSimOptions(
            speed=60.0,
            history_days=3,
            api_key=KEY,
            api_secret=SECRET,
            funding_interval_s=300.0,  # a funding every 5 market minutes = 5 real seconds
            tick_ms=100,
        )
    )
    async with served(server) as running:
        yield running


@pytest.fixture
async def session(sim) -> AsyncIterator[CcxtSession]:  # type: ignore[no-untyped-def]
    _, rest, ws = sim
    async with ccxt_session("binance_futures", BINANCE_FUTURES, KEY, SECRET, rest, ws) as s:
        yield s


async def test_markets_load_with_filters(session: CcxtSession) -> None:
    data = CcxtDataClient(session)
    await data.connect()
    by_symbol = {i.symbol: i for i in await data.instruments()}
    btc = by_symbol["BTCUSDT"]
    assert btc.tick_size == pytest.approx(0.1)
    assert btc.lot_step == pytest.approx(0.001)
    assert btc.min_notional == pytest.approx(100.0)
    assert btc.display_name == "BTC/USDT:USDT"
    await data.close()


async def test_order_rounded_to_filters_with_client_id(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    ack = await client.submit(order("tt-round-1", Side.BUY, 0.00379))
    assert ack.status in (OrderStatus.SUBMITTED, OrderStatus.FILLED)
    placed = [o for o in server.orders.values() if o.client_id == "tt-round-1"]
    assert len(placed) == 1
    assert placed[0].qty == pytest.approx(0.003)  # floored to the 0.001 step, never up
    fill = await anext(e async for e in client.events() if isinstance(e, Fill))
    assert fill.client_order_id == "tt-round-1" and fill.qty == pytest.approx(0.003)
    # a limit price off the tick is rounded before it is sent (the sim refuses off-tick prices)
    last = server.last("BTCUSDT")
    lim = await client.submit(
        order("tt-round-2", Side.BUY, 0.01, order_type=OrderType.LIMIT, price=last * 0.99 + 0.037)
    )
    assert lim.status is OrderStatus.SUBMITTED, lim.reason
    # below the minimum notional: refused here, nothing sent
    sent = client.submissions
    small = await client.submit(order("tt-small", Side.BUY, 0.001, ref_price=last))
    assert small.status is OrderStatus.REJECTED and "minimum" in small.reason
    assert client.submissions == sent
    await client.close()


async def test_retried_submission_is_not_placed_twice(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    last = server.last("BTCUSDT")
    server.opt.fail_order_every = 1  # the venue accepts the order, then answers 503 -1007
    entry = order(
        "tt-retry-1", Side.BUY, 0.01, order_type=OrderType.LIMIT, price=round(last * 0.98, 1)
    )
    first = await client.submit(entry)  # the lost reply is answered by a lookup
    assert first.status is OrderStatus.SUBMITTED and first.venue_order_id
    server.opt.fail_order_every = 0
    again = await client.submit(entry)  # the executor's retry with the same id
    assert again.venue_order_id == first.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-retry-1") == 1
    # the same id from another process is refused by the venue (-4116) and resolved by lookup
    other = CcxtExecClient(session, "live")
    other._known["tt-retry-1"] = client._known["tt-retry-1"]
    third = await other.submit(entry)
    assert third.venue_order_id == first.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-retry-1") == 1
    await client.close()


async def test_unknown_order_after_lost_reply_is_temporary(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    server.opt.delay_ms = 0
    # the reply is lost and the venue never took it: a temporary error, so the caller retries
    server.opt.fail_order_every = 1
    original = server._place

    def refuse(params, algo):  # type: ignore[no-untyped-def]
        from tradeterm.venues.sim.servers.binance import BinanceError

        raise BinanceError(503, -1007, "Timeout waiting for response from backend server.")

    server._place = refuse  # type: ignore[method-assign]
    with pytest.raises(TemporaryVenueError):
        await client.submit(order("tt-lost-1", Side.BUY, 0.01))
    server._place = original  # type: ignore[method-assign]
    server.opt.fail_order_every = 0
    ack = await client.submit(order("tt-lost-1", Side.BUY, 0.01))
    assert ack.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-lost-1") == 1
    await client.close()


async def test_position_appears_and_funding_accrues(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    _server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    await client.set_leverage("BTCUSDT", 5)
    await client.set_margin_mode("BTCUSDT", "isolated")
    await client.set_margin_mode("BTCUSDT", "isolated")  # already so: not an error
    await client.submit(order("tt-pos-1", Side.BUY, 0.01))
    positions = await wait_for(client.positions, "the position")
    assert positions[0].symbol == "BTCUSDT" and positions[0].side is Side.BUY
    assert positions[0].qty == pytest.approx(0.01)
    details = await client.position_details()
    assert details[0]["margin_mode"] == "isolated" and details[0]["leverage"] == 5
    assert float(details[0]["liquidation_price"]) < positions[0].entry_price
    funding = await wait_for(
        lambda: client.funding_paid("BTCUSDT"), "a funding payment", timeout_s=30
    )
    assert funding < 0  # positive rate: longs pay
    balance = await client.balance()
    assert balance.currency == "USDT" and balance.total < 10_000.0
    await client.close()


async def test_resting_stop_is_reduce_only_and_fires(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    await client.submit(order("tt-stop-entry", Side.BUY, 0.01))
    await wait_for(client.positions, "the position")
    last = server.last("BTCUSDT")
    level = round(last * 0.995, 1)
    stop = order(
        "tt-stop-sl",
        Side.SELL,
        0.01,
        order_type=OrderType.STOP,
        stop_price=level + 0.07,  # off the 0.1 tick: rounded down, away from the market
        reduce_only=True,
        purpose=OrderPurpose.STOP_LOSS,
    )
    ack = await client.submit(stop)
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    resting = [o for o in await client.open_orders() if o.client_order_id == "tt-stop-sl"]
    assert resting and resting[0].reduce_only and resting[0].order_type is OrderType.STOP
    # rounded away from the market (down for a long's stop) to the 0.1 tick
    assert resting[0].stop_price == pytest.approx(level)
    # the venue holds the stop: it fires with nobody watching, and closes the position
    server.markets["BTCUSDT"].price = last * 0.95
    await wait_for(lambda: not server.positions["BTCUSDT"].amount, "the stop to fire")
    fills = []
    async for event in client.events():
        if isinstance(event, Fill) and event.client_order_id == "tt-stop-sl":
            fills.append(event)
            break
    assert fills[0].side is Side.SELL and fills[0].qty == pytest.approx(0.01)
    await client.close()


async def test_reconciliation_sees_an_order_placed_behind_our_back(
    sim, session: CcxtSession
) -> None:  # type: ignore[no-untyped-def]
    server, rest, ws = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    stranger = ccxtpro.binanceusdm(
        {"apiKey": KEY, "secret": SECRET, "options": dict(BINANCE_FUTURES.options)}
    )
    point_binance(stranger, rest, ws)
    last = server.last("ETHUSDT")
    await stranger.create_order(
        "ETH/USDT:USDT", "limit", "buy", 0.05, round(last * 0.97, 2), {"clientOrderId": "by-hand-1"}
    )
    await stranger.close()
    venue_orders = await client.open_orders()
    orphan = [o for o in venue_orders if o.client_order_id == "by-hand-1"]
    assert orphan and orphan[0].wallet_id == "" and orphan[0].symbol == "ETHUSDT"
    cancelled = await client.cancel("by-hand-1")
    assert cancelled.status is OrderStatus.CANCELLED
    assert not [o for o in await client.open_orders() if o.client_order_id == "by-hand-1"]
    await client.close()


async def test_kline_stream_survives_disconnects_without_lost_or_duplicated_bars(
    sim, session: CcxtSession
) -> None:  # type: ignore[no-untyped-def]
    server, rest, _ = sim
    data = CcxtDataClient(session)
    await data.connect()
    bars = []

    async def collect() -> None:
        async for bar in data.closed_bars("BTCUSDT", "1m"):
            bars.append(bar)
            if len(bars) >= 12:
                return

    task = asyncio.create_task(collect())
    async with aiohttp.ClientSession() as http:
        for n in range(3):
            await wait_for(lambda n=n: len(bars) >= 3 * n + 1, "a bar")
            await wait_for(lambda: server.market_ws, "the kline stream connected")
            # an outage of 2.5 s = 2.5 market minutes: bars close while nobody listens
            async with http.post(f"{rest}/sim/drop", json={"down_s": 2.5}) as resp:
                assert (await resp.json())["dropped"] >= 1
    await asyncio.wait_for(task, 60)
    opens = [b.open_ms for b in bars]
    assert len(set(opens)) == len(opens), "duplicated bar"
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens)), "lost bar"
    assert session.health.reconnects >= 3
    # the simulator's clock runs 60x: ask for bars up to its own present
    end = bars[-1].open_ms + 120_000
    truth = {b.open_ms: b for b in await data.history("BTCUSDT", "1m", end_ms=end, limit=100)}
    for bar in bars:
        assert truth[bar.open_ms].close == pytest.approx(bar.close)
        assert truth[bar.open_ms].high == pytest.approx(bar.high)
    await data.close()


async def test_history_and_funding_series(session: CcxtSession) -> None:
    data = CcxtDataClient(session)
    now = int(time.time() * 1000)
    bars = await data.history("BTC/USDT:USDT", "15m", limit=200)
    assert len(bars) == 200
    assert all(b.open_ms + 900_000 <= now + 3_600_000 for b in bars)
    opens = [b.open_ms for b in bars]
    assert opens == sorted(set(opens))
    rate, mark, next_ms = await data.funding_rate("BTCUSDT")
    assert rate == pytest.approx(0.0001) and mark > 0 and next_ms > 0
    start = opens[0] - 2 * 86_400_000
    history = await data.funding_history("BTCUSDT", start_ms=start, end_ms=opens[-1])
    assert history and all(r == pytest.approx(0.0001) for _, r in history)
    await data.close()


async def test_rate_limit_backs_off_without_a_ban(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    data = CcxtDataClient(session)
    await data.connect()
    server.opt.weight_limit = server._use_weight(0) + 12  # room for two more klines requests
    await data.history("BTCUSDT", "1m", limit=10)
    await data.history("BTCUSDT", "1m", limit=10)
    # the venue's own count came back in X-MBX-USED-WEIGHT-1M and is now ours too
    assert session.throttle.used() >= server._use_weight(0) - 1
    with pytest.raises(TemporaryVenueError) as refused:
        await data.history("BTCUSDT", "1m", limit=10)  # 429 -1003 with Retry-After: 2
    assert refused.value.code == "rate"
    server.opt.weight_limit = 100_000
    server.weight.clear()
    # the next call waits out Retry-After instead of hammering: the venue never bans (418)
    bars = await data.history("BTCUSDT", "1m", limit=10)
    assert len(bars) == 10
    assert server.banned_until == 0.0
    assert session.throttle.waited_s >= 1.5
    await data.close()


async def test_a_restarted_client_knows_its_resting_stop(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    first = CcxtExecClient(session, "live")
    await first.connect()
    await first.submit(order("tt-rs-entry", Side.BUY, 0.01))
    await wait_for(first.positions, "the position")
    level = round(server.last("BTCUSDT") * 0.99, 1)
    stop = order(
        "tt-rs-sl", Side.SELL, 0.01, order_type=OrderType.STOP, stop_price=level,
        reduce_only=True, purpose=OrderPurpose.STOP_LOSS,
    )  # fmt: skip
    assert (await first.submit(stop)).status is OrderStatus.SUBMITTED
    await first.close()
    # a new process: nothing in memory, the stop still rests on the venue under its client id
    second = CcxtExecClient(session, "live")
    await second.connect()
    state = await second.order_status("tt-rs-sl")
    assert state is not None and state.status is OrderStatus.SUBMITTED
    again = await second.submit(stop)  # re-attaching finds it: no second stop
    assert again.venue_order_id == state.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-rs-sl") == 1
    assert (await second.cancel("tt-rs-sl")).status is OrderStatus.CANCELLED
    await second.close()
