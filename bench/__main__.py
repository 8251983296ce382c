"""`python -m bench` (what `make bench` runs): every benchmark in bench/, one after another.

Each benchmark runs as `python -m bench.<name>` in a fresh interpreter, so one cannot warm the
caches, JIT or memory of the next. The known ones run first in a fixed order (indicators,
startup, node_latency), then any other module of bench/ that can run as a script, by name.
Output streams through as it comes; a summary at the end gives each benchmark's outcome, its
wall time and the lines where it reported a missed target. Exit status 1 if any failed.

    python -m bench                      # all of them
    python -m bench node_latency startup # just these, in this order
    python -m bench --list
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("indicators", "startup", "node_latency")
"""Benchmarks that run first, in this order."""
MISS_WORDS = ("MISS", "MISSES")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one benchmark run went."""

    name: str
    returncode: int
    seconds: float
    misses: tuple[str, ...]

    @property
    def status(self) -> str:
        return "ok" if self.returncode == 0 else f"FAILED (exit {self.returncode})"


def discover(folder: Path = HERE) -> list[str]:
    """Benchmark modules of bench/: the known ones in order, then every other script by name."""
    scripts = {
        path.stem
        for path in folder.glob("*.py")
        if not path.stem.startswith("_")
        and 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    }
    return [n for n in ORDER if n in scripts] + sorted(scripts - set(ORDER))


def run(name: str) -> Outcome:
    """Run `python -m bench.<name>` in a fresh interpreter, echoing its output as it comes."""
    print(f"\n=== bench.{name} ===", flush=True)
    started = time.perf_counter()
    misses: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if any(word in line.split() for word in MISS_WORDS):
                misses.append(line.strip())
        returncode = proc.wait()
    return Outcome(name, returncode, time.perf_counter() - started, tuple(misses))


def summary(outcomes: list[Outcome]) -> str:
    """One line per benchmark, then every missed target it reported."""
    lines = ["", "=== summary ===", f"{'benchmark':<16} {'result':<20} {'seconds':>8}"]
    for out in outcomes:
        lines.append(f"{out.name:<16} {out.status:<20} {out.seconds:>8.1f}")
    missed = [(out.name, line) for out in outcomes for line in out.misses]
    if missed:
        lines += ["", "missed targets:"]
        lines += [f"  {name}: {line}" for name, line in missed]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="run the benchmarks")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args(argv)
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(available)})")
    outcomes = [run(name) for name in args.names or available]
    print(summary(outcomes))
    return 0 if all(out.returncode == 0 for out in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
