"""Research mode of the vector engine: raw entry and exit signals, no risk gate.

For sweeping indicator rules the way vectorbt's `Portfolio.from_signals` does (and the
benchmark workloads W1-W3 of bench/backtest.py): one position at a time, all-in (or a fraction
of the cash), fees and slippage on fills, optional stop and target distances. The strategies
and the risk gate are NOT applied here; `run_backtest` is the engine for those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.vector import nb
from tradeterm.backtest.vector.records import trade_dt
from tradeterm.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SignalRun:
    """What a research run did: its trades (record array) and its equity per bar."""

    trades: npt.NDArray[np.void]
    equity: F64

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])


def _none(n: int) -> F64:
    return np.full(n, np.nan, dtype=np.float64)


def simulate_signals(
    bars: BarSeries,
    long_entry: B,
    long_exit: B,
    short_entry: B | None = None,
    short_exit: B | None = None,
    *,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
) -> SignalRun:
    """Signals of bar i (decided at its close) act at bar i+1's open; see
    `nb.simulate_signals_nb` for the fill rules."""
    n = len(bars)
    false = np.zeros(n, dtype=np.bool_)
    se = false if short_entry is None else short_entry
    sx = false if short_exit is None else short_exit
    trades = np.zeros(int(np.count_nonzero(long_entry) + np.count_nonzero(se)) + 1, trade_dt)
    equity = np.empty(n, dtype=np.float64)
    count = nb.simulate_signals_nb(
        bars.open, bars.high, bars.low, bars.close, long_entry, long_exit, se, sx,
        _none(n) if stop_distance is None else stop_distance,
        _none(n) if target_distance is None else target_distance,
        cash, fee_rate, slippage_bps / 10_000.0, fraction, intrabar == "worst", trades, equity,
    )  # fmt: skip
    return SignalRun(trades[:count], equity)


def simulate_signals_grid(
    bars: BarSeries,
    long_entry: B,
    long_exit: B,
    short_entry: B | None = None,
    short_exit: B | None = None,
    *,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
) -> list[SignalRun]:
    """`simulate_signals` for every row of (combos x bars) signal matrices, one compiled call;
    one run per row, in row order."""
    k, n = long_entry.shape
    false = np.zeros((k, n), dtype=np.bool_)
    se = false if short_entry is None else short_entry
    sx = false if short_exit is None else short_exit
    none = np.full((k, n), np.nan)
    entries = np.count_nonzero(long_entry, axis=1) + np.count_nonzero(se, axis=1)
    cap = int(entries.max()) + 2
    trades = np.zeros((k, cap), trade_dt)
    equity = np.empty((k, n), dtype=np.float64)
    counts = np.zeros(k, dtype=np.int64)
    nb.simulate_signals_grid_nb(
        bars.open, bars.high, bars.low, bars.close, long_entry, long_exit, se, sx,
        none if stop_distance is None else stop_distance,
        none if target_distance is None else target_distance,
        cash, fee_rate, slippage_bps / 10_000.0, fraction, intrabar == "worst", trades, equity,
        counts,
    )  # fmt: skip
    return [SignalRun(trades[i, : counts[i]], equity[i]) for i in range(k)]
