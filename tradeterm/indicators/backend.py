"""Where indicator arithmetic runs: the numba kernels (`nb.py`) or TA-Lib's C library.

The two are bit-identical on every indicator (the golden tests hold them equal on real data), so
the choice is about the process, not the numbers:
- numba (default): fastest for bulk work on long histories — backtests, calibration, tests.
- talib: what the live processes use (daemon, console). Live evaluation runs on windows of a few
  hundred bars, where TA-Lib is as fast (a few microseconds a call), and it costs ~6 MB of memory
  where numba's compiler and cached kernels cost ~120 MB — the difference between fitting a
  Raspberry Pi's budget or not.

The backend is chosen once per process, before the first indicator call: `use_backend("talib")`
(the daemon and the console do this), or the environment variable TRADETERM_INDICATORS.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from tradeterm.imports import import_hiding

F64 = npt.NDArray[np.float64]
ENV_VAR = "TRADETERM_INDICATORS"


class Kernels(Protocol):
    """The arithmetic behind the public indicator functions (inputs already validated:
    contiguous float64 arrays and legal periods)."""

    name: str

    def sma(self, x: F64, n: int) -> F64: ...
    def ema(self, x: F64, n: int) -> F64: ...
    def rsi(self, x: F64, n: int) -> F64: ...
    def zscore(self, x: F64, n: int) -> F64: ...
    def true_range(self, h: F64, lo: F64, c: F64) -> F64: ...
    def atr(self, h: F64, lo: F64, c: F64, n: int) -> F64: ...
    def bbands(self, x: F64, n: int, up: float, dn: float) -> tuple[F64, F64, F64]: ...
    def donchian(self, h: F64, lo: F64, n: int) -> tuple[F64, F64]: ...
    def nr7(self, h: F64, lo: F64, n: int) -> F64: ...
    def adx(self, h: F64, lo: F64, c: F64, n: int) -> F64: ...
    def plus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64: ...
    def minus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64: ...


class NumbaKernels:
    """The `@njit(cache=True)` kernels of nb.py (numba is imported when this is built)."""

    name = "numba"

    def __init__(self) -> None:
        from tradeterm.indicators import nb

        self._nb: Any = nb

    def sma(self, x: F64, n: int) -> F64:
        return self._nb.sma_nb(x, n)  # type: ignore[no-any-return]

    def ema(self, x: F64, n: int) -> F64:
        return self._nb.ema_nb(x, n)  # type: ignore[no-any-return]

    def rsi(self, x: F64, n: int) -> F64:
        return self._nb.rsi_nb(x, n)  # type: ignore[no-any-return]

    def zscore(self, x: F64, n: int) -> F64:
        return self._nb.zscore_nb(x, n)  # type: ignore[no-any-return]

    def true_range(self, h: F64, lo: F64, c: F64) -> F64:
        return self._nb.true_range_nb(h, lo, c)  # type: ignore[no-any-return]

    def atr(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._nb.atr_nb(h, lo, c, n)  # type: ignore[no-any-return]

    def bbands(self, x: F64, n: int, up: float, dn: float) -> tuple[F64, F64, F64]:
        upper, middle, lower = self._nb.bbands_nb(x, n, up, dn)
        return upper, middle, lower

    def donchian(self, h: F64, lo: F64, n: int) -> tuple[F64, F64]:
        upper, lower = self._nb.donchian_nb(h, lo, n)
        return upper, lower

    def nr7(self, h: F64, lo: F64, n: int) -> F64:
        return self._nb.nr7_nb(h, lo, n)  # type: ignore[no-any-return]

    def adx(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._nb.adx_nb(h, lo, c, n)  # type: ignore[no-any-return]

    def plus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._nb.plus_di_nb(h, lo, c, n)  # type: ignore[no-any-return]

    def minus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._nb.minus_di_nb(h, lo, c, n)  # type: ignore[no-any-return]


def nr7_numpy(h: F64, lo: F64, n: int) -> F64:
    """Narrow-range flag with numpy, the same rule as `nb.nr7_nb`: 1.0 when this bar's range is
    not wider than any of the previous n-1 ranges (ties count), NaN for the first n-1 bars and
    wherever a range in the window is unknown."""
    ranges = h - lo
    out = np.full(ranges.shape[0], np.nan)
    if ranges.shape[0] < n:
        return out
    windows = sliding_window_view(ranges, n)
    current = windows[:, -1]
    if n > 1:
        with np.errstate(invalid="ignore"):
            flag = (windows[:, :-1] >= current[:, None]).all(axis=1).astype(np.float64)
    else:
        flag = np.ones(windows.shape[0])
    out[n - 1 :] = np.where(np.isnan(windows).any(axis=1), np.nan, flag)
    return out


class TalibKernels:
    """TA-Lib's C functions (imported without pandas/polars, which TA-Lib would otherwise load)."""

    name = "talib"

    def __init__(self) -> None:
        self._t: Any = import_hiding("talib")

    def sma(self, x: F64, n: int) -> F64:
        return self._t.SMA(x, timeperiod=n)  # type: ignore[no-any-return]

    def ema(self, x: F64, n: int) -> F64:
        return self._t.EMA(x, timeperiod=n)  # type: ignore[no-any-return]

    def rsi(self, x: F64, n: int) -> F64:
        return self._t.RSI(x, timeperiod=n)  # type: ignore[no-any-return]

    def zscore(self, x: F64, n: int) -> F64:
        mean = self._t.SMA(x, timeperiod=n)
        std = self._t.STDDEV(x, timeperiod=n, nbdev=1.0)
        out = np.full(x.shape[0], np.nan)
        ok = std > 0.0  # False for NaN too
        out[ok] = (x[ok] - mean[ok]) / std[ok]
        return out

    def true_range(self, h: F64, lo: F64, c: F64) -> F64:
        return self._t.TRANGE(h, lo, c)  # type: ignore[no-any-return]

    def atr(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._t.ATR(h, lo, c, timeperiod=n)  # type: ignore[no-any-return]

    def bbands(self, x: F64, n: int, up: float, dn: float) -> tuple[F64, F64, F64]:
        upper, middle, lower = self._t.BBANDS(x, timeperiod=n, nbdevup=up, nbdevdn=dn, matype=0)
        return upper, middle, lower

    def donchian(self, h: F64, lo: F64, n: int) -> tuple[F64, F64]:
        return self._t.MAX(h, timeperiod=n), self._t.MIN(lo, timeperiod=n)

    def nr7(self, h: F64, lo: F64, n: int) -> F64:
        return nr7_numpy(h, lo, n)

    def adx(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._t.ADX(h, lo, c, timeperiod=n)  # type: ignore[no-any-return]

    def plus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._t.PLUS_DI(h, lo, c, timeperiod=n)  # type: ignore[no-any-return]

    def minus_di(self, h: F64, lo: F64, c: F64, n: int) -> F64:
        return self._t.MINUS_DI(h, lo, c, timeperiod=n)  # type: ignore[no-any-return]


BACKENDS: dict[str, type[NumbaKernels] | type[TalibKernels]] = {
    "numba": NumbaKernels,
    "talib": TalibKernels,
}


class _Choice:
    """The process's backend, built on first use (a process-level setting, like the GIL switch
    interval: there is one per interpreter by nature)."""

    def __init__(self) -> None:
        self.kernels: Kernels | None = None


_CHOICE = _Choice()


def use_backend(name: str) -> Kernels:
    """Select the indicator backend for this process ("numba" or "talib")."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown indicator backend {name!r} (known: {', '.join(BACKENDS)})"
        ) from None
    if _CHOICE.kernels is None or _CHOICE.kernels.name != name:
        _CHOICE.kernels = factory()
    return _CHOICE.kernels


def active() -> Kernels:
    """The backend in use: the one selected, else $TRADETERM_INDICATORS, else numba."""
    if _CHOICE.kernels is None:
        use_backend(os.environ.get(ENV_VAR, "numba"))
    assert _CHOICE.kernels is not None
    return _CHOICE.kernels
