"""Charts of a backtest: equity vs HODL, underwater, price with trades, trade PnL histogram,
walk-forward in-sample vs out-of-sample bars.

Builders read any object shaped like a backtest result (`RunLike`, `TradeLike`), so this low
layer needs no engine import; `tradeterm.backtest.result.BacktestResult` fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tradeterm.charts.model import BarSet, Chart, HLine, Markers, Series

F64 = npt.NDArray[np.float64]


class TradeLike(Protocol):
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> int: ...
    @property
    def entry_ms(self) -> int: ...
    @property
    def exit_ms(self) -> int: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def exit_price(self) -> float: ...
    @property
    def pnl(self) -> float: ...


class RunLike(Protocol):
    @property
    def strategy(self) -> str: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    @property
    def initial_cash(self) -> float: ...
    @property
    def ts(self) -> npt.NDArray[np.int64]: ...
    @property
    def equity(self) -> F64: ...
    @property
    def hodl(self) -> F64: ...
    @property
    def trades(self) -> Sequence[TradeLike]: ...


def _f(values: npt.ArrayLike) -> F64:
    return np.asarray(values, dtype=np.float64)


def run_name(run: RunLike) -> str:
    symbols = ",".join(run.symbols) if len(run.symbols) <= 3 else f"{len(run.symbols)} symbols"
    return f"{run.strategy} {symbols}"


def equity_chart(run: RunLike, title: str = "") -> Chart:
    """The strategy's equity and buy-and-hold of the same capital over the same bars."""
    x = np.asarray(run.ts, dtype=np.float64)
    series = [Series("strategy", x, run.equity, color="blue")]
    if np.asarray(run.hodl).size == x.size:
        series.append(Series("HODL", x, run.hodl, color="gray"))
    return Chart(
        title=title or f"Equity: {run_name(run)}",
        series=tuple(series),
        hlines=(HLine(float(run.initial_cash), "start", color="gray"),),
        x_label="time (UTC)",
        y_label="equity",
        x_is_time=True,
    )


def underwater_chart(run: RunLike, title: str = "") -> Chart:
    """Drawdown below the running peak (the peak starts at the initial cash), in percent."""
    equity = np.asarray(run.equity, dtype=np.float64)
    peak = np.maximum.accumulate(np.concatenate(([run.initial_cash], equity)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, equity / peak - 1.0, 0.0) * 100.0
    return Chart(
        title=title or f"Underwater: {run_name(run)}",
        series=(Series("drawdown %", np.asarray(run.ts, dtype=np.float64), dd, "red", fill=True),),
        x_label="time (UTC)",
        y_label="drawdown %",
        x_is_time=True,
    )


def price_chart(
    ts: npt.ArrayLike,
    close: npt.ArrayLike,
    trades: Sequence[TradeLike],
    symbol: str,
    *,
    levels: Sequence[HLine] = (),
    stops: Sequence[float | None] = (),
    targets: Sequence[float | None] = (),
    title: str = "",
) -> Chart:
    """Closes of `symbol` with its trades: long entries ▲ green, short entries ▼ red, exits ✕;
    `stops`/`targets` (one per trade of `symbol`, None where unknown) as short dashes at the
    entry time; `levels` (stop loss, take profit of an open position) as horizontal lines."""
    mine = [t for t in trades if t.symbol == symbol]
    sl = [(t.entry_ms, v) for t, v in zip(mine, stops, strict=False) if v is not None]
    tp = [(t.entry_ms, v) for t, v in zip(mine, targets, strict=False) if v is not None]
    longs = [t for t in mine if t.side > 0]
    shorts = [t for t in mine if t.side < 0]
    return Chart(
        title=title or f"{symbol} with trades",
        series=(Series(symbol, _f(ts), _f(close), color="blue"),),
        markers=(
            Markers(
                "long entry",
                _f([t.entry_ms for t in longs]),
                _f([t.entry_price for t in longs]),
                "up",
                "green",
            ),
            Markers(
                "short entry",
                _f([t.entry_ms for t in shorts]),
                _f([t.entry_price for t in shorts]),
                "down",
                "red",
            ),
            Markers(
                "exit",
                _f([t.exit_ms for t in mine]),
                _f([t.exit_price for t in mine]),
                "x",
                "orange",
            ),
            Markers("stop loss", _f([x for x, _ in sl]), _f([y for _, y in sl]), "dash", "red"),
            Markers("take profit", _f([x for x, _ in tp]), _f([y for _, y in tp]), "dash", "green"),
        ),
        hlines=tuple(levels),
        x_label="time (UTC)",
        y_label="price",
        x_is_time=True,
    )


def trade_pnl_histogram(run: RunLike, bins: int = 20, title: str = "") -> Chart:
    """Count of trades per net-PnL bin (losses red, wins green)."""
    pnl = np.asarray([t.pnl for t in run.trades], dtype=np.float64)
    if pnl.size == 0:
        return Chart(title=title or f"Trade PnL: {run_name(run)} (no trades)")
    counts, edges = np.histogram(pnl, bins=max(1, min(bins, pnl.size)))
    centres = (edges[:-1] + edges[1:]) / 2.0
    labels = tuple(f"{c:,.4g}" for c in centres)
    wins = np.where(centres > 0, counts, 0).astype(np.float64)
    losses = np.where(centres <= 0, counts, 0).astype(np.float64)
    return Chart(
        title=title or f"Trade PnL: {run_name(run)}",
        categories=labels,
        bars=(BarSet("losing", losses, "red"), BarSet("winning", wins, "green")),
        x_label="net PnL per trade (bin centre)",
        y_label="trades",
    )


def walkforward_chart(
    splits: Sequence[str],
    in_sample: Sequence[float | None],
    out_of_sample: Sequence[float | None],
    metric: str = "calmar",
    title: str = "",
) -> Chart:
    """The chosen metric per split, in-sample beside out-of-sample (None drawn as 0)."""

    def clean(values: Sequence[float | None]) -> F64:
        return np.asarray([0.0 if v is None else v for v in values], dtype=np.float64)

    return Chart(
        title=title or f"Walk-forward {metric}: in-sample vs out-of-sample",
        categories=tuple(splits),
        bars=(
            BarSet("in-sample", clean(in_sample), "blue"),
            BarSet("out-of-sample", clean(out_of_sample), "orange"),
        ),
        x_label="split",
        y_label=metric,
    )
