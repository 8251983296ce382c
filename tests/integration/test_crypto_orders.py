"""Stop-limit and trailing orders, and stops that are only ever tightened, through ccxt
against the Binance USDT-M and Bybit v5 protocol simulators over loopback (real parts: aiohttp
servers on 127.0.0.1, ccxt's binanceusdm / bybit with their urls pointed at them, signed
requests). Tests wait on the simulator's state, never on time windows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill, Order, OrderPurpose
from tradeterm.venues.crypto.binance import BINANCE_FUTURES
from tradeterm.venues.crypto.bybit import bybit_profile
from tradeterm.venues.crypto.ccxt_venue import CcxtExecClient, CcxtSession
from tradeterm.venues.sim.servers.binance import BinanceFuturesSim, BinanceSimOptions, SimOrder
from tradeterm.venues.sim.servers.bybit import BybitSim

from .crypto_kit import wait_for

KEY, SECRET = "test-key", "test-secret"


def _options() -> BinanceSimOptions:
    return BinanceSimOptions(
        speed=60.0, history_days=1, api_key=KEY, api_secret=SECRET, tick_ms=100,
        funding_interval_s=28_800.0, slippage_bps=0.0,
    )  # fmt: skip


@pytest.fixture
async def binance() -> AsyncIterator[tuple[BinanceFuturesSim, CcxtSession]]:
    server = BinanceFuturesSim(_options())
    rest, ws = await server.start()
    session = CcxtSession(
        "binance_futures", BINANCE_FUTURES, api_key=KEY, secret=SECRET, rest_url=rest, ws_url=ws
    )
    yield server, session
    await session.close()
    await server.stop()


@pytest.fixture
async def bybit() -> AsyncIterator[tuple[BybitSim, CcxtSession]]:
    server = BybitSim(_options())
    rest, ws = await server.start()
    session = CcxtSession(
        "bybit", bybit_profile("linear"), api_key=KEY, secret=SECRET, rest_url=rest, ws_url=ws
    )
    yield server, session
    await session.close()
    await server.stop()


def order(coid: str, side: Side, qty: float, venue: str = "binance_futures", **kw: Any) -> Order:
    return Order(
        client_order_id=coid,
        wallet_id="live-crypto",
        venue=venue,
        symbol=kw.pop("symbol", "BTCUSDT"),
        side=side,
        order_type=kw.pop("order_type", OrderType.MARKET),
        qty=qty,
        created_ms=int(time.time() * 1000),
        **kw,
    )


def placed(server: BinanceFuturesSim, coid: str) -> list[SimOrder]:
    return [o for o in server.orders.values() if o.client_id == coid]


async def long_position(client: CcxtExecClient, coid: str, qty: float = 0.01) -> None:
    ack = await client.submit(order(coid, Side.BUY, qty, venue=client.name))
    assert ack.status is not OrderStatus.REJECTED, ack.reason
    await wait_for(client.positions, "the position")


async def fill_of(client: CcxtExecClient, coid: str) -> Fill:
    async def first() -> Fill:
        async for event in client.events():
            if isinstance(event, Fill) and event.client_order_id == coid:
                return event
        raise AssertionError("event stream ended")

    return await asyncio.wait_for(first(), 30)


def set_price(server: BinanceFuturesSim, price: float, symbol: str = "BTCUSDT") -> None:
    server.markets[symbol].price = price


# ---- stop-limit -----------------------------------------------------------------------------
async def test_binance_stop_limit_rests_rounded_and_waits_for_its_limit(binance) -> None:  # type: ignore[no-untyped-def]
    server, session = binance
    client = CcxtExecClient(session, "live")
    await client.connect()
    await long_position(client, "tt-sl-entry")
    last = server.last("BTCUSDT")
    trigger, limit = round(last * 0.99, 1), round(last * 0.985, 1)
    ack = await client.submit(
        order(
            "tt-stoplimit", Side.SELL, 0.01, order_type=OrderType.STOP_LIMIT,
            stop_price=trigger + 0.07,  # off the 0.1 tick: rounded down, away from the market
            price=limit + 0.04,  # off the tick: rounded to it
            reduce_only=True, purpose=OrderPurpose.STOP_LOSS,
        )
    )  # fmt: skip
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    (sim_order,) = placed(server, "tt-stoplimit")
    assert sim_order.algo and sim_order.type == "STOP" and sim_order.reduce_only
    assert sim_order.stop_price == pytest.approx(trigger)
    assert sim_order.price == pytest.approx(limit)
    (resting,) = [o for o in await client.open_orders() if o.client_order_id == "tt-stoplimit"]
    assert resting.order_type is OrderType.STOP_LIMIT and resting.reduce_only
    assert resting.stop_price == pytest.approx(trigger) and resting.price == pytest.approx(limit)
    # the price gaps through the trigger and below the limit: triggered, but nothing fills
    set_price(server, last * 0.95)
    await wait_for(lambda: sim_order.triggered, "the trigger")
    assert sim_order.status == "NEW" and server.positions["BTCUSDT"].amount > 0
    # back above the limit: the resting limit fills at its price and closes the long
    set_price(server, last * 0.99)
    fill = await fill_of(client, "tt-stoplimit")
    assert fill.side is Side.SELL and fill.qty == pytest.approx(0.01)
    assert fill.price == pytest.approx(limit)
    assert server.positions["BTCUSDT"].amount == 0
    await client.close()


async def test_bybit_stop_limit_carries_its_link_id_and_fires(bybit) -> None:  # type: ignore[no-untyped-def]
    server, session = bybit
    client = CcxtExecClient(session, "main")
    await client.connect()
    await long_position(client, "tt-bb-entry")
    last = server.last("BTCUSDT")
    trigger, limit = round(last * 0.99, 1), round(last * 0.97, 1)
    ack = await client.submit(
        order(
            "tt-bb-stoplimit", Side.SELL, 0.01, venue="bybit", order_type=OrderType.STOP_LIMIT,
            stop_price=trigger + 0.07, price=limit, reduce_only=True,
            purpose=OrderPurpose.STOP_LOSS,
        )
    )  # fmt: skip
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    (sim_order,) = placed(server, "tt-bb-stoplimit")
    assert sim_order.type == "STOP" and sim_order.reduce_only
    assert sim_order.stop_price == pytest.approx(trigger)
    assert sim_order.price == pytest.approx(limit)
    (resting,) = [o for o in await client.open_orders() if o.client_order_id == "tt-bb-stoplimit"]
    assert resting.order_type is OrderType.STOP_LIMIT
    # through the trigger and still above the limit: it fills at once (a taker at the price)
    set_price(server, last * 0.985)
    fill = await fill_of(client, "tt-bb-stoplimit")
    assert fill.side is Side.SELL and fill.price >= limit
    await wait_for(lambda: server.positions["BTCUSDT"].amount == 0, "the long closed")
    await client.close()


async def test_bybit_refuses_trailing_stops_as_its_capabilities_say(bybit) -> None:  # type: ignore[no-untyped-def]
    _server, session = bybit
    client = CcxtExecClient(session, "main")
    await client.connect()
    assert OrderType.TRAILING_STOP not in client.capabilities.order_types
    sent = client.submissions
    refused = await client.submit(
        order(
            "tt-bb-trail", Side.SELL, 0.01, venue="bybit", order_type=OrderType.TRAILING_STOP,
            trail_callback_pct=1.0, reduce_only=True, purpose=OrderPurpose.STOP_LOSS,
        )
    )  # fmt: skip
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason.startswith("bybit does not take trailing_stop orders")
    assert client.submissions == sent
    await client.close()


# ---- trailing stops ---------------------------------------------------------------------------
async def test_binance_trailing_stop_arms_follows_the_best_price_and_fires(binance) -> None:  # type: ignore[no-untyped-def]
    server, session = binance
    client = CcxtExecClient(session, "live")
    await client.connect()
    await long_position(client, "tt-tr-entry")
    last = server.last("BTCUSDT")
    activation = round(last * 1.01, 1)

    def trailing(coid: str, rate: float) -> Order:
        return order(
            coid, Side.SELL, 0.01, order_type=OrderType.TRAILING_STOP, stop_price=activation + 0.03,
            trail_callback_pct=rate, reduce_only=True, purpose=OrderPurpose.STOP_LOSS,
        )  # fmt: skip

    # callback rates outside Binance's 0.1..5% or off its 0.1 step: refused, nothing sent
    sent = client.submissions
    for coid, rate in (("tt-tr-low", 0.05), ("tt-tr-high", 5.5), ("tt-tr-step", 1.05)):
        refused = await client.submit(trailing(coid, rate))
        assert refused.status is OrderStatus.REJECTED and "callback" in refused.reason, rate
        assert not placed(server, coid)
    assert client.submissions == sent
    ack = await client.submit(trailing("tt-trail", 1.0))
    assert ack.status is OrderStatus.SUBMITTED, ack.reason
    (sim_order,) = placed(server, "tt-trail")
    assert sim_order.algo and sim_order.type == "TRAILING_STOP_MARKET" and sim_order.reduce_only
    assert sim_order.callback_rate == pytest.approx(1.0)
    assert sim_order.activation == pytest.approx(activation)  # rounded to the tick
    (resting,) = [o for o in await client.open_orders() if o.client_order_id == "tt-trail"]
    assert resting.order_type is OrderType.TRAILING_STOP
    assert resting.trail_callback_pct == pytest.approx(1.0)
    # below the activation price it does nothing; above it, it arms
    assert not sim_order.triggered
    set_price(server, last * 1.02)
    await wait_for(lambda: sim_order.triggered, "the activation")
    # it follows the best price up without firing
    set_price(server, last * 1.04)
    await wait_for(lambda: sim_order.best >= last * 1.035, "the best price to follow")
    assert sim_order.status == "NEW" and server.positions["BTCUSDT"].amount > 0
    best = sim_order.best
    # a turn back of more than 1% from the best fires it at market
    set_price(server, last * 1.02)
    fill = await fill_of(client, "tt-trail")
    assert fill.side is Side.SELL and fill.qty == pytest.approx(0.01)
    assert last * 1.01 < fill.price <= best * 0.99
    assert server.positions["BTCUSDT"].amount == 0
    await client.close()


# ---- tighten, never widen ---------------------------------------------------------------------
def _stop(coid: str, level: float) -> Order:
    return order(
        coid, Side.SELL, 0.01, order_type=OrderType.STOP, stop_price=level, reduce_only=True,
        purpose=OrderPurpose.STOP_LOSS,
    )  # fmt: skip


async def test_the_adapter_refuses_to_widen_a_resting_stop(binance) -> None:  # type: ignore[no-untyped-def]
    server, session = binance
    client = CcxtExecClient(session, "live")
    await client.connect()
    await long_position(client, "tt-tw-entry")
    last = server.last("BTCUSDT")
    level = round(last * 0.98, 1)
    assert (await client.submit(_stop("tt-tw-1", level))).status is OrderStatus.SUBMITTED
    sent = client.submissions
    # a second, wider stop while the first rests: refused without a request
    wider = await client.submit(_stop("tt-tw-wide", round(last * 0.97, 1)))
    assert wider.status is OrderStatus.REJECTED and "only ever tightened" in wider.reason
    # a replacement to a wider level: refused, the old stop still rests
    replaced, old = await client.replace_stop(
        "tt-tw-1", _stop("tt-tw-wide2", round(last * 0.97, 1))
    )
    assert old is None  # nothing cancelled
    assert replaced.status is OrderStatus.REJECTED and "would widen" in replaced.reason
    assert client.submissions == sent
    assert not placed(server, "tt-tw-wide") and not placed(server, "tt-tw-wide2")
    assert placed(server, "tt-tw-1")[0].status == "NEW"
    # a tighter one: placed first, then the old one cancelled
    tighter = round(last * 0.985, 1)
    done, cancelled = await client.replace_stop("tt-tw-1", _stop("tt-tw-2", tighter))
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert done.status is OrderStatus.SUBMITTED, done.reason
    assert placed(server, "tt-tw-1")[0].status == "CANCELED"
    (new,) = placed(server, "tt-tw-2")
    assert new.status == "NEW" and new.stop_price == pytest.approx(tighter)
    await client.close()
    # a restarted process knows nothing in memory: the venue's open orders decide
    fresh = CcxtExecClient(session, "live")
    await fresh.connect()
    again, _ = await fresh.replace_stop("tt-tw-2", _stop("tt-tw-3", level))
    assert again.status is OrderStatus.REJECTED and "would widen" in again.reason
    assert not placed(server, "tt-tw-3") and placed(server, "tt-tw-2")[0].status == "NEW"
    unknown, _ = await fresh.replace_stop("tt-nope", _stop("tt-tw-4", tighter))
    assert unknown.status is OrderStatus.REJECTED and "no resting stop tt-nope" in unknown.reason
    tightest = round(last * 0.99, 1)
    moved, _ = await fresh.replace_stop("tt-tw-2", _stop("tt-tw-5", tightest))
    assert moved.status is OrderStatus.SUBMITTED, moved.reason
    assert placed(server, "tt-tw-2")[0].status == "CANCELED"
    # a tighter stop the venue no longer holds (gone without a report reaching us) is asked
    # about at the venue and does not block a new one
    placed(server, "tt-tw-5")[0].status = "CANCELED"
    renewed = await fresh.submit(_stop("tt-tw-6", level))
    assert renewed.status is OrderStatus.SUBMITTED, renewed.reason
    await fresh.close()


# ---- the node's stop tightening goes through the adapter ---------------------------------------
async def test_a_tightened_stop_is_placed_before_the_old_one_is_cancelled(  # type: ignore[no-untyped-def]
    bybit, tmp_path
) -> None:
    """The execution engine on a live wallet at the Bybit simulator: an entry fills, its stop
    and target rest; moving the stop tighter has the adapter place the new stop first and then
    cancel the old one (the position is never bare), booked in the ledger."""
    from tests.unit.execution.kit import BTC_PERP, build_rig, decision, signal

    server, session = bybit
    wallet = "live:crypto_perp"
    client = CcxtExecClient(session, "main")
    await client.connect()
    rig = await build_rig(tmp_path, wallets=(), live={wallet: client})  # type: ignore[dict-item]
    last = server.last("BTCUSDT")
    stop, target = round(last * 0.97, 1), round(last * 1.05, 1)
    sig = signal(BTC_PERP, entry=last, stop=stop, target=target)
    await rig.engine.on_decision(decision(sig, wallet, 0.01))
    router = rig.engine.router
    slot = (wallet, BTC_PERP.key)

    def resting(purpose: OrderPurpose) -> str:
        coid = router.protection.get(slot, {}).get(purpose, "")
        booked = router.ledger.get(coid, wallet) if coid else None
        return coid if booked is not None and booked.status is OrderStatus.SUBMITTED else ""

    await wait_for(lambda: resting(OrderPurpose.TAKE_PROFIT), "the target to rest")
    old_id = await wait_for(lambda: resting(OrderPurpose.STOP_LOSS), "the stop to rest")
    (old,) = placed(server, old_id)
    assert old.status == "NEW" and old.stop_price == pytest.approx(stop)
    mark = len(server.requests)
    tighter = round(last * 0.98, 1)
    await rig.engine.move_stop(wallet, BTC_PERP.key, tighter)
    new_id = router.protection[slot][OrderPurpose.STOP_LOSS]
    assert new_id != old_id and router.is_protected(slot)
    (new,) = placed(server, new_id)
    assert new.status == "NEW" and new.stop_price == pytest.approx(tighter)
    assert old.status == "CANCELED"
    calls = [p for _m, p in server.requests[mark:] if p in ("/v5/order/create", "/v5/order/cancel")]
    assert calls == ["/v5/order/create", "/v5/order/cancel"]  # new first, then the old one
    booked = router.ledger.get(old_id, wallet)
    assert booked is not None and booked.status is OrderStatus.CANCELLED
    current = router.ledger.get(new_id, wallet)
    assert current is not None and current.status is OrderStatus.SUBMITTED
    await client.close()
