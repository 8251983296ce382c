"""A Deriv paper stream through faults, measured against the simulator's own record.

The real client (DerivDataClient) feeds the real StreamManager, which builds 1-minute bars; the
Deriv simulator drops every connection every `drop_every_s` sim seconds (and duplicates or
reorders frames when asked). At the end the bars are compared with the candles the simulator
builds from every tick it produced. Used by the integration test, the slow soak and the bench.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tradeterm.bus import Bus
from tradeterm.clock import LiveClock
from tradeterm.config.models import MarketDataConfig
from tradeterm.domain.market import Bar
from tradeterm.marketdata.streams import StreamManager
from tradeterm.venues.deriv.connection import DerivConnection
from tradeterm.venues.deriv.data import DerivDataClient
from tradeterm.venues.sim.servers.deriv_sim import DerivSimulator, FaultPlan


@dataclass
class StreamReport:
    sim_minutes: float
    drops: int
    reconnects: int
    candles: int = 0
    lost: list[tuple[str, int]] = field(default_factory=list)
    duplicated: list[tuple[str, int]] = field(default_factory=list)
    mismatched: list[tuple[str, int]] = field(default_factory=list)
    backfilled_ticks: int = 0
    dropped_duplicates: int = 0
    bad_frames: int = 0
    stale_restarts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sim_minutes": self.sim_minutes,
            "drops": self.drops,
            "reconnects": self.reconnects,
            "candles": self.candles,
            "lost_candles": len(self.lost),
            "duplicate_candles": len(self.duplicated),
            "mismatched_candles": len(self.mismatched),
            "backfilled_ticks": self.backfilled_ticks,
            "duplicate_ticks_dropped": self.dropped_duplicates,
            "bad_frames": self.bad_frames,
            "stale_restarts": self.stale_restarts,
        }


async def run_paper_stream(
    *,
    sim_minutes: float,
    speed: float,
    faults: FaultPlan,
    symbols: tuple[str, ...] = ("1HZ100V", "R_100"),
    seed: int = 11,
    stale_after_s: float = 15.0,
) -> StreamReport:
    """Stream `symbols` for `sim_minutes` of sim time and compare bars with the record."""
    bars: list[Bar] = []
    async with DerivSimulator(speed=speed, seed=seed, history_s=900, faults=faults) as sim:
        conn = DerivConnection(sim.url, request_timeout_s=10, max_rps=0)
        client = DerivDataClient(
            "deriv", conn, LiveClock(), conn.health, stale_after_s=stale_after_s
        )
        bus = Bus()

        async def on_bar(_topic: str, bar: Bar) -> None:
            bars.append(bar)

        bus.subscribe("bar", on_bar, inline=True, name="test.bars")
        cfg = MarketDataConfig(
            timeframes=["1m"], window_bars=50, warmup_bars=0, store_candles=False
        )
        manager = StreamManager(bus, LiveClock(), cfg, initial_backoff_s=0.05)
        manager.add_client(client)
        await manager.subscribe("deriv", list(symbols))
        task = asyncio.create_task(manager.run())
        end_ms = sim.clock.start_ms + int(sim_minutes * 60_000)
        # a few sim seconds more to close the last bar; the sim clock is the state waited on
        await asyncio.sleep(sim.clock.wall_seconds((end_ms + 5_000 - sim.clock.now_ms()) / 1000))
        await manager.stop()
        await asyncio.wait_for(task, 30)
        report = StreamReport(sim_minutes, sim.drops, conn.health.reconnects)
        report.backfilled_ticks = client.backfilled_ticks
        report.dropped_duplicates = client.duplicates
        report.bad_frames = conn.health.bad_frames
        report.stale_restarts = client.stale_restarts
        for symbol in symbols:
            _compare(sim, symbol, [b for b in bars if b.symbol == symbol], report)
    return report


def _compare(sim: DerivSimulator, symbol: str, bars: list[Bar], report: StreamReport) -> None:
    """Every record candle from the first whole minute to the last bar, exactly once, equal."""
    if len(bars) < 2:
        report.lost.append((symbol, -1))
        return
    opens = [b.open_ms // 1000 for b in bars]
    seen: set[int] = set()
    for t in opens:
        if t in seen:
            report.duplicated.append((symbol, t))
        seen.add(t)
    first, last = opens[1], opens[-1]  # the first bar began mid-minute (subscribed then)
    record = sim.record_candles(symbol, 60, first, last + 59)
    got = {b.open_ms // 1000: b for b in bars}
    for t, o, h, lo, c in record:
        bar = got.get(t)
        report.candles += 1
        if bar is None:
            report.lost.append((symbol, t))
        elif (bar.open, bar.high, bar.low, bar.close) != (o, h, lo, c):
            report.mismatched.append((symbol, t))
