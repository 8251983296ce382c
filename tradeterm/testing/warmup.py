"""Compile (and cache on disk) every numba kernel the strategies use, by running each registered
strategy once on a generated random walk. Run it before timing-sensitive work — a fresh install
compiles for several seconds on first use (`python -m tradeterm.testing.warmup`)."""

from __future__ import annotations

import numpy as np

from tradeterm.domain.series import BarSeries
from tradeterm.strategies.registry import build_params, get_strategy, list_strategies
from tradeterm.strategies.runner import vector_signals


def random_walk_bars(n: int = 2_000, seed: int = 1, bar_ms: int = 60_000) -> BarSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    return BarSeries.from_columns(
        np.arange(n, dtype=np.int64) * bar_ms, open_, high, low, close, np.ones(n)
    )


def compile_kernels() -> int:
    """Run every strategy (with and without higher-timeframe confirmation); returns signal count."""
    bars = random_walk_bars()
    total = 0
    for name in list_strategies():
        strategy, params = get_strategy(name), build_params(name, {})
        total += int(np.count_nonzero(vector_signals(strategy, params, bars, timeframe="1m").side))
        total += int(
            np.count_nonzero(vector_signals(strategy, params, bars, "15m", timeframe="1m").side)
        )
    return total


if __name__ == "__main__":
    print(f"kernels compiled; {compile_kernels()} signals on the warm-up series")
