"""What the operator console costs: RSS and CPU of the real console with 50 sim markets streaming,
next to the headless daemon on the same markets in the same run (the peer: the node, no screen).

The console runs as an operator runs it, in a terminal: a private tmux server at 160x48 (the wide
layout, every pane on screen), so Textual renders every frame to a real terminal. Both processes
trade the 50-market bench venue of bench.sim50 (20 catalog indices + 30 one-second twins) on the
real clock with bench.sim50's busy config. `tradeterm` itself serves only catalog symbols, so each
process is started by this module's child entry (`--child console|daemon`), which builds the node
with `build_sim50_venue` after the same process set-up (daemon.prepare_process), then runs what
`tradeterm` runs: TradetermApp for the console, node + control socket for the daemon.

Each process warms up (20 s after "node started"), then psutil samples it once a second (60 s):
RSS mean and max, CPU as a share of one core (cpu_times delta / wall time) and the busiest
one-second window. Targets (issue 4): console <= 300 MB RSS and <= 30% of one core. Measured at
sim speed 1 (the indices' own cadence) and 10, and at speed 10 once more with ui.refresh_hz = 2.
When the console misses the CPU target and py-spy is installed, it is sampled for 20 s more and
the section says where its time goes.

    python -m bench.console [--speed 10] [--warmup 20] [--seconds 60] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TextIO

import psutil

from bench.results import machine_line, write_section
from bench.sim50 import bench_config, build_sim50_venue, fifty_symbols
from tests.integration.tmux_kit import TmuxTerminal, tmux_path, wait_until
from tradeterm.clock import LiveClock
from tradeterm.control import Control
from tradeterm.daemon import ControlCommands, prepare_process, socket_path
from tradeterm.ipc import ControlServer
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.tui.bridge import PANE_MIN_INTERVAL_MS

REPO = Path(__file__).resolve().parents[1]
RSS_TARGET_MB = 300.0
CPU_TARGET_PCT = 30.0
TICKS_PER_SPEED = 47.5
"""Ticks per second over the 50 markets at sim speed 1: 45 tick every second, 5 every two."""
START_TIMEOUT_S = 240.0
PROFILE_S = 20.0
MB = 1024 * 1024
WIDTH, HEIGHT = 160, 48
PROFILE_BUCKETS = (
    ("Textual compositor (every frame)", "Screen._compositor_refresh"),
    ("· of which layout passes", "Screen._refresh_layout"),
    ("· of which DataTable line rendering", "DataTable.render_lines"),
    ("panes taking views (tradeterm.tui watch_view)", "watch_view"),
    ("bridge building views (tradeterm.tui.bridge)", "tradeterm/tui/bridge.py"),
)
"""(label, frame text): the share of the busy samples whose stack holds that frame."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One measured process: console or daemon, at a sim speed (and a console refresh rate)."""

    kind: str
    speed: float
    refresh_hz: float | None = None

    @property
    def label(self) -> str:
        hz = f", {self.refresh_hz:g} Hz" if self.refresh_hz else ""
        return f"{self.kind}{hz}"


@dataclass(frozen=True, slots=True)
class Usage:
    """One process's resource use over the sampled window."""

    rss_mean_mb: float
    rss_max_mb: float
    cpu_pct: float
    """CPU time over wall time, in % of one core."""
    cpu_peak_pct: float
    """The busiest one-second window, in % of one core."""
    threads: int


@dataclass(frozen=True, slots=True)
class Run:
    """A measured scenario: the process, the terminal's tmux server (console only), the load."""

    scenario: Scenario
    process: Usage
    terminal: Usage | None
    signals: int
    fills: int
    profile: tuple[tuple[str, float], ...] = ()


# ---- the measured processes (child entries) ------------------------------------------------------
def _child_node(
    state: Path, speed: float, refresh_hz: float | None, log_stream: TextIO | None
) -> tuple[LiveClock, Node]:
    """The clock and node of a child, prepared as `tradeterm` prepares its process (GIL switch
    interval, indicator backend, logging to state/tradeterm.log), on the bench venue."""
    config = bench_config(state, speed=speed)
    if refresh_hz:
        config = config.model_copy(
            update={"ui": config.ui.model_copy(update={"refresh_hz": refresh_hz})}
        )
    clock = LiveClock()
    options = NodeOptions(metrics_server=False)
    prepare_process(config, options, clock, log_stream=log_stream)
    return clock, build_node(config, clock, options, venue_builder=build_sim50_venue)


def run_console_child(state: Path, speed: float, refresh_hz: float | None) -> int:
    """The console on the bench venue, as `tradeterm --config` runs it (tui.factory.run_console).
    Textual is imported here only, so the daemon peer does not carry it."""
    from tradeterm.tui.app import TradetermApp

    clock, node = _child_node(state, speed, refresh_hz, None)  # the terminal is the console's
    ui = node.config.ui
    app = TradetermApp(
        node, clock=clock, theme=ui.theme, refresh_hz=ui.refresh_hz, compact_width=ui.compact_width
    )
    result = app.run()
    return int(result if result is not None else app.exit_code)


async def run_daemon_child(state: Path, speed: float) -> int:
    """The headless daemon on the bench venue, as tradeterm.daemon.run_daemon runs it."""
    _clock, node = _child_node(state, speed, None, sys.stderr)  # JSON lines, as the daemon
    server = ControlServer(socket_path(node.config, state), ControlCommands(Control(node)).table())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await server.start()
        await stop.wait()
    finally:
        await server.stop()
        await node.stop()
    return 0


# ---- measuring -------------------------------------------------------------------------------------
def _usage(rss: list[int], cpu: list[float], wall: list[float], threads: int) -> Usage:
    windows = [100 * (cpu[i + 1] - cpu[i]) / (wall[i + 1] - wall[i]) for i in range(len(wall) - 1)]
    return Usage(
        rss_mean_mb=sum(rss) / len(rss) / MB,
        rss_max_mb=max(rss) / MB,
        cpu_pct=100 * (cpu[-1] - cpu[0]) / (wall[-1] - wall[0]),
        cpu_peak_pct=max(windows),
        threads=threads,
    )


def sample(pids: list[int], seconds: float) -> list[Usage]:
    """Sample processes once a second for `seconds`: their RSS and CPU."""
    procs = [psutil.Process(pid) for pid in pids]
    rss: list[list[int]] = [[] for _ in procs]
    cpu: list[list[float]] = [[] for _ in procs]
    wall: list[float] = []
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        wall.append(now)
        for i, proc in enumerate(procs):
            times = proc.cpu_times()
            cpu[i].append(times.user + times.system)
            rss[i].append(proc.memory_info().rss)
        if now >= end:
            break
        time.sleep(min(1.0, max(0.0, end - now)))
    return [_usage(rss[i], cpu[i], wall, p.num_threads()) for i, p in enumerate(procs)]


def profile(pid: int, seconds: float = PROFILE_S) -> tuple[tuple[str, float], ...]:
    """Where a process's busy time goes (py-spy, 50 Hz): % of the busy samples per bucket;
    nothing when py-spy is not installed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return ()
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        cmd = [spy, "record", "-r", "50", "-d", f"{seconds:g}", "-p", str(pid), "--format", "raw"]
        subprocess.run([*cmd, "-o", out.name], check=True, capture_output=True)
        return profile_shares(Path(out.name).read_text(encoding="utf-8"))


def profile_shares(raw: str) -> tuple[tuple[str, float], ...]:
    """The PROFILE_BUCKETS shares of py-spy's raw output (one "frame;frame;... count" a line),
    idle threads (waiting in select or on a condition) left out."""
    stacks = Counter[str]()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        if "select" not in leaf and "wait" not in leaf:
            stacks[stack] += int(count)
    busy = sum(stacks.values()) or 1

    def share(holds: Callable[[str], bool]) -> float:
        return 100 * sum(n for stack, n in stacks.items() if holds(stack)) / busy

    shares = [(label, share(partial(_holds, frame))) for label, frame in PROFILE_BUCKETS]
    return (*shares, ("trading node (event-loop tasks in tradeterm, not tui)", share(_node_task)))


def _holds(frame: str, stack: str) -> bool:
    return frame in stack


def _node_task(stack: str) -> bool:
    """Whether the event loop was running a tradeterm task (outside tradeterm.tui) here."""
    frames = stack.split(";")
    for i, frame in enumerate(frames[:-1]):
        if frame.startswith("Handle._run "):
            return "(tradeterm/" in frames[i + 1] and "(tradeterm/tui/" not in stack
    return False


def _log_started(log: Path) -> bool:
    return log.exists() and "node started" in log.read_text(encoding="utf-8", errors="replace")


def _events(log: Path, offset: int) -> tuple[int, int]:
    """Signals and fills logged after `offset` (the load the process carried)."""
    with log.open("rb") as fh:
        fh.seek(offset)
        text = fh.read().decode("utf-8", errors="replace")
    return text.count('"event":"signal"'), text.count('"event":"fill"')


def _child_argv(scenario: Scenario, state: Path) -> list[str]:
    hz = ["--refresh-hz", str(scenario.refresh_hz)] if scenario.refresh_hz else []
    return [
        sys.executable, "-m", "bench.console", "--child", scenario.kind,
        "--state", str(state), "--speed", str(scenario.speed), *hz,
    ]  # fmt: skip


def _measure(scenario: Scenario, log: Path, pids: list[int], warmup: float, seconds: float) -> Run:
    wait_until(
        lambda: _log_started(log), timeout=START_TIMEOUT_S, what=f"{scenario.label} to start"
    )
    time.sleep(warmup)
    offset = log.stat().st_size
    usage = sample(pids, seconds)
    signals, fills = _events(log, offset)
    return Run(scenario, usage[0], usage[1] if len(usage) > 1 else None, signals, fills)


def measure_console(scenario: Scenario, warmup: float, seconds: float) -> Run:
    """The console in tmux at 160x48; the tmux server is sampled as the terminal."""
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        with TmuxTerminal(Path(tmp), width=WIDTH, height=HEIGHT) as term:
            env = {"PYTHONPATH": str(REPO), "TERM": "xterm-256color"}
            term.start(_child_argv(scenario, state), env=env)
            pids = [term.pid(), term.server_pid()]
            run = _measure(scenario, state / "tradeterm.log", pids, warmup, seconds)
            screen = term.screen()
            if "STAGE 1/5" not in screen or not re.search(r"Symbol +Venue +Last", screen):
                raise RuntimeError(f"the console did not show its panes:\n{screen}")
            if run.process.cpu_pct > CPU_TARGET_PCT:
                run = replace(run, profile=profile(pids[0]))
            term.press("q")
            term.wait_for_text("Quit tradeterm?", timeout=30)
            term.press("y")
            term.wait_for_exit(timeout=60)
        return run


@contextmanager
def _daemon(scenario: Scenario, state: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        _child_argv(scenario, state),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_daemon(scenario: Scenario, warmup: float, seconds: float) -> Run:
    """The headless daemon (the peer), same venue, config and clock."""
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        with _daemon(scenario, state) as proc:
            return _measure(scenario, state / "tradeterm.log", [proc.pid], warmup, seconds)


# ---- report -----------------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _row(run: Run) -> list[str]:
    sc, u = run.scenario, run.process
    targets = (
        f"{_verdict(u.rss_max_mb <= RSS_TARGET_MB)} | {_verdict(u.cpu_pct <= CPU_TARGET_PCT)}"
        if sc.kind == "console"
        else "(peer) | (peer)"
    )
    rows = [
        f"| {sc.label} | {sc.speed:g} ({sc.speed * TICKS_PER_SPEED:,.0f}) | {u.rss_mean_mb:.0f}"
        f" | {u.rss_max_mb:.0f} | {u.cpu_pct:.1f} | {u.cpu_peak_pct:.1f} | {u.threads}"
        f" | {run.signals} / {run.fills} | {targets} |"
    ]
    if run.terminal is not None:
        t = run.terminal
        rows.append(
            f"| &nbsp;&nbsp;its tmux server | | {t.rss_mean_mb:.0f} | {t.rss_max_mb:.0f}"
            f" | {t.cpu_pct:.1f} | {t.cpu_peak_pct:.1f} | {t.threads} | | | |"
        )
    return rows


def _screen_cost(runs: list[Run]) -> list[str]:
    lines = []
    for speed in sorted({r.scenario.speed for r in runs}):
        pair = {r.scenario.label: r.process for r in runs if r.scenario.speed == speed}
        if {"console", "daemon"} <= pair.keys():
            c, d = pair["console"], pair["daemon"]
            lines.append(
                f"At speed {speed:g} the screen costs {c.rss_max_mb - d.rss_max_mb:+.0f} MB RSS"
                f" and {c.cpu_pct - d.cpu_pct:+.1f} points of a core over the daemon."
            )
    return lines


def _profiles(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        if run.profile:
            sc = run.scenario
            lines += [
                "",
                f"Where the console's time goes ({sc.label}, speed {sc.speed:g}; py-spy "
                f"{PROFILE_S:g} s at 50 Hz, share of the busy samples):",
                "",
                "| part | share |",
                "|---|---:|",
                *(f"| {label} | {share:.0f}% |" for label, share in run.profile),
            ]
    return lines


def _floors() -> str:
    return ", ".join(f"{pane} {ms} ms" for pane, ms in PANE_MIN_INTERVAL_MS.items())


def report(runs: list[Run], warmup: float, seconds: float) -> str:
    """The RESULTS.md section: one row per process, targets on the console rows."""
    lines = [
        f"{machine_line()}; 2 cores shared with other work.",
        f"{len(fifty_symbols())} sim markets (bench.sim50: 20 catalog indices + 30 one-second "
        "twins), bench.sim50's busy config (5 strategies on 5 s / 15 s / 1 m bars, paper "
        "wallets, confirm = never, candle store and info JSON log on), real clock. The console "
        f"runs in tmux at {WIDTH}x{HEIGHT} (every pane on screen; ui.refresh_hz 10 unless the "
        "row says otherwise, with the bridge's per-pane floors: "
        f"{_floors()}); the daemon is the same node headless with its control socket. "
        f"Each process: {warmup:g} s warm-up after 'node started', then {seconds:g} s sampled "
        "once a second with psutil. CPU is CPU time / wall time in % of one core; peak is the "
        "busiest 1-s window.",
        "",
        "| process | sim speed (ticks/s) | RSS mean MB | RSS max MB | CPU % of a core |"
        " CPU peak 1 s | threads | signals / fills in window | RSS <= 300 MB | CPU <= 30% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        lines += _row(run)
    return "\n".join([*lines, "", *_screen_cost(runs), *_profiles(runs)])


def plan(speeds: list[float] | None) -> list[Scenario]:
    """The default run: console and daemon at speeds 1 and 10, and the console at 2 Hz at 10."""
    if speeds:
        return [Scenario(kind, s) for s in speeds for kind in ("console", "daemon")]
    return [
        Scenario("console", 1.0),
        Scenario("daemon", 1.0),
        Scenario("console", 10.0),
        Scenario("daemon", 10.0),
        Scenario("console", 10.0, refresh_hz=2.0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--speed", type=float, action="append", help="sim speed (repeatable)")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds after start-up")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds sampled")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", choices=("console", "daemon"), help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--refresh-hz", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "console":
        return run_console_child(args.state, args.speed[0], args.refresh_hz)
    if args.child == "daemon":
        return asyncio.run(run_daemon_child(args.state, args.speed[0]))
    if tmux_path() is None:
        print("bench.console needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    runs: list[Run] = []
    for scenario in plan(args.speed):
        measure = measure_console if scenario.kind == "console" else measure_daemon
        run = measure(scenario, args.warmup, args.seconds)
        print(f"{scenario.label} speed {scenario.speed:g}: {run.process}", flush=True)
        runs.append(run)
    text = report(runs, args.warmup, args.seconds)
    if not args.no_write:
        write_section("console", "Console: RSS and CPU with 50 sim symbols", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
