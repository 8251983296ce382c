"""One aligned frame for a portfolio: the bars of many symbols on one time axis.

    frame = load_wide(store, ["BTCUSDT", "ETHUSDT", "XRPUSDT"], "1h")
    frame.close[:, frame.column("ETHUSDT")]     # NaN where ETHUSDT has no bar at that time

The axis is the union of every symbol's open times (sorted); a symbol's missing bars are NaN,
never filled. Each symbol is found in the store under any venue (or the one given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradeterm.domain.series import BarSeries
from tradeterm.errors import UserError
from tradeterm.marketdata.store import CandleStore

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class WideFrame:
    """Columns are symbols in `symbols` order; rows follow `ts` (bar open, epoch ms UTC)."""

    ts: I64
    symbols: tuple[str, ...]
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def column(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise UserError(
                f"wide frame: no column '{symbol}' ({', '.join(self.symbols)})"
            ) from None

    def complete_rows(self) -> npt.NDArray[np.bool_]:
        """Rows where every symbol has a bar."""
        return np.asarray(np.isfinite(self.close).all(axis=1))

    def series(self, symbol: str) -> BarSeries:
        """One symbol's own bars back (its NaN rows dropped)."""
        j = self.column(symbol)
        keep = np.isfinite(self.close[:, j])
        return BarSeries.from_columns(self.ts[keep], self.open[keep, j], self.high[keep, j],
                                      self.low[keep, j], self.close[keep, j], self.volume[keep, j])  # fmt: skip


def wide_frame(bars: Mapping[str, BarSeries]) -> WideFrame:
    """Align several series on the union of their open times."""
    symbols = tuple(bars)
    parts = [bars[s].open_ms for s in symbols]
    ts = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    shape = (ts.shape[0], len(symbols))
    cols = {name: np.full(shape, np.nan) for name in ("open", "high", "low", "close", "volume")}
    for j, symbol in enumerate(symbols):
        series = bars[symbol]
        rows = np.searchsorted(ts, series.open_ms)
        for name, column in cols.items():
            column[rows, j] = getattr(series, name)
    return WideFrame(ts=ts.astype(np.int64), symbols=symbols, **cols)


def load_wide(
    store: CandleStore,
    symbols: Sequence[str],
    timeframe: str,
    *,
    venue: str = "",
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> WideFrame:
    """The stored bars of `symbols` at `timeframe`, aligned (UserError naming a symbol the store
    lacks, or one stored under several venues when `venue` is not given)."""
    stored = store.series()
    bars: dict[str, BarSeries] = {}
    for symbol in symbols:
        venues = [
            v
            for v, s, tf in stored
            if s == symbol and tf == timeframe and (not venue or v == venue)
        ]
        if not venues:
            raise UserError(
                f"--symbol {symbol}: no {timeframe} bars in the candle store ({store.root})"
            )
        if len(venues) > 1:
            raise UserError(
                f"--symbol {symbol}: stored under several venues ({', '.join(venues)}); give --venue"
            )
        bars[symbol] = store.read(venues[0], symbol, timeframe, start_ms, end_ms)
    return wide_frame(bars)
