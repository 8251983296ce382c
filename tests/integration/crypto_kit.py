"""Crypto adapter test kit: a protocol simulator served on loopback, a ccxt session pointed at
it, an order builder and a state poller (state, not wall-clock windows)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Order
from tradeterm.venues.crypto.ccxt_venue import CcxtSession


class _Server(Protocol):
    async def start(self) -> tuple[str, str]: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=_Server)


@asynccontextmanager
async def served(server: S) -> AsyncIterator[tuple[S, str, str]]:
    """The simulator started on loopback: (server, REST URL, WS URL); stopped on the way out."""
    rest, ws = await server.start()
    yield server, rest, ws
    await server.stop()


@asynccontextmanager
async def ccxt_session(
    venue: str, profile: Any, key: str, secret: str, rest: str, ws: str
) -> AsyncIterator[CcxtSession]:
    """A ccxt session for VENUE (its profile) pointed at the simulator's URLs; closed after."""
    s = CcxtSession(venue, profile, api_key=key, secret=secret, rest_url=rest, ws_url=ws)
    yield s
    await s.close()


async def wait_for(predicate, what: str, timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    """Poll an async or sync predicate until it returns something truthy (state, not time)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def order(coid: str, side: Side, qty: float, **kw) -> Order:  # type: ignore[no-untyped-def]
    return Order(
        client_order_id=coid,
        wallet_id="live-crypto",
        venue="binance_futures",
        symbol=kw.pop("symbol", "BTCUSDT"),
        side=side,
        order_type=kw.pop("order_type", OrderType.MARKET),
        qty=qty,
        created_ms=int(time.time() * 1000),
        **kw,
    )
