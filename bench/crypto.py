"""Crypto adapter latencies against the Binance USDT-M simulator on loopback (ccxt async + pro).

- order round trip: `CcxtExecClient.submit` of a market order (validate, round, HMAC-sign, POST,
  parse) until the acknowledgement returns, and until its fill arrives on `events()` (user-data
  websocket), p50 / p99 over N orders;
- tick latency with 50 symbols streaming: from the simulator stamping an aggTrade (`T`, ms) to the
  Tick coming out of `CcxtDataClient.ticks()` (websocket, ccxt parsing, the adapter), p50 / p99.
  The node's own tick -> risk decision path after that is measured by bench/node_latency.py.

The simulator runs in the same process and event loop as the client (one core does both), so
these are upper bounds of the adapter's own cost on an idle network.

    python -m bench.crypto [--orders 300] [--seconds 20] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from bench.results import machine_line, write_section
from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Fill, Order
from tradeterm.venues.crypto.binance import BINANCE_FUTURES
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtExecClient, CcxtSession
from tradeterm.venues.sim.servers.binance import BinanceFuturesSim, BinanceSimOptions


def pct(values: list[float]) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.max())


async def order_round_trips(n: int, ccxt_limiter: bool) -> tuple[list[float], list[float]]:
    sim = BinanceFuturesSim(
        BinanceSimOptions(history_days=1, api_key="k", api_secret="s", weight_limit=100_000)
    )
    rest, ws = await sim.start()
    session = CcxtSession(
        "bench", BINANCE_FUTURES, api_key="k", secret="s", rest_url=rest, ws_url=ws
    )
    session.throttle.per_minute = 100_000
    client = CcxtExecClient(session, "live")
    await client.connect()
    session.exchange.enableRateLimit = ccxt_limiter
    acks: list[float] = []
    fills: list[float] = []
    events = client.events()
    for i in range(n):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        order = Order(
            client_order_id=f"bench-{i}",
            wallet_id="bench",
            venue="bench",
            symbol="BTCUSDT",
            side=side,
            order_type=OrderType.MARKET,
            qty=0.005,
            created_ms=int(time.time() * 1000),
        )
        t0 = time.perf_counter()
        await client.submit(order)
        acks.append((time.perf_counter() - t0) * 1000)
        while True:
            event = await anext(events)
            if isinstance(event, Fill) and event.client_order_id == order.client_order_id:
                break
        fills.append((time.perf_counter() - t0) * 1000)
    await client.close()
    await session.close()
    await sim.stop()
    return acks, fills


async def tick_latency(seconds: float) -> tuple[list[float], int]:
    sim = BinanceFuturesSim(
        BinanceSimOptions(symbols=[], extra_symbols=50, history_days=0.1, tick_ms=100)
    )
    rest, ws = await sim.start()
    session = CcxtSession("bench", BINANCE_FUTURES, rest_url=rest, ws_url=ws)
    data = CcxtDataClient(session)
    await data.connect()
    symbols = sorted(session.markets)
    await data.subscribe(symbols)
    latencies: list[float] = []
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    async for tick in data.ticks():
        now = time.time() * 1000
        seen.add(tick.symbol)
        latencies.append(now - tick.ts_ms)
        if time.monotonic() > deadline:
            break
    await data.close()
    await sim.stop()
    return latencies, len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    acks, fills = asyncio.run(order_round_trips(args.orders, ccxt_limiter=False))
    limited, _ = asyncio.run(order_round_trips(min(args.orders, 50), ccxt_limiter=True))
    l50, l99, lmax = pct(limited)
    ticks, symbols = asyncio.run(tick_latency(args.seconds))
    a50, a99, amax = pct(acks)
    f50, f99, fmax = pct(fills)
    t50, t99, tmax = pct(ticks)
    body = "\n".join(
        [
            machine_line() + "; ccxt binanceusdm against tradeterm sim-server binance-futures,"
            " same process, loopback.",
            "",
            "| measure | n | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            f"| order submit -> ack (REST) | {len(acks)} | {a50:.2f} | {a99:.2f} | {amax:.2f} |",
            f"| order submit -> fill event (user websocket) | {len(fills)} | {f50:.2f} | {f99:.2f}"
            f" | {fmax:.2f} |",
            f"| order submit -> ack, ccxt's own rate limiter on (as shipped) | {len(limited)}"
            f" | {l50:.2f} | {l99:.2f} | {lmax:.2f} |",
            f"| aggTrade stamped -> Tick out of the adapter, {symbols} symbols | {len(ticks)}"
            f" | {t50:.1f} | {t99:.1f} | {tmax:.1f} |",
            "",
            "The fill event is taken from the order response when it reports the fill, deduplicated"
            " against the user stream, so it lands with the acknowledgement. ccxt's limiter spaces"
            " calls by the endpoint's weight (binanceusdm: 50 ms per weight unit).",
            "Tick latency has millisecond resolution (the venue stamps ms). The node's tick -> risk"
            " decision path after the adapter: bench/node_latency.py.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("crypto", "Crypto adapter (ccxt) against the Binance USDT-M simulator", body)


if __name__ == "__main__":
    main()
