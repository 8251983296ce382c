"""Technical indicators for strategies: typed, validated, numba-fast, equal to TA-Lib.

Each function takes price columns (anything array-like, e.g. `BarSeries.close`) and returns a
float64 array of the same length, NaN during the warm-up exactly where TA-Lib puts NaN. The work
is done by a backend (`backend.py`): the `@njit` kernels in `nb.py` (default) or TA-Lib's C
functions (live processes) — bit-identical, so the choice changes memory, never numbers. This
layer only checks arguments and converts inputs (no copy when they already are contiguous float64
arrays, as `BarSeries` columns are).

Periods follow TA-Lib's accepted ranges, so a parameter that works here works there too:
n >= 1 for sma, ema and atr (atr(n=1) is the true range) and for nr7; n >= 2 for the rest.
+DI/-DI also require n >= 2: TA-Lib's period-1 DI is unsmoothed and scaled 0..1, not 0..100.
A bad period raises ValueError naming the argument.

Warm-up (leading NaNs on gap-free data), for a strategy's `lookback`: `warm_up(name, n)`.
sma/ema/bbands/donchian/zscore/nr7 n-1, rsi/atr/plus_di/minus_di n, adx 2n-1, true_range 1.
The recursive ones (ema, rsi, atr, adx, +DI/-DI) also remember their seed: give them a few
times n bars more than the warm-up before trusting a live value to match the backtest's.

Importing this package imports neither numba nor TA-Lib: the backend loads on first use.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tradeterm.indicators.backend import active, use_backend

F64 = npt.NDArray[np.float64]

__all__ = [
    "F64",
    "INDICATORS",
    "BollingerBands",
    "DonchianChannel",
    "adx",
    "atr",
    "bbands",
    "donchian",
    "ema",
    "minus_di",
    "nr7",
    "plus_di",
    "rsi",
    "sma",
    "true_range",
    "use_backend",
    "warm_up",
    "zscore",
]


class BollingerBands(NamedTuple):
    """Bollinger bands: the SMA and an envelope of standard deviations around it.

    Unpacks like TA-Lib's tuple; the three arrays are disjoint views of one memory block."""

    upper: F64
    middle: F64
    lower: F64


class DonchianChannel(NamedTuple):
    """Donchian channel: highest high and lowest low of the last n bars (breakout levels).

    Unpacks like (MAX, MIN); the two arrays are disjoint views of one memory block."""

    upper: F64
    lower: F64


#: Every indicator by name, as `warm_up` knows them.
INDICATORS = (
    "adx",
    "atr",
    "bbands",
    "donchian",
    "ema",
    "minus_di",
    "nr7",
    "plus_di",
    "rsi",
    "sma",
    "true_range",
    "zscore",
)


def warm_up(indicator: str, n: int = 0) -> int:
    """How many leading bars of `indicator(..., n)` are NaN on gap-free data: the history a
    strategy's lookback must cover before the first value exists."""
    match indicator:
        case "sma" | "ema" | "bbands" | "donchian" | "zscore" | "nr7":
            return max(n - 1, 0)
        case "rsi" | "atr" | "plus_di" | "minus_di":
            return n
        case "adx":
            return 2 * n - 1
        case "true_range":
            return 1
    raise ValueError(f"indicator must be one of {', '.join(INDICATORS)}, got {indicator!r}")


# --------------------------------------------------------------------------- argument checks


def _period(n: int, name: str = "n", minimum: int = 2) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValueError(f"{name} must be an integer period, got {n!r}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


def _deviations(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of standard deviations, got {value!r}")
    return float(value)


def _column(values: npt.ArrayLike, name: str) -> F64:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _columns(**named: npt.ArrayLike) -> list[F64]:
    arrays = [_column(values, name) for name, values in named.items()]
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) > 1:
        got = ", ".join(f"{name}={a.shape[0]}" for name, a in zip(named, arrays, strict=True))
        raise ValueError(f"{', '.join(named)} must have the same length ({got})")
    return arrays


# --------------------------------------------------------------------------- averages


def sma(x: npt.ArrayLike, n: int) -> F64:
    """Simple moving average of the last n values."""
    return active().sma(_column(x, "x"), _period(n, minimum=1))


def ema(x: npt.ArrayLike, n: int) -> F64:
    """Exponential moving average (k = 2/(n+1)), seeded with the SMA of the first n values."""
    return active().ema(_column(x, "x"), _period(n, minimum=1))


# --------------------------------------------------------------------------- oscillators


def rsi(close: npt.ArrayLike, n: int = 14) -> F64:
    """Wilder's relative strength index, 0..100 (0.0 while the window has not moved at all)."""
    return active().rsi(_column(close, "close"), _period(n))


def zscore(x: npt.ArrayLike, n: int = 20) -> F64:
    """Distance of each value from its n-bar SMA in population standard deviations.

    NaN where the window is flat (standard deviation 0)."""
    return active().zscore(_column(x, "x"), _period(n))


# --------------------------------------------------------------------------- volatility


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> F64:
    """Each bar's true range: its high-low range widened to include the previous close."""
    h, lo, c = _columns(high=high, low=low, close=close)
    return active().true_range(h, lo, c)


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """Average true range (Wilder-smoothed), in price units: the usual stop-distance yardstick."""
    h, lo, c = _columns(high=high, low=low, close=close)
    return active().atr(h, lo, c, _period(n, minimum=1))


def bbands(
    x: npt.ArrayLike, n: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0
) -> BollingerBands:
    """Bollinger bands: SMA(n) ± nbdev × population standard deviation of the last n values."""
    upper, middle, lower = active().bbands(
        _column(x, "x"),
        _period(n),
        _deviations(nbdev_up, "nbdev_up"),
        _deviations(nbdev_dn, "nbdev_dn"),
    )
    return BollingerBands(upper, middle, lower)


def donchian(high: npt.ArrayLike, low: npt.ArrayLike, n: int = 20) -> DonchianChannel:
    """Donchian channel: highest high and lowest low of the last n bars, this bar included."""
    h, lo = _columns(high=high, low=low)
    upper, lower = active().donchian(h, lo, _period(n))
    return DonchianChannel(upper, lower)


def nr7(high: npt.ArrayLike, low: npt.ArrayLike, n: int = 7) -> F64:
    """Narrow-range flag: 1.0 when this bar's high-low range is the narrowest of the last n
    (ties count), else 0.0; NaN for the first n-1 bars or when a range in the window is NaN."""
    h, lo = _columns(high=high, low=low)
    return active().nr7(h, lo, _period(n, minimum=1))


# --------------------------------------------------------------------------- trend strength


def adx(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """Average directional index, 0..100: how strongly the market trends, up or down."""
    h, lo, c = _columns(high=high, low=low, close=close)
    return active().adx(h, lo, c, _period(n))


def plus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """+DI, 0..100: share of the smoothed true range made of upward directional moves."""
    h, lo, c = _columns(high=high, low=low, close=close)
    return active().plus_di(h, lo, c, _period(n))


def minus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """-DI, 0..100: share of the smoothed true range made of downward directional moves."""
    h, lo, c = _columns(high=high, low=low, close=close)
    return active().minus_di(h, lo, c, _period(n))
