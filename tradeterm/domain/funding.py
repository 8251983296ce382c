"""Perpetual funding: the 8-hour boundaries, what a position pays at one, and the rate of a
boundary in a recorded funding series.

Plain functions of numbers and arrays (numba-compatible): the paper executor and the vector
backtester charge funding with the same rules.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FUNDING_INTERVAL_MS = 8 * 3_600_000
"""Perpetual funding is exchanged at 00:00, 08:00 and 16:00 UTC."""

RATE_STAMP_SLACK_MS = 60_000
"""A recorded rate stamped up to this long after a boundary belongs to it (sources stamp their
funding events a few milliseconds late)."""


def funding_slot(ts_ms: int) -> int:
    """The 8-hour funding period `ts_ms` falls in (boundary k is at k x 8 h)."""
    return ts_ms // FUNDING_INTERVAL_MS


def funding_payment(
    rate: float, qty: float, price: float, contract_size: float, sign: int
) -> float:
    """What a position pays at a boundary (> 0 leaves the wallet): longs pay `rate` x notional
    to shorts; a negative rate reverses it."""
    notional = qty * price * contract_size
    return rate * notional * sign


def rate_at(
    ts: npt.NDArray[np.int64], rates: npt.NDArray[np.float64], boundary_ms: int, default: float
) -> float:
    """The recorded rate of a funding boundary: the last one stamped at or before the boundary
    plus `RATE_STAMP_SLACK_MS`; `default` before the first record (or with none)."""
    i = int(np.searchsorted(ts, boundary_ms + RATE_STAMP_SLACK_MS, side="right")) - 1
    if i < 0:
        return default
    return float(rates[i])
