"""TA-Lib twins of the numba kernels: the reference the golden tests and the benchmark compare to.

Same names as `tradeterm.indicators` (sma, ema, rsi, ...), float64 numpy in and out, calling the
real TA-Lib (`import talib`). Strategies do not use this module (the numba kernels are the
production path); it exists so every kernel has an independent referee.

The twins assume TA-Lib's global settings are at their defaults: unstable periods 0 and the
"Default" (not Metastock) compatibility. `check_default_settings()` says whether they are.

`nr7_reference` has no TA-Lib counterpart; it is a plain pandas definition of the narrow-range
flag, written independently of the numba loop so the two check each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tradeterm.imports import import_hiding

talib: Any = import_hiding("talib")

F64 = npt.NDArray[np.float64]

# The settings helpers are re-exported by talib/__init__ without being in its __all__.
_talib_settings: Any = talib

#: TA-Lib functions whose warm-up depends on the global "unstable period" setting.
UNSTABLE_FUNCTIONS = ("EMA", "RSI", "ATR", "ADX", "PLUS_DI", "MINUS_DI")


def _f64(values: Any) -> F64:
    return np.ascontiguousarray(values, dtype=np.float64)


def check_default_settings() -> list[str]:
    """The TA-Lib global settings that differ from the defaults the twins assume (empty: fine)."""
    problems = [
        f"unstable period of {name} is {_talib_settings.get_unstable_period(name)}"
        for name in UNSTABLE_FUNCTIONS
        if _talib_settings.get_unstable_period(name) != 0
    ]
    if _talib_settings.get_compatibility() != 0:
        problems.append("compatibility is Metastock, not Default")
    return problems


def talib_version() -> str:
    """Version of the TA-Lib C library behind the `talib` wrapper (e.g. '0.8.1 (...)')."""
    raw = _talib_settings.__ta_version__
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def sma(x: npt.ArrayLike, n: int) -> F64:
    """TA-Lib SMA."""
    return _f64(talib.SMA(_f64(x), timeperiod=n))


def ema(x: npt.ArrayLike, n: int) -> F64:
    """TA-Lib EMA (seeded with the SMA of the first n values)."""
    return _f64(talib.EMA(_f64(x), timeperiod=n))


def rsi(close: npt.ArrayLike, n: int = 14) -> F64:
    """TA-Lib RSI."""
    return _f64(talib.RSI(_f64(close), timeperiod=n))


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> F64:
    """TA-Lib TRANGE."""
    return _f64(talib.TRANGE(_f64(high), _f64(low), _f64(close)))


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """TA-Lib ATR."""
    return _f64(talib.ATR(_f64(high), _f64(low), _f64(close), timeperiod=n))


def bbands(
    x: npt.ArrayLike, n: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0
) -> tuple[F64, F64, F64]:
    """TA-Lib BBANDS with the SMA middle band: (upper, middle, lower)."""
    # matype defaults to SMA, the middle band the numba kernel computes.
    upper, middle, lower = talib.BBANDS(_f64(x), timeperiod=n, nbdevup=nbdev_up, nbdevdn=nbdev_dn)
    return _f64(upper), _f64(middle), _f64(lower)


def donchian(high: npt.ArrayLike, low: npt.ArrayLike, n: int = 20) -> tuple[F64, F64]:
    """Donchian channel from TA-Lib: (MAX(high, n), MIN(low, n))."""
    return _f64(talib.MAX(_f64(high), timeperiod=n)), _f64(talib.MIN(_f64(low), timeperiod=n))


def adx(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """TA-Lib ADX."""
    return _f64(talib.ADX(_f64(high), _f64(low), _f64(close), timeperiod=n))


def plus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """TA-Lib PLUS_DI."""
    return _f64(talib.PLUS_DI(_f64(high), _f64(low), _f64(close), timeperiod=n))


def minus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> F64:
    """TA-Lib MINUS_DI."""
    return _f64(talib.MINUS_DI(_f64(high), _f64(low), _f64(close), timeperiod=n))


def zscore(x: npt.ArrayLike, n: int = 20) -> F64:
    """(x - SMA(x, n)) / STDDEV(x, n) from TA-Lib, NaN where the standard deviation is 0."""
    values = _f64(x)
    mean = _f64(talib.SMA(values, timeperiod=n))
    std = _f64(talib.STDDEV(values, timeperiod=n, nbdev=1.0))
    out = np.full(values.shape[0], np.nan)
    ok = std > 0.0  # False for NaN too
    out[ok] = (values[ok] - mean[ok]) / std[ok]
    return out


def nr7_reference(high: npt.ArrayLike, low: npt.ArrayLike, n: int = 7) -> F64:
    """Narrow-range flag by definition, in pandas: 1.0 where this bar's high-low range is the
    smallest (ties count) of the last n ranges, 0.0 where it is not, NaN where fewer than n
    known ranges are available (the first n-1 bars and any window holding a NaN)."""
    import pandas as pd

    ranges = pd.Series(_f64(high) - _f64(low))
    narrowest = ranges.rolling(n, min_periods=n).min()
    flag = (ranges <= narrowest).astype(np.float64)
    return _f64(flag.where(narrowest.notna()).to_numpy(dtype=np.float64, na_value=np.nan))
