"""Research mode of the vector engine: raw entry and exit signals, no risk gate.

For sweeping indicator rules the way vectorbt's `Portfolio.from_signals` does (and the
benchmark workloads W1-W3 of bench/backtest.py): one position at a time, all-in (or a fraction
of the cash), fees and slippage on fills, optional stop and target distances. The strategies
and the risk gate are NOT applied here; `run_backtest` is the engine for those.

Two ways to give the signals: four boolean arrays (`simulate_signals`, `simulate_signals_grid`),
or an EMA cross computed inside the compiled call (`simulate_ema_cross`,
`simulate_ema_cross_grid`: the EMAs step with `tradeterm.indicators`' own kernel inside the
run's loop, nothing materialised per parameter set). Both run the one kernel `nb.research_nb`.
Equity per bar is kept unless `keep_equity=False` (then only the final equity is known).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.vector import nb
from tradeterm.backtest.vector.records import trade_dt
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import ema

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SignalRun:
    """What a research run did: its trades (record array), its final equity and, when kept,
    its equity per bar (None otherwise)."""

    trades: npt.NDArray[np.void]
    final_equity: float
    equity: F64 | None = None


def _f64(a: npt.ArrayLike) -> F64:
    return np.ascontiguousarray(a, dtype=np.float64)


def _b(a: npt.ArrayLike) -> B:
    return np.ascontiguousarray(a, dtype=np.bool_)


def _level(name: str, arr: F64 | None, n: int) -> F64 | None:
    if arr is None:
        return None
    out = _f64(arr)
    if out.shape != (n,):
        raise ValueError(f"{name} has shape {out.shape}, expected ({n},): one per bar")
    return out


def _stops(
    n: int,
    stop_distance: F64 | None,
    stop_mult: float,
    target_distance: F64 | None,
    target_mult: float,
) -> tuple[F64 | None, float, F64 | None, float]:
    """The (stop distances, stop mult, target distances, target mult) the kernels take."""
    return (_level("stop_distance", stop_distance, n), float(stop_mult),
            _level("target_distance", target_distance, n), float(target_mult))  # fmt: skip


def _flags(
    shape: tuple[int, ...], long_entry: B, long_exit: B, short_entry: B | None, short_exit: B | None
) -> tuple[B, B, B, B]:
    """The four signal arrays as contiguous booleans; a missing short side is all False."""
    false = np.zeros(shape, dtype=np.bool_)
    se = false if short_entry is None else _b(short_entry)
    sx = false if short_exit is None else _b(short_exit)
    return _b(long_entry), _b(long_exit), se, sx


def _worst(intrabar: str) -> bool:
    if intrabar not in ("path", "worst"):
        raise ValueError(f"intrabar must be 'path' or 'worst', not {intrabar!r}")
    return intrabar == "worst"


def _period(n: int) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"an EMA period must be an integer >= 1, not {n!r}")
    return int(n)


def _streamable(close: F64, periods: Sequence[int]) -> bool:
    """The EMAs can step inside the run's loop: every period >= 2 and the closes start with a
    value (else the EMA lines are computed first and read)."""
    return close.shape[0] > 0 and not np.isnan(close[0]) and min(periods) >= 2


@dataclass(frozen=True)
class _Costs:
    cash: float
    fee_rate: float
    slip: float
    fraction: float
    worst: bool


def _costs(
    cash: float, fee_rate: float, slippage_bps: float, fraction: float, intrabar: str
) -> _Costs:
    return _Costs(float(cash), float(fee_rate), slippage_bps / 10_000.0, float(fraction),
                  _worst(intrabar))  # fmt: skip


def _run_one(
    bars: BarSeries,
    lines: tuple[F64 | None, F64 | None],
    periods: tuple[int, int],
    long_short: bool,
    flags: tuple[B | None, B | None, B | None, B | None],
    stop: tuple[F64 | None, float, F64 | None, float],
    k: _Costs,
    keep_equity: bool,
    capacity: int,
) -> SignalRun:
    n = len(bars)
    o, h, lo, c = _f64(bars.open), _f64(bars.high), _f64(bars.low), _f64(bars.close)
    equity = np.empty(n, dtype=np.float64) if keep_equity else None
    while True:
        trades = np.zeros(max(capacity, 1), trade_dt)
        count, final = nb.research_nb(
            o, h, lo, c, lines[0], lines[1], periods[0], periods[1], long_short, *flags,
            *stop, k.cash, k.fee_rate, k.slip, k.fraction, k.worst, trades, equity,
        )  # fmt: skip
        if count <= trades.shape[0]:
            return SignalRun(trades[:count], float(final), equity)
        capacity = int(count)  # more trades than the buffer held: again with room for all


def simulate_signals(
    bars: BarSeries,
    long_entry: B,
    long_exit: B,
    short_entry: B | None = None,
    short_exit: B | None = None,
    *,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    stop_mult: float = 1.0,
    target_mult: float = 1.0,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
    keep_equity: bool = True,
) -> SignalRun:
    """Signals of bar i (decided at its close) act at bar i+1's open; see `nb.research_nb`
    for the fill rules. Stops and targets lie `stop_mult * stop_distance[i]` and
    `target_mult * target_distance[i]` from the fill of an entry signalled at bar i."""
    n = len(bars)
    le, lx, se, sx = _flags((n,), long_entry, long_exit, short_entry, short_exit)
    for name, arr in (("long_entry", le), ("long_exit", lx), ("short_entry", se),
                      ("short_exit", sx)):  # fmt: skip
        if arr.shape != (n,):
            raise ValueError(f"{name} has shape {arr.shape}, expected ({n},): one per bar")
    stop = _stops(n, stop_distance, stop_mult, target_distance, target_mult)
    capacity = int(np.count_nonzero(le) + np.count_nonzero(se)) + 1
    return _run_one(
        bars, (None, None), (2, 2), False, (le, lx, se, sx), stop,
        _costs(cash, fee_rate, slippage_bps, fraction, intrabar), keep_equity, capacity,
    )  # fmt: skip


def simulate_ema_cross(
    bars: BarSeries,
    fast: int,
    slow: int,
    *,
    long_short: bool = False,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    stop_mult: float = 1.0,
    target_mult: float = 1.0,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
    keep_equity: bool = True,
) -> SignalRun:
    """`simulate_signals` on an EMA(fast)/EMA(slow) cross of the closes: long on the cross up,
    out on the cross down (with `long_short`, short on the cross down, out on the cross up).
    The same run as `simulate_signals(bars, up, down[, down, up])` with the crosses computed
    from `tradeterm.indicators.ema` in numpy, without the signal arrays."""
    n = len(bars)
    fast, slow = _period(fast), _period(slow)
    close = _f64(bars.close)
    lines: tuple[F64 | None, F64 | None] = (None, None)
    if not _streamable(close, (fast, slow)):
        lines = (ema(close, fast), ema(close, slow))
    stop = _stops(n, stop_distance, stop_mult, target_distance, target_mult)
    return _run_one(
        bars, lines, (fast, slow), long_short, (None, None, None, None), stop,
        _costs(cash, fee_rate, slippage_bps, fraction, intrabar), keep_equity, n // 16 + 16,
    )  # fmt: skip


def _grid(
    bars: BarSeries,
    fasts: I64,
    slows: I64,
    long_short: bool,
    flags: tuple[B | None, B | None, B | None, B | None],
    stop: tuple[F64 | None, float, F64 | None, float],
    k: _Costs,
    sets: int,
    keep_equity: bool,
    capacity: int,
) -> tuple[npt.NDArray[np.void], I64, F64, F64 | None]:
    n = len(bars)
    o, h, lo, c = _f64(bars.open), _f64(bars.high), _f64(bars.low), _f64(bars.close)
    trades = np.zeros((sets, max(capacity, 1)), trade_dt)
    equity = np.empty((sets, n)) if keep_equity else None
    counts = np.zeros(sets, dtype=np.int64)
    finals = np.zeros(sets, dtype=np.float64)
    nb.research_grid_nb(
        o, h, lo, c, fasts, slows, long_short, *flags, *stop, k.cash, k.fee_rate, k.slip,
        k.fraction, k.worst, trades, equity, counts, finals,
    )  # fmt: skip
    return trades, counts, finals, equity


def simulate_signals_grid(
    bars: BarSeries,
    long_entry: B,
    long_exit: B,
    short_entry: B | None = None,
    short_exit: B | None = None,
    *,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    stop_mult: float = 1.0,
    target_mult: float = 1.0,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
    keep_equity: bool = True,
) -> list[SignalRun]:
    """`simulate_signals` for every row of (sets x bars) signal matrices, one compiled call;
    one run per row, in row order (stops and targets shared by every row)."""
    sets, n = long_entry.shape
    le, lx, se, sx = _flags((sets, n), long_entry, long_exit, short_entry, short_exit)
    stop = _stops(n, stop_distance, stop_mult, target_distance, target_mult)
    entries = np.count_nonzero(le, axis=1) + np.count_nonzero(se, axis=1)
    capacity = int(entries.max()) + 2 if sets else 1
    none = np.zeros(sets, dtype=np.int64)
    trades, counts, finals, equity = _grid(
        bars, none, none, False, (le, lx, se, sx), stop,
        _costs(cash, fee_rate, slippage_bps, fraction, intrabar), sets, keep_equity, capacity,
    )  # fmt: skip
    return [
        SignalRun(trades[i, : counts[i]], float(finals[i]), None if equity is None else equity[i])
        for i in range(sets)
    ]


def simulate_ema_cross_grid(
    bars: BarSeries,
    fasts: Sequence[int] | I64,
    slows: Sequence[int] | I64,
    *,
    long_short: bool = False,
    stop_distance: F64 | None = None,
    target_distance: F64 | None = None,
    stop_mult: float = 1.0,
    target_mult: float = 1.0,
    cash: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    fraction: float = 1.0,
    intrabar: str = "path",
    keep_equity: bool = False,
) -> list[SignalRun]:
    """`simulate_ema_cross` for every (fasts[i], slows[i]) pair in one compiled call, each
    pair's EMAs stepping inside its own pass (no signal matrices, no EMA arrays). Runs in pair
    order; equity per bar only with `keep_equity` (sets x bars floats)."""
    f = np.asarray([_period(p) for p in fasts], dtype=np.int64)
    s = np.asarray([_period(p) for p in slows], dtype=np.int64)
    if f.shape != s.shape:
        raise ValueError("fasts and slows must be two lists of the same length")
    n = len(bars)
    stop = _stops(n, stop_distance, stop_mult, target_distance, target_mult)
    k = _costs(cash, fee_rate, slippage_bps, fraction, intrabar)
    single = dict(
        long_short=long_short, stop_distance=stop_distance, target_distance=target_distance,
        stop_mult=stop_mult, target_mult=target_mult, cash=cash, fee_rate=fee_rate,
        slippage_bps=slippage_bps, fraction=fraction, intrabar=intrabar, keep_equity=keep_equity,
    )  # fmt: skip
    if f.size == 0:
        return []
    if not _streamable(_f64(bars.close), [*f.tolist(), *s.tolist()]):
        return [simulate_ema_cross(bars, int(a), int(b), **single)  # type: ignore[arg-type]
                for a, b in zip(f, s, strict=True)]  # fmt: skip
    capacity = n // 64 + 16
    trades, counts, finals, equity = _grid(
        bars, f, s, long_short, (None, None, None, None), stop, k, f.size, keep_equity, capacity
    )
    runs = []
    for i in range(f.size):
        if counts[i] > capacity:  # more trades than the shared buffer held: that set again
            runs.append(simulate_ema_cross(bars, int(f[i]), int(s[i]), **single))  # type: ignore[arg-type]
        else:
            eq = None if equity is None else equity[i]
            runs.append(SignalRun(trades[i, : counts[i]], float(finals[i]), eq))
    return runs
