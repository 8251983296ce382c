"""Backtests: the vector engine (numba kernels), the event engine (the real node on a SimClock),
the backtrader peer, walk-forward, metrics and reports. Every engine returns a `BacktestResult`."""
