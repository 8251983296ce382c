"""Bybit spot through ccxt against the Bybit simulator over loopback: spot markets load, a buy
rounded to the filters is placed once with its orderLinkId, the coins it bought are the venue's
"position", a sell beyond them is refused, a resting limit is listed and cancelled, trades stream
on the spot websocket. No shorts, stops, leverage or funding on spot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.crypto_kit import ccxt_session, order, served, wait_for
from tradeterm.domain.enums import ContractKind, Domain, OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill
from tradeterm.venues.crypto.bybit import bybit_profile
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession
from tradeterm.venues.sim.servers.binance import BinanceSimOptions
from tradeterm.venues.sim.servers.bybit import BybitSim

KEY, SECRET = "bybit-key", "bybit-secret"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[BybitSim, str, str]]:
    server = BybitSim(BinanceSimOptions(speed=60.0, history_days=2, api_key=KEY,
                                        api_secret=SECRET, tick_ms=100, balance=10_000.0))  # fmt: skip
    async with served(server) as running:
        yield running


@pytest.fixture
async def session(sim) -> AsyncIterator[CcxtSession]:  # type: ignore[no-untyped-def]
    _, rest, ws = sim
    async with ccxt_session("bybit", bybit_profile("spot"), KEY, SECRET, rest, ws) as s:
        yield s


async def test_spot_markets_history_and_trades(session: CcxtSession) -> None:
    data = CcxtDataClient(session)
    await data.connect()
    btc = {i.symbol: i for i in await data.instruments()}["BTCUSDT"]
    assert (btc.kind, btc.domain, btc.display_name) == (
        ContractKind.SPOT, Domain.CRYPTO_SPOT, "BTC/USDT"
    )  # fmt: skip
    assert (btc.tick_size, btc.lot_step) == (0.1, 0.001) and not btc.shortable
    assert not data.capabilities.funding and not data.capabilities.native_stops
    bars = await data.history("BTCUSDT", "15m", limit=50)
    assert len(bars) == 50 and [b.open_ms for b in bars] == sorted({b.open_ms for b in bars})
    await data.subscribe(["BTCUSDT"])
    tick = await wait_for(lambda: anext(aiter(data.ticks())), "a spot trade")
    assert tick.symbol == "BTCUSDT" and tick.price > 0
    await data.close()


async def test_spot_buy_once_hold_sell_and_refusals(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    client = CcxtExecClient(session, "live")
    await client.connect()
    assert await client.positions() == []
    ack = await client.submit(order("tt-sp-1", Side.BUY, 0.01279))
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    placed = [o for o in server.orders.values() if o.client_id == "tt-sp-1"]
    assert len(placed) == 1 and placed[0].qty == pytest.approx(0.012)  # floored to the lot
    assert placed[0].order_id in server.spot_ids and not server.positions["BTCUSDT"].amount
    fill = await anext(e async for e in client.events() if isinstance(e, Fill))
    assert fill.client_order_id == "tt-sp-1" and fill.qty == pytest.approx(0.012)
    again = await client.submit(order("tt-sp-1", Side.BUY, 0.012))  # a retry: not placed twice
    assert again.venue_order_id == ack.venue_order_id
    assert [o.client_id for o in server.orders.values()].count("tt-sp-1") == 1
    (held,) = await client.positions()
    assert (held.symbol, held.side, held.qty) == ("BTCUSDT", Side.BUY, pytest.approx(0.012))
    # a sell beyond the coins held: refused by the venue (no shorts on spot)
    short = await client.submit(order("tt-sp-2", Side.SELL, 0.05))
    assert short.status is OrderStatus.REJECTED and "balance" in short.reason.lower()
    # a resting limit below the market: listed, then cancelled
    below = round(server.last("BTCUSDT") * 0.98, 1)
    rest = await client.submit(order("tt-sp-3", Side.BUY, 0.005, order_type=OrderType.LIMIT,
                                     price=below))  # fmt: skip
    assert rest.status is OrderStatus.SUBMITTED, rest.reason
    assert [o.client_order_id for o in await client.open_orders()] == ["tt-sp-3"]
    cancelled = await client.cancel("tt-sp-3")
    assert cancelled.status is OrderStatus.CANCELLED
    # selling what was bought closes the holding
    sold = await client.submit(order("tt-sp-4", Side.SELL, 0.012))
    assert sold.status is OrderStatus.SUBMITTED, sold.reason
    await wait_for(lambda: server.spot_coins.get("BTC") == 0.0, "the coins sold")
    assert await client.positions() == []
    await client.close()


async def test_spot_fee_tier_per_market(sim, session: CcxtSession) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = sim
    await session.open()
    assert session.fee_rates("BTCUSDT") != (server.opt.maker_fee, server.opt.taker_fee)
    assert await session.load_trading_fees(["BTCUSDT"]) == 1  # spot: one call per market
    assert session.fee_rates("BTCUSDT") == (server.opt.maker_fee, server.opt.taker_fee)
    assert server.requests.count(("GET", "/v5/account/fee-rate")) == 1
