"""Bar building: ticks in, closed UTC-aligned OHLCV bars out, for many symbols and timeframes.

This is the hot path (tick -> bar -> signal), so a tick costs two dict lookups and a few integer
and float compares per timeframe; nothing here touches pandas or allocates per tick beyond the
returned list.

Rules a trader can rely on:

- a bar is published only once it is closed, and exactly once: either a tick at or after the end
  of its bucket arrives, or `flush(now_ms)` is called with `now_ms` at or after that end (a quiet
  market still closes its bars);
- the forming bar is never published (`current()` shows it, read-only);
- a tick older than the newest bucket already opened (or closed) for its symbol is *late*: it is
  dropped and counted, so a published bar is never rewritten and every timeframe of a symbol is
  built from the same ticks;
- empty buckets stay empty unless `fill_gaps` is on; then they become flat bars at the previous
  close with zero volume and zero ticks.
"""

from __future__ import annotations

from collections.abc import Sequence

from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.timeframes import TIMEFRAME_MS, timeframe_ms

_NO_BAR = -1
"""`end_ms` of a slot with no forming bar: every tick is at or after it, so it rolls."""


class _FormingBar:
    """The bar being built for one symbol and timeframe (mutable, private to the builder)."""

    __slots__ = (
        "close",
        "closed_until",
        "end_ms",
        "high",
        "low",
        "open",
        "open_ms",
        "size",
        "ticks",
        "timeframe",
        "volume",
    )

    def __init__(self, timeframe: str) -> None:
        self.timeframe = timeframe
        self.size = timeframe_ms(timeframe)
        self.open_ms = 0
        self.end_ms = _NO_BAR
        self.open = 0.0
        self.high = 0.0
        self.low = 0.0
        self.close = 0.0
        self.volume = 0.0
        self.ticks = 0
        self.closed_until = _NO_BAR
        """Exclusive end of the last published bucket (`_NO_BAR` before the first)."""

    def start(self, open_ms: int, price: float, size: float) -> None:
        self.open_ms = open_ms
        self.end_ms = open_ms + self.size
        self.open = self.high = self.low = self.close = price
        self.volume = size
        self.ticks = 1

    def to_bar(self, venue: str, symbol: str) -> Bar:
        return Bar(
            venue,
            symbol,
            self.timeframe,
            self.open_ms,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.ticks,
        )


class _SymbolBars:
    """Every timeframe being built for one `venue:symbol`."""

    __slots__ = ("accept_from", "forming", "key", "late_ticks", "symbol", "venue")

    def __init__(self, venue: str, symbol: str, timeframes: Sequence[str]) -> None:
        self.venue = venue
        self.symbol = symbol
        self.key = f"{venue}:{symbol}"
        self.forming = [_FormingBar(tf) for tf in timeframes]
        self.accept_from = _NO_BAR
        """Ticks before this instant are late (it only moves forward)."""
        self.late_ticks = 0


def _bar_order(bar: Bar) -> tuple[int, int]:
    size = TIMEFRAME_MS[bar.timeframe]
    return (bar.open_ms + size, size)


class BarBuilder:
    """Builds closed, UTC-aligned OHLCV bars from ticks, for any number of symbols at once.

    `timeframes` are names from `tradeterm.domain.timeframes` (the live builders use
    `BUILDER_TIMEFRAMES`). Buckets are aligned to multiples of the bar length from the epoch, so a
    5m bar opens at :00, :05, ... UTC and a 1d bar at 00:00 UTC.
    """

    def __init__(self, timeframes: Sequence[str], *, fill_gaps: bool = False) -> None:
        if not timeframes:
            raise ValueError("BarBuilder needs at least one timeframe")
        unique = dict.fromkeys(timeframes)
        self._timeframes = tuple(sorted(unique, key=timeframe_ms))
        self._fill_gaps = fill_gaps
        self._by_venue: dict[str, dict[str, _SymbolBars]] = {}
        self._by_key: dict[str, _SymbolBars] = {}
        self._late_ticks = 0

    @property
    def timeframes(self) -> tuple[str, ...]:
        """The timeframes built, shortest first."""
        return self._timeframes

    @property
    def fill_gaps(self) -> bool:
        return self._fill_gaps

    @property
    def late_ticks(self) -> int:
        """Ticks dropped because their bucket was already closed (all symbols)."""
        return self._late_ticks

    def late_ticks_for(self, key: str) -> int:
        """Late ticks dropped for one `venue:symbol`."""
        sym = self._by_key.get(key)
        return sym.late_ticks if sym is not None else 0

    def keys(self) -> list[str]:
        """Every `venue:symbol` that has sent a tick."""
        return list(self._by_key)

    def current(self, key: str, timeframe: str) -> Bar | None:
        """The forming (not yet closed) bar of `key` on `timeframe`, or None between bars."""
        sym = self._by_key.get(key)
        if sym is None:
            return None
        for slot in sym.forming:
            if slot.timeframe == timeframe:
                return slot.to_bar(sym.venue, sym.symbol) if slot.end_ms != _NO_BAR else None
        return None

    def on_tick(self, tick: Tick) -> list[Bar]:
        """Add one tick. Returns the bars this tick closed (oldest first; usually none)."""
        symbols = self._by_venue.get(tick.venue)
        sym = symbols.get(tick.symbol) if symbols is not None else None
        if sym is None:
            sym = self._add_symbol(tick.venue, tick.symbol)
        ts = tick.ts_ms
        if ts < sym.accept_from:
            sym.late_ticks += 1
            self._late_ticks += 1
            return []
        price = tick.price
        closed: list[Bar] = []
        for slot in sym.forming:
            if ts < slot.end_ms:
                if price > slot.high:
                    slot.high = price
                elif price < slot.low:
                    slot.low = price
                slot.close = price
                slot.volume += tick.size
                slot.ticks += 1
                continue
            open_ms = ts - ts % slot.size
            self._roll(sym, slot, open_ms, closed)
            slot.start(open_ms, price, tick.size)
            sym.accept_from = max(sym.accept_from, slot.open_ms)
        if len(closed) > 1:
            closed.sort(key=_bar_order)
        return closed

    def flush(self, now_ms: int) -> list[Bar]:
        """Close every bar whose bucket ended at or before `now_ms` (oldest first)."""
        closed: list[Bar] = []
        for sym in self._by_key.values():
            for slot in sym.forming:
                if slot.end_ms == _NO_BAR:
                    if self._fill_gaps:
                        self._fill(sym, slot, now_ms, closed)
                    continue
                if slot.end_ms <= now_ms:
                    self._roll(sym, slot, now_ms, closed)
                    slot.end_ms = _NO_BAR
                    sym.accept_from = max(sym.accept_from, slot.closed_until)
        if len(closed) > 1:
            closed.sort(key=_bar_order)
        return closed

    # ---- internals -----------------------------------------------------------------------
    def _add_symbol(self, venue: str, symbol: str) -> _SymbolBars:
        sym = _SymbolBars(venue, symbol, self._timeframes)
        self._by_venue.setdefault(venue, {})[symbol] = sym
        self._by_key[sym.key] = sym
        return sym

    def _roll(self, sym: _SymbolBars, slot: _FormingBar, until_ms: int, out: list[Bar]) -> None:
        """Close the forming bar of `slot` (if any), then, when gap filling is on, fill the empty
        buckets that end at or before `until_ms`."""
        if slot.end_ms != _NO_BAR:
            out.append(slot.to_bar(sym.venue, sym.symbol))
            slot.closed_until = slot.end_ms
        if self._fill_gaps:
            self._fill(sym, slot, until_ms, out)

    def _fill(self, sym: _SymbolBars, slot: _FormingBar, until_ms: int, out: list[Bar]) -> None:
        """Flat bars at the last close for every empty bucket that ends at or before `until_ms`."""
        if slot.closed_until == _NO_BAR:
            return
        start = slot.closed_until
        price = slot.close
        while start + slot.size <= until_ms:
            out.append(
                Bar(sym.venue, sym.symbol, slot.timeframe, start, price, price, price, price)
            )
            start += slot.size
        slot.closed_until = start
        sym.accept_from = max(sym.accept_from, start)
