"""Shared helpers for benchmarks: machine description and RESULTS.md sections.

Each benchmark owns one section of bench/RESULTS.md between `<!-- name:start -->` and
`<!-- name:end -->` markers and replaces only that section, so benchmarks can run separately.
"""

from __future__ import annotations

import datetime as dt
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Written by `make bench` (or `python -m bench.<name>`); every figure comes from a run on the"
    " machine named in its section. Peers are measured in the same run.\n"
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    return f"{today}, {cpu_model()}, {platform.machine()}, Python {platform.python_version()}"


def write_section(name: str, title: str, body: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
