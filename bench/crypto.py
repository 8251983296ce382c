"""Crypto adapter latencies against the Binance USDT-M simulator on loopback (ccxt async + pro).

- order round trip: `CcxtExecClient.submit` of a market order (validate, round, HMAC-sign, POST,
  parse) until the acknowledgement returns, and until its fill arrives on `events()` (user-data
  websocket), p50 / p99 over N orders;
- tick latency with 50 symbols streaming: from the simulator stamping an aggTrade (`T`, ms) to the
  Tick coming out of `CcxtDataClient.ticks()` (websocket, ccxt parsing, the adapter), p50 / p99.
- the node's tick -> risk decision latency with 50 crypto symbols streaming from the simulator:
  the whole node (`build_node` on a LiveClock, the shipped binance_futures venue builder, paper
  wallet, candle store on) subscribed to 50 perpetuals over the simulator's websocket, with the
  default strategies on 1 m bars (busy parameters so decisions are plentiful). The probe of
  bench/node_latency.py times each risk decision from the arrival on the bus of the tick that
  closed the deciding bar (one synchronous call chain: tick -> bar -> strategy -> allocator ->
  risk). Only 1 m bars exist on the venue, so decisions come once a minute per symbol.

The simulator runs in the same process and event loop as the client (one core does both), so
these are upper bounds of the adapter's own cost on an idle network.

    python -m bench.crypto [--orders 300] [--seconds 20] [--node-minutes 4] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.node_latency import Probe, latency_summary
from bench.results import machine_line, write_section
from tradeterm.clock import LiveClock
from tradeterm.config import config_from_dict
from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Fill, Order
from tradeterm.node import NodeOptions, build_node
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


def node_config(state: Path, rest: str, ws: str, symbols: list[str]) -> Any:
    """The node of configs/binance-futures.toml on 50 symbols of the simulator, paper only,
    strategies on 1 m bars with busy parameters, orders approved without confirmation."""
    data: dict[str, Any] = {
        "venues": {
            "binance_futures": {
                "kind": "binance_futures",
                "testnet": False,
                "rest_url": rest,
                "ws_url": ws,
            }
        },
        "domains": {"crypto_perp": {"venue": "binance_futures", "symbols": symbols}},
        "marketdata": {
            "timeframes": ["1m"],
            "window_bars": 300,
            "warmup_bars": 300,
            "store_candles": True,
        },
        "strategies": {
            "ema_trend": {
                "domains": ["crypto_perp"],
                "timeframes": ["1m"],
                "params": {"fast": 5, "slow": 20, "adx_threshold": 15},
            },
            "breakout": {
                "domains": ["crypto_perp"],
                "timeframes": ["1m"],
                "params": {"channel": 12, "min_clear_atr": 0.0},
            },
            "mean_revert": {"domains": ["crypto_perp"], "timeframes": ["1m"]},
        },
        "allocator": {"exploration": 0.5},
        "risk": {
            "cooldown_losses": 50,
            "daily_loss_cap": 0.5,
            "symbol_loss_cap": 0.5,
            "max_drawdown": 0.5,
            "max_portfolio_exposure": 1.0,
        },
        "execution": {"confirm": "never", "confirmation_ttl_s": 30, "resting_stops": False},
        "rollout": {
            "initial_stage": 1,
            "stages": [{"name": "perps-paper", "domains": {"crypto_perp": "paper"}}],
        },
        "storage": {"state_dir": str(state)},
        "telemetry": {"log_format": "json", "log_level": "warning", "prometheus": False},
    }
    return config_from_dict(data, source="bench.crypto")


async def node_decisions(minutes: float) -> dict[str, Any]:
    """The whole node against the simulator streaming 50 symbols: tick -> decision latency."""
    sim = BinanceFuturesSim(
        BinanceSimOptions(symbols=[], extra_symbols=50, history_days=0.5, tick_ms=250)
    )
    rest, ws = await sim.start()
    with tempfile.TemporaryDirectory(prefix="bench-crypto-") as tmp:
        state = Path(tmp)
        probe_session = CcxtSession("probe", BINANCE_FUTURES, rest_url=rest, ws_url=ws)
        await probe_session.open()
        symbols = sorted(probe_session.markets)
        await probe_session.close()
        cfg = node_config(state, rest, ws, symbols)
        node = build_node(cfg, LiveClock(), NodeOptions(state_dir=str(state), metrics_server=False))
        probe = Probe()
        probe.attach(node.bus)
        await node.start()
        probe.reset()
        await asyncio.sleep(minutes * 60.0)  # the node runs on its own tasks meanwhile
        result = {
            "symbols": len(node.markets),
            "ticks": probe.ticks,
            "bars": len(probe.bar_ns) + probe.untimed_bars,
            "untimed_bars": probe.untimed_bars,
            "untimed_decisions": probe.untimed_decisions,
            "approved": probe.approved,
            "bar": latency_summary(probe.bar_ns),
            "signal": latency_summary(probe.signal_ns),
            "decision": latency_summary(probe.decision_ns),
        }
        await node.stop()
    await sim.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--node-minutes", type=float, default=4.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    acks, fills = asyncio.run(order_round_trips(args.orders, ccxt_limiter=False))
    limited, _ = asyncio.run(order_round_trips(min(args.orders, 50), ccxt_limiter=True))
    l50, l99, lmax = pct(limited)
    ticks, symbols = asyncio.run(tick_latency(args.seconds))
    node = asyncio.run(node_decisions(args.node_minutes))
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
            f"The whole node against the simulator, {node['symbols']} perpetuals streaming"
            f" (aggTrade, markPrice, kline) for {args.node_minutes:g} min on a LiveClock, default"
            " strategies on 1 m bars, paper wallet: "
            f"{node['ticks']} ticks, {node['bars']} bars, {node['decision']['count']} risk"
            f" decisions timed ({node['approved']} approved, {node['untimed_decisions']} after"
            " bars closed by the quiet-market timer, not timed).",
            "",
            "| node path, from the tick's arrival on the bus | n | p50 ms | p90 ms | p99 ms"
            " | max ms |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| tick -> {label} | {s['count']} | {s['p50']:.3f} | {s['p90']:.3f}"
                f" | {s['p99']:.3f} | {s['max']:.3f} |"
                for label, s in (
                    ("bar close", node["bar"]),
                    ("signal", node["signal"]),
                    ("risk decision", node["decision"]),
                )
            ),
            "",
            "The fill event is taken from the order response when it reports the fill, deduplicated"
            " against the user stream, so it lands with the acknowledgement. ccxt's limiter spaces"
            " calls by the endpoint's weight (binanceusdm: 50 ms per weight unit).",
            "Tick latency has millisecond resolution (the venue stamps ms). The node rows are"
            " perf_counter spans inside one synchronous call chain (bench/node_latency.py's probe);"
            " add the adapter row for exchange stamp -> decision. Decisions come once per 1 m"
            " bar close per symbol, so n is small; the simulator shares the process and core.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("crypto", "Crypto adapter (ccxt) against the Binance USDT-M simulator", body)


if __name__ == "__main__":
    main()
