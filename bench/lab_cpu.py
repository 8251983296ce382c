"""The console's CPU while a backtest runs in the lab, the backtest's own process measured apart.

The console runs as an operator runs it: `python -m tradeterm --config ...` in a private tmux
server at 80x24, on the busy test config (every strategy on 1-second bars of 7 synthetic indices,
sim speed 10, paper). After 'STAGE 1/5' shows and a warm-up, psutil samples the console process
once a second for `--idle` seconds (lab closed), then b opens the lab, the range is set to 7
days (one keyboard pick) and ctrl+r runs the launcher's strategy on 1-second bars. While the run
goes, the console process and the lab's child process (the backtest) are sampled apart, once a
second, until the result shows. CPU is CPU time / wall time in % of one core.
Target (issue 14): the console <= 30% of one core while a backtest runs.

    python -m bench.lab_cpu [--idle 20] [--warmup 15] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.results import machine_line, write_section
from tests.integration.daemon_kit import write_config
from tests.integration.tmux_kit import TmuxTerminal, tmux_path

CPU_TARGET_PCT = 30.0
BOOT_S = 300.0
RUN_S = 900.0


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def sample_idle(proc: psutil.Process, seconds: float) -> float:
    start_cpu, start = cpu_s(proc), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_s(proc) - start_cpu) / (time.monotonic() - start)


def lab_child(proc: psutil.Process) -> psutil.Process | None:
    for child in proc.children(recursive=True):
        try:
            if "lab_job" in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab_cpu", description=__doc__)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if tmux_path() is None:
        print("tmux is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="tradeterm-lab-bench-") as tmp:
        workdir = Path(tmp)
        config = write_config(workdir)
        env = {"PYTHONUNBUFFERED": "1", "TERM": "xterm-256color"}
        with TmuxTerminal(workdir, width=80, height=24) as term:
            term.start([sys.executable, "-m", "tradeterm", "--config", str(config)], env=env)
            term.wait_for_text("STAGE 1/5", timeout=BOOT_S)
            console = psutil.Process(term.pid())
            time.sleep(args.warmup)
            idle = sample_idle(console, args.idle)

            term.press("b")
            term.wait_for_text("Backtest lab", "^r Run", timeout=60)
            # Range: the launcher's 5th field; open its list, 3 down from "1 day" (7 days; the screen says which)
            term.press("Tab", "Tab", "Tab", "Tab", "Enter", "Down", "Down", "Down", "Enter")
            shown = term.wait_for_screen(
                lambda s: re.search(r"Range +▊ +(\d+ days)", s), timeout=60, what="a range"
            )
            days = re.search(r"Range +▊ +(\d+ days)", shown).group(1)  # type: ignore[union-attr]
            term.press("C-r")
            start = time.monotonic()
            console_start = cpu_s(console)
            child: psutil.Process | None = None
            child_cpu = 0.0
            peak = 0.0
            last_cpu, last_t = console_start, start
            while time.monotonic() - start < RUN_S:
                time.sleep(1.0)
                now_cpu, now = cpu_s(console), time.monotonic()
                peak = max(peak, 100.0 * (now_cpu - last_cpu) / (now - last_t))
                last_cpu, last_t = now_cpu, now
                found = lab_child(console)
                if found is not None:
                    child = found
                if child is not None:
                    with contextlib.suppress(psutil.Error):
                        child_cpu = cpu_s(child)
                screen = term.screen()
                if "finished: report" in screen or "backtest failed" in screen:
                    break
            wall = time.monotonic() - start
            console_pct = 100.0 * (cpu_s(console) - console_start) / wall
            worker_pct = 100.0 * child_cpu / wall
            failed = "backtest failed" in term.screen()
            term.press("Escape")
            term.wait_for_text("^r Run", timeout=60)
            term.press("Escape")
            term.wait_for_text("STAGE 1/5", timeout=60)
            term.press("q")
            term.wait_for_text("Quit tradeterm?", timeout=60)
            term.press("y")
            term.wait_for_exit(timeout=60)
    verdict = "PASS" if console_pct <= CPU_TARGET_PCT and not failed else "MISS"
    rows = [
        "| what | wall s | console CPU % of one core (mean / peak 1 s) | backtest process CPU % | target |",
        "|---|---|---|---|---|",
        f"| lab closed (idle) | {args.idle:.0f} | {idle:.1f} | - | <= {CPU_TARGET_PCT:.0f}% |",
        f"| backtest running in the lab (ema_trend, {days} of 1 s bars, vector) | {wall:.1f} | "
        f"{console_pct:.1f} / {peak:.1f} | {worker_pct:.1f} | {verdict} |",
    ]
    body = "\n".join(
        [
            machine_line(),
            "",
            "The console in tmux at 80x24 on the busy test config (7 one-second indices, sim speed "
            "10, every strategy, paper); the lab's backtest runs in its own process, sampled apart. "
            "CPU = CPU time / wall time, % of one core. `python -m bench.lab_cpu`.",
            "",
            *rows,
        ]
    )
    print(body)
    if failed:
        print("the backtest failed in the lab", file=sys.stderr)
    if not args.no_write:
        write_section("lab", "Console CPU while a backtest runs in the lab (issue 14)", body)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
