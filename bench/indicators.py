"""Indicator throughput: each numba kernel against its TA-Lib twin on 1,000,000 bars.

`python -m bench.indicators` builds a real-data-shaped series (a random walk that resamples the
bar-to-bar returns and wick sizes of the shared BTCUSDT 5m file, fixed seed), calls every kernel
once to JIT-compile it (timed and reported separately, from an empty numba cache), then times
the best of 5 runs of each kernel and of its twin. It prints a markdown table and writes it to
the `indicators` section of bench/RESULTS.md, with the JIT compile and cache-load times and the
per-call latency on a 300-bar live window. Figures are for reading, never for assertions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

N_BARS = 1_000_000
RUNS = 5
SEED = 20240222
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Ohlc:
    """Synthetic bars: high, low, close columns."""

    high: F64
    low: F64
    close: F64


@dataclass(frozen=True, slots=True)
class Case:
    """One indicator: our kernel call and its twin's, both over the same bars."""

    name: str
    numba: Callable[[Ohlc], Any]
    twin: Callable[[Ohlc], Any]
    twin_label: str = "TA-Lib"


@dataclass(frozen=True, slots=True)
class Timing:
    """Best-of-N wall time of both sides, first-call (compile) time, and their agreement."""

    case: Case
    numba_s: float
    twin_s: float
    compile_s: float
    max_rel_diff: float


def shared_data_dir() -> Path:
    """../shared/data beside the repository, or $TRADETERM_SHARED/data."""
    env = os.environ.get("TRADETERM_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"
    return root / "data"


def synthetic_bars(n: int = N_BARS, seed: int = SEED) -> Ohlc:
    """A random walk that resamples real BTCUSDT 5m log-returns and wick sizes."""
    real = pd.read_csv(shared_data_dir() / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv")
    o, h, lo, c = (real[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    returns = np.diff(np.log(c))
    upper_wick = np.log(h / np.maximum(o, c))[1:]
    lower_wick = np.log(np.minimum(o, c) / lo)[1:]
    pick = np.random.default_rng(seed).integers(0, returns.shape[0], n)
    close = c[0] * np.exp(np.cumsum(returns[pick]))
    open_ = np.concatenate(([c[0]], close[:-1]))
    high = np.maximum(open_, close) * np.exp(upper_wick[pick])
    low = np.minimum(open_, close) * np.exp(-lower_wick[pick])
    return Ohlc(np.ascontiguousarray(high), np.ascontiguousarray(low), close)


def cases() -> list[Case]:
    """Every kernel in `tradeterm.indicators.nb` with its reference."""
    from tradeterm.indicators import nb, talib_

    return [
        Case("sma(20)", lambda b: nb.sma_nb(b.close, 20), lambda b: talib_.sma(b.close, 20)),
        Case("ema(20)", lambda b: nb.ema_nb(b.close, 20), lambda b: talib_.ema(b.close, 20)),
        Case("rsi(14)", lambda b: nb.rsi_nb(b.close, 14), lambda b: talib_.rsi(b.close, 14)),
        Case(
            "true_range",
            lambda b: nb.true_range_nb(b.high, b.low, b.close),
            lambda b: talib_.true_range(b.high, b.low, b.close),
        ),
        Case(
            "atr(14)",
            lambda b: nb.atr_nb(b.high, b.low, b.close, 14),
            lambda b: talib_.atr(b.high, b.low, b.close, 14),
        ),
        Case(
            "bbands(20, 2, 2)",
            lambda b: nb.bbands_nb(b.close, 20, 2.0, 2.0),
            lambda b: talib_.bbands(b.close, 20, 2.0, 2.0),
        ),
        Case(
            "donchian(20)",
            lambda b: nb.donchian_nb(b.high, b.low, 20),
            lambda b: talib_.donchian(b.high, b.low, 20),
        ),
        Case(
            "adx(14)",
            lambda b: nb.adx_nb(b.high, b.low, b.close, 14),
            lambda b: talib_.adx(b.high, b.low, b.close, 14),
        ),
        Case(
            "plus_di(14)",
            lambda b: nb.plus_di_nb(b.high, b.low, b.close, 14),
            lambda b: talib_.plus_di(b.high, b.low, b.close, 14),
        ),
        Case(
            "minus_di(14)",
            lambda b: nb.minus_di_nb(b.high, b.low, b.close, 14),
            lambda b: talib_.minus_di(b.high, b.low, b.close, 14),
        ),
        Case(
            "zscore(20)", lambda b: nb.zscore_nb(b.close, 20), lambda b: talib_.zscore(b.close, 20)
        ),
        Case(
            "nr7",
            lambda b: nb.nr7_nb(b.high, b.low, 7),
            lambda b: talib_.nr7_reference(b.high, b.low, 7),
            "pandas ref",
        ),
    ]


def _outputs(result: Any) -> list[F64]:
    return list(result) if isinstance(result, tuple) else [result]


def _max_rel_diff(ours: Any, theirs: Any) -> float:
    worst = 0.0
    for a, b in zip(_outputs(ours), _outputs(theirs), strict=True):
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return float("inf")
        known = ~np.isnan(b)
        scale = np.maximum(np.abs(b[known]), 1e-300)
        worst = max(worst, float(np.max(np.abs(a[known] - b[known]) / scale, initial=0.0)))
    return worst


def _best_of(fn: Callable[[Ohlc], Any], bars: Ohlc, runs: int = RUNS) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(bars)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(bars: Ohlc) -> list[Timing]:
    """Compile (first call), agree, then best-of-RUNS both sides, one indicator at a time."""
    timings = []
    for case in cases():
        t0 = time.perf_counter()
        ours = case.numba(bars)
        compile_s = time.perf_counter() - t0
        diff = _max_rel_diff(ours, case.twin(bars))
        timings.append(
            Timing(case, _best_of(case.numba, bars), _best_of(case.twin, bars), compile_s, diff)
        )
    return timings


WINDOW = 300
CALLS = 2000

CACHED_LOAD_SCRIPT = """
import time
import numpy as np
t0 = time.perf_counter()
import tradeterm.indicators as ind
t1 = time.perf_counter()
c = np.linspace(100.0, 120.0, 500); h, lo = c + 1.0, c - 1.0
ind.sma(c, 5); ind.ema(c, 5); ind.rsi(c); ind.bbands(c); ind.zscore(c); ind.true_range(h, lo, c)
ind.atr(h, lo, c); ind.adx(h, lo, c); ind.plus_di(h, lo, c); ind.minus_di(h, lo, c)
ind.donchian(h, lo); ind.nr7(h, lo)
print(t1 - t0, time.perf_counter() - t1)
"""


def cached_load(cache: str) -> tuple[float, float]:
    """Fresh process, warm numba cache: (import tradeterm.indicators s, first calls of all s)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    done = subprocess.run(
        [sys.executable, "-c", CACHED_LOAD_SCRIPT], env=env, capture_output=True, text=True
    )
    imported, first_calls = (float(v) for v in done.stdout.split())
    return imported, first_calls


def live_window_latency(bars: Ohlc) -> list[tuple[str, float, float]]:
    """Per-call microseconds on a 300-bar window (the live path: one call per bar close),
    public API with its argument checks against the TA-Lib wrapper."""
    import tradeterm.indicators as ind
    from tradeterm.indicators import talib_

    w = Ohlc(bars.high[-WINDOW:].copy(), bars.low[-WINDOW:].copy(), bars.close[-WINDOW:].copy())
    pairs: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("rsi(14)", lambda: ind.rsi(w.close, 14), lambda: talib_.rsi(w.close, 14)),
        ("ema(20)", lambda: ind.ema(w.close, 20), lambda: talib_.ema(w.close, 20)),
        ("bbands(20)", lambda: ind.bbands(w.close, 20), lambda: talib_.bbands(w.close, 20)),
        (
            "atr(14)",
            lambda: ind.atr(w.high, w.low, w.close, 14),
            lambda: talib_.atr(w.high, w.low, w.close, 14),
        ),
        (
            "adx(14)",
            lambda: ind.adx(w.high, w.low, w.close, 14),
            lambda: talib_.adx(w.high, w.low, w.close, 14),
        ),
    ]

    def per_call_us(fn: Callable[[], Any]) -> float:
        fn()
        return min(timeit.repeat(fn, number=CALLS, repeat=RUNS)) / CALLS * 1e6

    return [(name, per_call_us(ours), per_call_us(theirs)) for name, ours, theirs in pairs]


def table(timings: list[Timing], n: int = N_BARS) -> str:
    """Markdown table of the timings."""
    lines = [
        "| indicator | numba ms | TA-Lib ms | ratio numba/TA-Lib | numba Mbars/s "
        "| TA-Lib Mbars/s | max rel diff |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        name = (
            t.case.name
            if t.case.twin_label == "TA-Lib"
            else f"{t.case.name} (vs {t.case.twin_label})"
        )
        lines.append(
            f"| {name} | {t.numba_s * 1e3:.2f} | {t.twin_s * 1e3:.2f} | {t.numba_s / t.twin_s:.2f} "
            f"| {n / t.numba_s / 1e6:.0f} | {n / t.twin_s / 1e6:.0f} | {t.max_rel_diff:.1e} |"
        )
    return "\n".join(lines)


def report(
    timings: list[Timing], latency: list[tuple[str, float, float]], load: tuple[float, float]
) -> str:
    """The RESULTS.md section body: context line, throughput table, compile and load times,
    live-window latency table."""
    import numba
    import talib

    from bench.results import machine_line
    from tradeterm.indicators.talib_ import talib_version

    compile_total = sum(t.compile_s for t in timings)
    slowest = max(timings, key=lambda t: t.compile_s)
    return "\n".join(
        [
            f"{machine_line()}; numba {numba.__version__}, numpy {np.__version__}, "
            f"TA-Lib {talib.__version__} (C library {talib_version()}).",
            f"{N_BARS:,} synthetic bars (BTCUSDT 5m returns resampled, seed {SEED}); "
            f"best of {RUNS} runs after a warm-up call; one thread.",
            "",
            table(timings),
            "",
            f"JIT compile (first call, empty numba cache), excluded above: {compile_total:.1f} s "
            f"for all {len(timings)} kernels (slowest {slowest.case.name} "
            f"{slowest.compile_s:.2f} s). A later process with the on-disk cache: "
            f"`import tradeterm.indicators` {load[0]:.2f} s, first calls of all kernels "
            f"{load[1]:.2f} s.",
            "",
            f"Live path, one call on a {WINDOW}-bar window (public API with its argument "
            f"checks), best of {RUNS} x {CALLS} calls:",
            "",
            "| indicator | ours µs/call | TA-Lib µs/call |",
            "|---|---:|---:|",
            *(f"| {name} | {ours:.1f} | {theirs:.1f} |" for name, ours, theirs in latency),
        ]
    )


def main() -> None:
    """Run the benchmark, print the table, write the RESULTS.md section."""
    from bench.results import write_section

    with tempfile.TemporaryDirectory(prefix="tradeterm-bench-numba-") as cache:
        # Real JIT compile time: point numba at an empty cache before it is imported.
        if "numba" not in sys.modules:
            os.environ["NUMBA_CACHE_DIR"] = cache
        bars = synthetic_bars()
        timings = measure(bars)
        body = report(timings, live_window_latency(bars), cached_load(cache))
    print(body)
    write_section("indicators", "Indicators: numba kernels vs TA-Lib", body)
    print("\nwritten to the indicators section of bench/RESULTS.md")


if __name__ == "__main__":
    main()
