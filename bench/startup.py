"""Start-up time of `tradeterm --help` (goal: under 0.3 s, so heavy modules must load lazily).

Runs the installed entry point N times in fresh processes and reports min / median / max wall
time, next to a bare `python -c pass` in the same run (the interpreter's own floor).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import machine_line, write_section

RUNS = 15


def _time(cmd: list[str]) -> list[float]:
    out = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> str:
    exe = str(Path(sys.executable).with_name("tradeterm"))
    rows = [
        ("python -c pass (floor)", _time([sys.executable, "-c", "pass"])),
        ("tradeterm --help", _time([exe, "--help"])),
        ("python -m tradeterm --help", _time([sys.executable, "-m", "tradeterm", "--help"])),
        (
            "tradeterm validate-config configs/default.toml",
            _time([exe, "validate-config", "configs/default.toml"]),
        ),
    ]
    lines = [
        f"{machine_line()}; {RUNS} runs each, fresh process per run.",
        "",
        "| command | min ms | median ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, times in rows:
        ms = [t * 1000 for t in times]
        lines.append(f"| `{name}` | {min(ms):.0f} | {statistics.median(ms):.0f} | {max(ms):.0f} |")
    help_median = statistics.median(rows[1][1])
    verdict = "meets" if help_median < 0.3 else "MISSES"
    lines += [
        "",
        f"`tradeterm --help` median {help_median * 1000:.0f} ms: {verdict} the 300 ms goal.",
    ]
    text = "\n".join(lines)
    write_section("startup", "Start-up time", text)
    return text


if __name__ == "__main__":
    print(main())
