"""First launch of the node on the default config: cold numba cache vs warm (issue 11).

What the console waits for before it can show live panes: imports, `build_node`, and
`node.start()` (restore, history warm-up, the numba kernels the config's strategies call --
compiled on the first launch, read from the on-disk cache afterwards). Each run is a fresh
process with its own state folder; "cold" points NUMBA_CACHE_DIR at an empty folder (a fresh
machine), "warm" reuses the folder the cold run filled. The README promises about ten seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.results import machine_line, write_section

RUNS = 3
GOAL_S = 10.0
PROBE = """
import asyncio, tempfile, time
t0 = time.perf_counter()
from tradeterm.clock import LiveClock
from tradeterm.config import load_config
from tradeterm.node import NodeOptions, build_node
t1 = time.perf_counter()
node = build_node(load_config("configs/default.toml"), LiveClock(),
                  NodeOptions(state_dir=tempfile.mkdtemp(), metrics_server=False))
t2 = time.perf_counter()
async def go():
    await node.start()
    t3 = time.perf_counter()
    await node.stop()
    return t3
t3 = asyncio.run(go())
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def _run(cache: str) -> tuple[float, float, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    imports, build, start = (float(x) for x in out.stdout.split()[-3:])
    return imports, build, start


def main() -> str:
    rows: list[tuple[str, list[tuple[float, float, float]]]] = [("cold", []), ("warm", [])]
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as cache:
            rows[0][1].append(_run(cache))
            rows[1][1].append(_run(cache))
    lines = [
        f"{machine_line()}; {RUNS} runs each, fresh process and state folder per run; "
        "cold = empty NUMBA_CACHE_DIR.",
        "",
        "| numba cache | imports s | build_node s | node.start s | total s (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    medians = {}
    for name, runs in rows:
        cols = [statistics.median(r[i] for r in runs) for i in range(3)]
        total = statistics.median(sum(r) for r in runs)
        medians[name] = total
        lines.append(f"| {name} | {cols[0]:.1f} | {cols[1]:.1f} | {cols[2]:.1f} | {total:.1f} |")
    verdict = "meets" if medians["cold"] < GOAL_S else "MISSES"
    lines += [
        "",
        f"First launch (cold) median {medians['cold']:.1f} s: {verdict} the ~{GOAL_S:.0f} s "
        "the README promises. The console shows a splash with these steps meanwhile.",
    ]
    text = "\n".join(lines)
    write_section("first_launch", "First launch (numba compile)", text)
    return text


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    print(main())
