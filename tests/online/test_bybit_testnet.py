"""Bybit v5 testnet (linear) through the real adapter (off by default: `pytest -m online`).

Needs BYBIT_API_KEY / BYBIT_API_SECRET of a testnet unified account; skipped without them.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Order
from tradeterm.venues.crypto.bybit import bybit_profile
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession

pytestmark = pytest.mark.online

KEY = os.environ.get("BYBIT_API_KEY", "")
SECRET = os.environ.get("BYBIT_API_SECRET", "")


async def test_testnet_markets_and_history() -> None:
    session = CcxtSession("bybit", bybit_profile("linear"), testnet=True)
    data = CcxtDataClient(session)
    try:
        btc = {i.symbol: i for i in await data.instruments()}["BTCUSDT"]
        assert btc.tick_size > 0 and btc.lot_step > 0
        bars = await data.history("BTCUSDT", "15m", limit=50)
        assert len(bars) == 50
        assert [b.open_ms for b in bars] == sorted(b.open_ms for b in bars)
    finally:
        await data.close()


@pytest.mark.skipif(not (KEY and SECRET), reason="BYBIT_API_KEY / BYBIT_API_SECRET not set")
async def test_testnet_order_round_trip() -> None:
    session = CcxtSession("bybit", bybit_profile("linear"), api_key=KEY, secret=SECRET)
    data = CcxtDataClient(session)
    client = CcxtExecClient(session, "testnet")
    try:
        await client.connect()
        last = (await data.history("BTCUSDT", "1m", limit=1))[-1].close
        coid = "tt-online-" + uuid.uuid4().hex[:12]
        order = Order(
            client_order_id=coid,
            wallet_id="online",
            venue="bybit",
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
        done = await client.cancel(coid)
        assert done.status is OrderStatus.CANCELLED
    finally:
        await client.close()
        await data.close()
