"""Record dtypes of the vector engine: what its kernels write, one row per fill and per round
trip (vectorbt's record arrays: numpy structured arrays numba can fill)."""

from __future__ import annotations

import numpy as np

trade_dt = np.dtype(
    [
        ("symbol", np.int32),
        ("side", np.int8),
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("entry_ms", np.int64),
        ("exit_ms", np.int64),
        ("qty", np.float64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("pnl", np.float64),
        ("fees", np.float64),
        ("funding", np.float64),
        ("risk_amount", np.float64),
        ("r_multiple", np.float64),
        ("reason", np.int8),
    ],
    align=True,
)
"""One round trip: symbol index, side (+1/-1), entry and exit bars (run axis) and times, size,
average prices, net PnL (fees and funding included), fees, funding, R in money and the result
in R, and the exit reason (an index into `EXIT_REASONS`)."""

order_dt = np.dtype(
    [
        ("symbol", np.int32),
        ("bar", np.int64),
        ("ts", np.int64),
        ("side", np.int8),
        ("qty", np.float64),
        ("price", np.float64),
        ("fee", np.float64),
        ("purpose", np.int8),
    ],
    align=True,
)
"""One fill: symbol, bar and time, side of the order (+1 buy, -1 sell), size, price, fee and
purpose (0 entry, 1 exit)."""

EXIT_REASONS: tuple[str, ...] = (
    "stop_loss",
    "trailing_stop",
    "take_profit",
    "max_hold",
    "time_stop",
    "weekend",
    "kill_switch",
    "end_of_data",
    "liquidation",
    "signal",
)
"""Exit reasons by code, worded as the node words a closed trade (the kill switch's flatten and
the final close named for what they are in a backtest)."""

R_STOP, R_TRAIL, R_TARGET, R_MAX_HOLD, R_TIME, R_WEEKEND, R_KILL, R_END, R_LIQ, R_SIGNAL = range(10)
