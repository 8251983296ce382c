"""Bar series: columns of closed bars as numpy arrays — what strategies and indicators consume.

`BarSeries` is the one shape shared by the live window (ring buffer), the candle store, the data
importer, the event backtest and the vector backtest, so every mode feeds strategies the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BarSeries:
    """Closed bars in time order. `open_ms[i]` is the UTC open time of bar i (epoch ms)."""

    open_ms: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def tail(self, n: int) -> BarSeries:
        """The last `n` bars (views, no copy)."""
        if n >= len(self):
            return self
        s = slice(len(self) - n, None)
        return self.slice(s)

    def slice(self, s: slice) -> BarSeries:
        return BarSeries(
            self.open_ms[s], self.open[s], self.high[s], self.low[s], self.close[s], self.volume[s]
        )

    @classmethod
    def from_columns(
        cls,
        open_ms: Any,
        open_: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any | None = None,
    ) -> BarSeries:
        """Build from any array-likes (copies into contiguous int64/float64 arrays)."""
        c = np.ascontiguousarray(close, dtype=np.float64)
        vol = np.zeros_like(c) if volume is None else np.ascontiguousarray(volume, dtype=np.float64)
        return cls(
            np.ascontiguousarray(open_ms, dtype=np.int64),
            np.ascontiguousarray(open_, dtype=np.float64),
            np.ascontiguousarray(high, dtype=np.float64),
            np.ascontiguousarray(low, dtype=np.float64),
            c,
            vol,
        )

    @classmethod
    def empty(cls) -> BarSeries:
        z = np.zeros(0, dtype=np.float64)
        return cls(np.zeros(0, dtype=np.int64), z, z, z, z, z)
