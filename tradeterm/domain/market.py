"""Market data values: Tick and Bar."""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.timeframes import timeframe_ms


@dataclass(frozen=True, slots=True)
class Tick:
    """One price update. `price` is the last/quote price; bid and ask bracket it (equal if the
    venue gives one price only)."""

    venue: str
    symbol: str
    ts_ms: int
    price: float
    bid: float
    ask: float
    size: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed OHLCV bar. `open_ms` is the bar's UTC-aligned open time (the data-file `ts`)."""

    venue: str
    symbol: str
    timeframe: str
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    ticks: int = 0

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def close_ms(self) -> int:
        """The instant the bar closed (exclusive end of its bucket)."""
        return self.open_ms + timeframe_ms(self.timeframe)
