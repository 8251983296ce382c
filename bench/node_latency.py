"""The trading node's live path under load: 50 sim markets streaming into one pinned core.

Measures, on a SimClock driven as fast as the machine allows (targets from the issue):
- tick -> risk decision latency, p50 / p90 / p99 / max (target p99 <= 2 ms): for every risk
  decision, from the moment the tick that closed the deciding bar entered the node to the moment
  the decision was published. Two inline bus subscribers, registered before the node attaches its
  engines so they run first, read `time.perf_counter_ns`: one on TICK (the arrival of the latest
  tick), one on RISK_DECISION. The path tick -> bar -> strategy -> allocator -> risk is one
  synchronous call chain, so the difference is exact. Tick -> bar close and tick -> signal are
  measured the same way, and each decision's latency is split into its stages. Bars closed by
  the quiet-market timer (not by a tick), and decisions that follow them, are counted, not timed;
- sustained ticks per second through the whole node (target >= 5,000 per CPU second, one core);
- RSS at steady state and at peak (target <= 200 MB), with where it comes from.

RSS is judged where it is realistic: the `memory` scenario runs the whole node (candle store on)
at sim speed 1, the real tick rate (about 50 ticks per simulated second), for 15 simulated
minutes after the warm-up, still on a SimClock driven as fast as possible; steady RSS is the
median of the samples over the last 10 simulated minutes, peak RSS is ru_maxrss. At speed 100
the tapes hold a hundred times the ticks of the same clock window (the retention window is
clock time), so RSS there is context only. `memory_feed` is the sim venue alone at speed 1.

At sim speed 100 the 50 indices tick 4,750 times per simulated second while bars still close on
the simulated clock: the tick-to-bar mix of a real 5,000 ticks/s feed. Peers in the same run, on
the same venue, clock drive and core: the sim venue alone (the harness floor), the bare bus +
stream manager + bar builder with no engines, the node with its candle store off, and the node
with a 0.5 ms GIL switch interval (the store writes parquet on a worker thread). Every scenario
runs in a fresh process (clean RSS), pinned with sched_setaffinity.

    python -m bench.node_latency [--minutes 5] [--speed 100] [--profile] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.results import machine_line, write_section
from bench.sim50 import bench_config, build_sim50_venue, fifty_symbols
from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.daemon import GIL_SWITCH_INTERVAL_S
from tradeterm.domain import events as ev
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.signals import Signal
from tradeterm.indicators import use_backend
from tradeterm.marketdata.streams import StreamManager
from tradeterm.node import NodeOptions, build_node
from tradeterm.telemetry.logging import setup_logging
from tradeterm.testing.node_kit import advance

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC
STEP_S = 1.0
"""Simulated seconds per SimClock step (every sleeper still wakes at its own time within it)."""
SAMPLE_S = 10.0
"""Simulated seconds between RSS samples."""
WARM_S = 60.0
"""Simulated seconds run before measuring (JIT kernels loaded, first signals and orders)."""
SCENARIOS = ("feed", "streams", "node_nostore", "node_numba", "node", "memory_feed", "memory")
TITLES = {
    "feed": "sim venue only (harness floor)",
    "streams": "bus + stream manager + bar builder, no engines",
    "node_nostore": "whole node, candle store off",
    "node_numba": "whole node, store on, numba indicators, Python's default 5 ms GIL switch",
    "node": "whole node as the daemon runs it (store on, TA-Lib indicators, 0.5 ms GIL switch)",
    "memory_feed": "sim venue only, speed 1 (memory floor)",
    "memory": "whole node, store on, speed 1 (memory target)",
}
MEMORY_SPEED = 1.0
"""Sim speed of the memory scenarios: the indices tick at their real rate."""
MEMORY_MINUTES = 15.0
"""Simulated minutes the memory scenarios run after the warm-up."""
STEADY_WINDOW_S = 600.0
"""Steady RSS of the memory scenarios: median of the samples over this many simulated seconds."""
RATES = {"memory_feed": (MEMORY_MINUTES, MEMORY_SPEED), "memory": (MEMORY_MINUTES, MEMORY_SPEED)}
"""Scenarios that run at their own (minutes, speed) rather than the command line's."""
LIVE_PROCESS_SCENARIOS = frozenset({"node", "node_nostore", "memory", "memory_feed"})
"""Scenarios that set the process up as `tradeterm.daemon.prepare_process` does (the switch
interval and the TA-Lib indicator backend); node_numba is the peer without those settings."""
P99_TARGET_MS = 2.0
TICKS_TARGET = 5_000.0
RSS_TARGET_MB = 200.0
MB = 1024 * 1024
HEAVY_IMPORTS = ("numpy", "talib", "pyarrow", "numba", "pandas")
"""Libraries whose import costs tens of MB; the floor shows those the node actually loads."""
NODE_LOADS = """
import json, sys
import tradeterm.node
print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""
IMPORT_FLOOR = """
import json, psutil
rss = lambda: psutil.Process().memory_info().rss / 2**20
out = [("interpreter", rss())]
for name in {names!r}:
    __import__(name)
    out.append((name, rss()))
print(json.dumps(out))
"""
"""Cumulative RSS of a fresh interpreter as the node's heavy imports load, one by one."""


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / MB


class Probe:
    """Inline bus subscribers that time the live path: the latest tick's arrival, and each bar
    close, signal and risk decision that follows from it in the same call chain."""

    def __init__(self) -> None:
        self.ticks = 0
        self.last_tick: Tick | None = None
        self.tick_ns = 0
        self.chain_symbol: str | None = None
        self.bar_at: dict[str, int] = {}
        self.signal_at: dict[str, int] = {}
        self.bar_ns: list[int] = []
        self.signal_ns: list[int] = []
        self.decision_ns: list[int] = []
        self.stages_ns: list[tuple[int, int, int]] = []
        self.untimed_bars = 0
        self.untimed_decisions = 0
        self.approved = 0

    def reset(self) -> None:
        """Forget what the warm-up recorded."""
        self.ticks = self.untimed_bars = self.untimed_decisions = self.approved = 0
        for samples in (self.bar_ns, self.signal_ns, self.decision_ns, self.stages_ns):
            samples.clear()

    def attach(self, bus: Bus) -> None:
        """Subscribe first, so each handler runs before any engine sees the message."""
        bus.subscribe(ev.TICK, self.on_tick, inline=True, name="bench.tick")
        bus.subscribe(ev.BAR, self.on_bar, inline=True, name="bench.bar")
        bus.subscribe(ev.SIGNAL, self.on_signal, inline=True, name="bench.signal")
        bus.subscribe(ev.RISK_DECISION, self.on_decision, inline=True, name="bench.decision")

    def on_tick(self, _topic: str, tick: Tick) -> None:
        self.tick_ns = time.perf_counter_ns()
        self.ticks += 1
        self.last_tick = tick
        if self.chain_symbol is not None:
            self.chain_symbol = None
            self.bar_at.clear()
            self.signal_at.clear()

    def on_bar(self, _topic: str, bar: Bar) -> None:
        now = time.perf_counter_ns()
        tick = self.last_tick
        if tick is not None and tick.symbol == bar.symbol and bar.close_ms <= tick.ts_ms:
            self.bar_ns.append(now - self.tick_ns)
            self.bar_at[bar.timeframe] = now
            self.chain_symbol = bar.symbol
        else:  # closed by the quiet-market timer, not by a tick
            self.untimed_bars += 1
            self.chain_symbol = None

    def on_signal(self, _topic: str, signal: Signal) -> None:
        if signal.symbol == self.chain_symbol:
            now = time.perf_counter_ns()
            self.signal_ns.append(now - self.tick_ns)
            self.signal_at[signal.id] = now

    def on_decision(self, _topic: str, decision: ev.RiskDecision) -> None:
        now = time.perf_counter_ns()
        self.approved += decision.approved
        signal = decision.intent.signal
        if signal.symbol != self.chain_symbol:
            self.untimed_decisions += 1
            return
        self.decision_ns.append(now - self.tick_ns)
        bar_at = self.bar_at.get(signal.timeframe, self.tick_ns)
        signal_at = self.signal_at.get(signal.id, bar_at)
        self.stages_ns.append((bar_at - self.tick_ns, signal_at - bar_at, now - signal_at))


def latency_summary(samples_ns: list[int]) -> dict[str, float]:
    """Count, p50, p90, p99, max of latencies in milliseconds, and how many exceed the target."""
    if not samples_ns:
        return {"count": 0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "over": 0}
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50, p90, p99 = (float(v) for v in np.percentile(ms, [50, 90, 99]))
    over = int(np.count_nonzero(ms > P99_TARGET_MS))
    return {
        "count": len(ms),
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "max": float(ms.max()),
        "over": over,
    }


async def drive(
    clock: SimClock, probe: Probe, minutes: float, settle: Callable[[], Awaitable[None]]
) -> dict[str, Any]:
    """Warm up, then advance `minutes` of simulated time as fast as possible; CPU, wall, RSS."""
    await advance(clock, WARM_S, step=STEP_S)
    await settle()
    probe.reset()
    warm_rss = rss_mb()
    rss: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    remaining = minutes * 60.0
    while remaining > 0:
        chunk = min(SAMPLE_S, remaining)
        await advance(clock, chunk, step=STEP_S)
        remaining -= chunk
        rss.append(rss_mb())
    await settle()  # queued subscribers (event log, metrics) finish the work they were handed
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "ticks": probe.ticks,
        "cpu_s": cpu,
        "wall_s": wall,
        "sim_s": minutes * 60.0,
        "rss_warm_mb": warm_rss,
        "rss_steady_mb": rss[-1],
        "rss_max_sampled_mb": max(rss),
        "rss_samples_mb": rss,
    }


def steady_rss(samples: list[float]) -> float:
    """Median of the RSS samples taken over the last STEADY_WINDOW_S simulated seconds."""
    window = max(1, round(STEADY_WINDOW_S / SAMPLE_S))
    return float(np.median(samples[-window:]))


async def _nothing() -> None:
    await asyncio.sleep(0)


async def run_feed(state: Path, minutes: float, speed: float) -> dict[str, Any]:
    """The harness floor: the 50-market sim venue streaming into a loop that only counts."""
    imports_mb = rss_mb()
    clock = SimClock(START_MS)
    handle = build_sim50_venue("sim", bench_config(state, speed=speed).venues["sim"], clock)
    probe = Probe()
    await handle.data.connect()
    await handle.data.subscribe(fifty_symbols())

    async def consume() -> None:
        async for tick in handle.data.ticks():
            probe.on_tick(ev.TICK, tick)

    task = asyncio.create_task(consume())
    result = await drive(clock, probe, minutes, _nothing)
    task.cancel()
    closing = handle.close() if handle.close is not None else None
    if isinstance(closing, Awaitable):
        await closing
    result["imports_mb"] = imports_mb
    result["venue_mb"] = result["rss_steady_mb"] - imports_mb
    return result


async def run_streams(state: Path, minutes: float, speed: float) -> dict[str, Any]:
    """The peer without engines: venue -> stream manager (dedup, bar builder, windows) -> bus."""
    clock = SimClock(START_MS)
    cfg = bench_config(state, speed=speed)
    handle = build_sim50_venue("sim", cfg.venues["sim"], clock)
    bus = Bus()
    probe = Probe()
    probe.attach(bus)
    await bus.start()
    streams = StreamManager(bus, clock, cfg.marketdata)
    streams.add_client(handle.data)
    await streams.subscribe("sim", fifty_symbols())
    task = asyncio.create_task(streams.run())
    result = await drive(clock, probe, minutes, bus.drain)
    result["bars"] = len(probe.bar_ns) + probe.untimed_bars
    await streams.stop()
    await task
    await bus.stop()
    return result


async def run_node(
    state: Path, minutes: float, speed: float, *, store: bool = True
) -> dict[str, Any]:
    """The whole node: 50 markets, default strategies on 5 s / 15 s / 1 m, paper wallets."""
    memory = {"imports": rss_mb()}
    clock = SimClock(START_MS)
    cfg = bench_config(state, speed=speed, store_candles=store)
    tel = cfg.telemetry
    setup_logging(  # as the daemon does: the event log goes to the state folder
        clock, level=tel.log_level, fmt=tel.log_format, stream=None, files=[state / "tradeterm.log"]
    )
    options = NodeOptions(state_dir=str(state), metrics_server=False)
    node = build_node(cfg, clock, options, venue_builder=build_sim50_venue)
    memory["built (sim venue tapes)"] = rss_mb()
    probe = Probe()
    probe.attach(node.bus)
    await node.start()
    memory["started (warm-up windows filled)"] = rss_mb()
    result = await drive(clock, probe, minutes, node.bus.drain)
    memory["after the warm-up run (numba kernels load on first use)"] = result["rss_warm_mb"]
    memory["end of run"] = result["rss_steady_mb"]
    result["loaded"] = [m for m in HEAVY_IMPORTS if m in sys.modules]
    result.update(
        memory=memory,
        markets=len(node.markets),
        runners=len(node.strategies.runners),
        bars=len(probe.bar_ns) + probe.untimed_bars,
        untimed_bars=probe.untimed_bars,
        untimed_decisions=probe.untimed_decisions,
        approved=probe.approved,
        latency={
            "bar": latency_summary(probe.bar_ns),
            "signal": latency_summary(probe.signal_ns),
            "decision": latency_summary(probe.decision_ns),
        },
        stages={
            name: latency_summary([s[i] for s in probe.stages_ns])
            for i, name in enumerate(("to_bar", "to_signal", "to_decision"))
        },
    )
    await node.stop()
    return result


async def run_node_nostore(state: Path, minutes: float, speed: float) -> dict[str, Any]:
    """The whole node with `marketdata.store_candles = false`."""
    return await run_node(state, minutes, speed, store=False)


async def run_memory(state: Path, minutes: float, speed: float) -> dict[str, Any]:
    """The whole node at the real tick rate: steady RSS is the median of the last samples."""
    result = await run_node(state, minutes, speed)
    result["rss_steady_mb"] = steady_rss(result["rss_samples_mb"])
    result["memory"][f"steady (median of the last {STEADY_WINDOW_S / 60:g} simulated minutes)"] = (
        result["rss_steady_mb"]
    )
    return result


async def run_memory_feed(state: Path, minutes: float, speed: float) -> dict[str, Any]:
    """The sim venue alone at the real tick rate: what its tapes cost the memory scenario."""
    result = await run_feed(state, minutes, speed)
    result["rss_steady_mb"] = steady_rss(result["rss_samples_mb"])
    result["venue_mb"] = result["rss_steady_mb"] - result["imports_mb"]
    return result


RUNNERS = {
    "feed": run_feed,
    "streams": run_streams,
    "node_nostore": run_node_nostore,
    "node_numba": run_node,
    "node": run_node,
    "memory_feed": run_memory_feed,
    "memory": run_memory,
}


def run_scenario(name: str, minutes: float, speed: float, cpu: int, profile: bool) -> None:
    """Child process: pin to `cpu`, run one scenario, print its figures as one JSON line."""
    os.sched_setaffinity(0, {cpu})
    if name in LIVE_PROCESS_SCENARIOS:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        use_backend("talib")
    with tempfile.TemporaryDirectory(prefix=f"tradeterm-bench-{name}-") as tmp:
        coro = RUNNERS[name](Path(tmp), minutes, speed)
        if profile:
            prof = cProfile.Profile()
            result = prof.runcall(asyncio.run, coro)
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue(), file=sys.stderr)
        else:
            result = asyncio.run(coro)
    result["scenario"] = name
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _child(cmd: list[str], cpu: int) -> str:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:4])} failed:\n{done.stderr[-4000:]}")
    if done.stderr.strip():
        print(done.stderr, file=sys.stderr)
    return done.stdout.strip().splitlines()[-1]


def spawn(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its figures."""
    cmd = [sys.executable, "-m", "bench.node_latency", "--scenario", name, "--cpu", str(args.cpu)]
    minutes, speed = RATES.get(name, (args.minutes, args.speed))
    cmd += ["--minutes", str(minutes), "--speed", str(speed)]
    if args.profile and name == "node":
        cmd.append("--profile")
    figures: dict[str, Any] = json.loads(_child(cmd, args.cpu))
    return figures


def _python(cpu: int, code: str) -> list[str]:
    return [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\n{code}"]


def import_floor(cpu: int) -> tuple[list[tuple[str, float]], list[str]]:
    """RSS of a fresh interpreter after each heavy import the node pulls in, then the node
    itself; and the heavy libraries the node does not load."""
    loaded = json.loads(_child(_python(cpu, NODE_LOADS.format(heavy=HEAVY_IMPORTS)), cpu))
    names = [*loaded, "tradeterm.node"]
    floor = json.loads(_child(_python(cpu, IMPORT_FLOOR.format(names=names)), cpu))
    skipped = [m for m in HEAVY_IMPORTS if m not in loaded]
    return [(name, float(mb)) for name, mb in floor], skipped


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _latency_row(label: str, s: dict[str, float]) -> str:
    return (
        f"| {label} | {int(s['count']):,} | {s['p50']:.3f} | {s['p90']:.3f} | {s['p99']:.3f} "
        f"| {s['max']:.3f} | {int(s['over']):,} |"
    )


def _targets(node: dict[str, Any], memory: dict[str, Any]) -> list[str]:
    p99 = node["latency"]["decision"]["p99"]
    tps = node["ticks"] / node["cpu_s"]
    steady = memory["rss_steady_mb"]
    peak = max(memory["rss_max_sampled_mb"], memory["peak_rss_mb"])
    rate = f"speed {MEMORY_SPEED:g}, {memory['ticks'] / memory['sim_s']:,.0f} ticks/s"
    return [
        "| target | measured | goal | verdict |",
        "|---|---:|---:|---|",
        f"| tick -> risk decision p99 | {p99:.3f} ms | <= {P99_TARGET_MS:g} ms "
        f"| {_verdict(p99 <= P99_TARGET_MS)} |",
        f"| sustained ticks/s on one core (per CPU second) | {tps:,.0f} | >= {TICKS_TARGET:,.0f} "
        f"| {_verdict(tps >= TICKS_TARGET)} |",
        f"| process RSS, steady ({rate}) | {steady:.0f} MB | <= {RSS_TARGET_MB:g} MB "
        f"| {_verdict(steady <= RSS_TARGET_MB)} |",
        f"| process RSS, peak ({rate}) | {peak:.0f} MB | <= {RSS_TARGET_MB:g} MB "
        f"| {_verdict(peak <= RSS_TARGET_MB)} |",
    ]


def _latencies(runs: dict[str, dict[str, Any]]) -> list[str]:
    node = runs["node"]
    lat, stages = node["latency"], node["stages"]
    nostore, numba = runs["node_nostore"]["latency"], runs["node_numba"]["latency"]
    header = f"| count | p50 | p90 | p99 | max | over {P99_TARGET_MS:g} ms |"
    return [
        "Latency from the tick's arrival on the bus (first TICK subscriber), ms:",
        "",
        f"| path {header}",
        "|---|---:|---:|---:|---:|---:|---:|",
        _latency_row("tick -> bar close", lat["bar"]),
        _latency_row("tick -> signal", lat["signal"]),
        _latency_row("**tick -> risk decision**", lat["decision"]),
        _latency_row("tick -> bar close, candle store off", nostore["bar"]),
        _latency_row("tick -> risk decision, candle store off", nostore["decision"]),
        _latency_row("tick -> bar close, numba indicators, default switch", numba["bar"]),
        _latency_row("tick -> risk decision, numba indicators, default switch", numba["decision"]),
        "",
        "Where a decision's time goes (each stage's own distribution, ms):",
        "",
        f"| stage of tick -> risk decision {header}",
        "|---|---:|---:|---:|---:|---:|---:|",
        _latency_row(
            "tick -> deciding bar published (tick handlers; earlier bars' chains)",
            stages["to_bar"],
        ),
        _latency_row(
            "bar -> signal published (strategy runners; earlier signals' chains)",
            stages["to_signal"],
        ),
        _latency_row("signal -> decision (recorder, allocator, risk)", stages["to_decision"]),
        "",
        f"Not timed: {node['untimed_bars']} bars closed by the quiet-market timer and "
        f"{node['untimed_decisions']} decisions that followed them.",
    ]


def _ladder(runs: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "Throughput, same venue, same SimClock drive, same core (RSS at speed 100 is context: "
        "the tapes then hold a hundred times the ticks of the real rate):",
        "",
        "| scenario | ticks | CPU s | wall s | ticks/CPU s | ticks/wall s | sim s per wall s "
        "| RSS end of run MB | RSS peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in SCENARIOS:
        r = runs[name]
        ended = r["rss_samples_mb"][-1]
        lines.append(
            f"| {TITLES[name]} | {r['ticks']:,} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} "
            f"| {r['ticks'] / r['cpu_s']:,.0f} | {r['ticks'] / r['wall_s']:,.0f} "
            f"| {r['sim_s'] / r['wall_s']:.1f} | {ended:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    return lines


def _memory(runs: dict[str, dict[str, Any]], floor: list[tuple[str, float]]) -> list[str]:
    memory, node = runs["memory"], runs["node"]
    lines = [
        "Where the node's memory goes (RSS, MB; the memory scenario, with the speed-100 node run "
        "beside it as context):",
        "",
        f"| step | speed {MEMORY_SPEED:g} | added | speed 100 (context) |",
        "|---|---:|---:|---:|",
    ]
    previous = 0.0
    for name, mb in floor:
        lines.append(f"| import {name} (fresh interpreter) | {mb:.0f} | {mb - previous:+.0f} | |")
        previous = mb
    previous = 0.0
    for name, mb in memory["memory"].items():
        added = f"{mb - previous:+.0f}" if previous and not name.startswith("steady") else ""
        context = node["memory"].get(name)
        beside = f"{context:.0f}" if context is not None else ""
        lines.append(f"| node run: {name} | {mb:.0f} | {added} | {beside} |")
        previous = mb
    lines.append(
        f"| node run: peak (ru_maxrss) | {memory['peak_rss_mb']:.0f} | "
        f"| {node['peak_rss_mb']:.0f} |"
    )
    venue_mb, venue_fast_mb = runs["memory_feed"]["venue_mb"], runs["feed"]["venue_mb"]
    lines.append(
        "| node run: steady without the sim venue's own tapes (measured in the sim-venue-only "
        f"runs: {venue_mb:.0f} MB at speed {MEMORY_SPEED:g}, {venue_fast_mb:.0f} MB at 100) "
        f"| {memory['rss_steady_mb'] - venue_mb:.0f} | "
        f"| {node['rss_steady_mb'] - venue_fast_mb:.0f} |"
    )
    return lines


def report(
    runs: dict[str, dict[str, Any]],
    floor: tuple[list[tuple[str, float]], list[str]],
    args: argparse.Namespace,
) -> str:
    """The RESULTS.md section: targets with verdicts, latency percentiles, peers, memory."""
    node, memory = runs["node"], runs["memory"]
    decisions = node["latency"]["decision"]["count"] + node["untimed_decisions"]
    memory_decisions = memory["latency"]["decision"]["count"] + memory["untimed_decisions"]
    imports, skipped = floor
    not_loaded = (
        f" Importing the node does not load {', '.join(skipped)} (they stay out of the import "
        f"rows); by the end of the memory run it had loaded {', '.join(memory['loaded'])}."
        if skipped
        else ""
    )
    lines = [
        f"{machine_line()}; pinned to CPU {args.cpu} (sched_setaffinity), a fresh process per "
        "scenario.",
        f"{node['markets']} sim markets (20 catalog indices + 30 one-second twins with their own "
        f"seeds), {node['runners']} strategy runners (ema_trend, breakout, mean_revert on 5s and "
        "15s, vol_squeeze on 1m, impulse_fade on crash/boom), paper wallets, confirm = never, "
        "candle store and info-level JSON event log on (as in configs/default.toml).",
        f"Sim speed {args.speed:g}: {node['ticks'] / node['sim_s']:,.0f} ticks per simulated "
        f"second, bars on the simulated clock. SimClock advanced as fast as possible: "
        f"{WARM_S:.0f} s warm-up, then {node['sim_s']:.0f} s measured ({node['ticks']:,} ticks, "
        f"{node['bars']:,} bars, {decisions:,} risk decisions, {node['approved']:,} approved).",
        f"Memory scenario: the same node at sim speed {MEMORY_SPEED:g}, the real tick rate "
        f"({memory['ticks'] / memory['sim_s']:,.0f} ticks per simulated second), "
        f"{WARM_S:.0f} s warm-up, then {memory['sim_s']:.0f} s measured ({memory['ticks']:,} "
        f"ticks, {memory['bars']:,} bars, {memory_decisions:,} risk decisions) in "
        f"{memory['wall_s']:.0f} s of wall time; RSS sampled every {SAMPLE_S:g} simulated "
        f"seconds, steady = median of the last {STEADY_WINDOW_S / 60:g} simulated minutes, "
        f"peak = ru_maxrss.{not_loaded}",
        "",
        *_targets(node, memory),
        "",
        *_latencies(runs),
        "",
        *_ladder(runs),
        "",
        *_memory(runs, imports),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run every scenario in its own process, print the report, write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description="tick -> decision latency, throughput, memory")
    parser.add_argument("--minutes", type=float, default=5.0, help="simulated minutes measured")
    parser.add_argument("--speed", type=float, default=100.0, help="sim speed (tick rate x)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    parser.add_argument("--profile", action="store_true", help="cProfile the node scenario")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        run_scenario(args.scenario, args.minutes, args.speed, args.cpu, args.profile)
        return
    runs = {}
    for name in SCENARIOS:
        print(f"running {TITLES[name]} ...", file=sys.stderr, flush=True)
        runs[name] = spawn(name, args)
    body = report(runs, import_floor(args.cpu), args)
    print(body)
    if not args.no_write:
        write_section("node", "Trading node: tick -> decision latency, throughput, memory", body)
        print("\nwritten to the node section of bench/RESULTS.md")


if __name__ == "__main__":
    main()
