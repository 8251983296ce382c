"""Binance USDT-M futures testnet through the real adapter (off by default: `pytest -m online`).

Needs BINANCE_API_KEY / BINANCE_API_SECRET of a futures testnet account in the environment;
skipped without them. Places one tiny resting limit order far from the market, finds it among the
open orders by its client id, cancels it; market data needs no keys.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Order
from tradeterm.venues.crypto.binance import BINANCE_FUTURES
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession

pytestmark = pytest.mark.online

KEY = os.environ.get("BINANCE_API_KEY", "")
SECRET = os.environ.get("BINANCE_API_SECRET", "")
needs_keys = pytest.mark.skipif(
    not (KEY and SECRET), reason="BINANCE_API_KEY / BINANCE_API_SECRET not set"
)


def _testnet_clients() -> tuple[CcxtDataClient, CcxtExecClient]:
    """Data and execution clients of one keyed session, always on the testnet (never mainnet,
    whatever keys the environment holds)."""
    session = CcxtSession(
        "binance_futures", BINANCE_FUTURES, api_key=KEY, secret=SECRET, testnet=True
    )
    return CcxtDataClient(session), CcxtExecClient(session, "testnet")


async def test_testnet_markets_and_history() -> None:
    session = CcxtSession("binance_futures", BINANCE_FUTURES, testnet=True)
    data = CcxtDataClient(session)
    try:
        instruments = {i.symbol: i for i in await data.instruments()}
        assert instruments["BTCUSDT"].tick_size > 0 and instruments["BTCUSDT"].min_notional > 0
        bars = await data.history("BTCUSDT", "15m", limit=50)
        assert len(bars) == 50
    finally:
        await data.close()


@needs_keys
async def test_testnet_order_round_trip() -> None:
    data, client = _testnet_clients()
    try:
        await client.connect()
        last = (await data.history("BTCUSDT", "1m", limit=1))[-1].close
        coid = "tt-online-" + uuid.uuid4().hex[:12]
        order = Order(
            client_order_id=coid,
            wallet_id="online",
            venue="binance_futures",
            symbol="BTCUSDT",
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            qty=0.002,
            price=last * 0.96,
            created_ms=int(time.time() * 1000),
        )
        ack = await client.submit(order)
        assert ack.status is OrderStatus.SUBMITTED, ack.reason
        assert any(o.client_order_id == coid for o in await client.open_orders())
        again = await client.submit(order)  # the same id is looked up, not placed twice
        assert again.venue_order_id == ack.venue_order_id
        done = await client.cancel(coid)
        assert done.status is OrderStatus.CANCELLED
    finally:
        await client.close()
        await data.close()


@needs_keys
async def test_testnet_stop_limit_and_trailing_rest_and_cancel() -> None:
    """A buy stop-limit above the market and a buy trailing stop armed below it rest under their
    client ids with their types, and cancel (no position needed: neither is reduce-only)."""
    data, client = _testnet_clients()
    try:
        await client.connect()
        last = (await data.history("BTCUSDT", "1m", limit=1))[-1].close
        tag = uuid.uuid4().hex[:10]
        base = {
            "wallet_id": "online",
            "venue": "binance_futures",
            "symbol": "BTCUSDT",
            "side": Side.BUY,
            "qty": 0.002,
            "created_ms": int(time.time() * 1000),
        }
        stop_limit = Order(
            client_order_id=f"tt-online-sl-{tag}",
            order_type=OrderType.STOP_LIMIT,
            stop_price=last * 1.03,
            price=last * 1.031,
            **base,  # type: ignore[arg-type]
        )
        trailing = Order(
            client_order_id=f"tt-online-tr-{tag}",
            order_type=OrderType.TRAILING_STOP,
            stop_price=last * 0.97,
            trail_callback_pct=1.0,
            **base,  # type: ignore[arg-type]
        )
        for order, kind in (
            (stop_limit, OrderType.STOP_LIMIT),
            (trailing, OrderType.TRAILING_STOP),
        ):
            ack = await client.submit(order)
            assert ack.status is OrderStatus.SUBMITTED, ack.reason
            found = [
                o for o in await client.open_orders() if o.client_order_id == order.client_order_id
            ]
            assert found and found[0].order_type is kind
            assert (await client.cancel(order.client_order_id)).status is OrderStatus.CANCELLED
    finally:
        await client.close()
        await data.close()
