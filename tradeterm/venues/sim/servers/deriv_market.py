"""The Deriv simulator's market: synthetic-index price paths on an (optionally accelerated) clock,
the symbol table Deriv publishes for them (active_symbols / contracts_for), and the simulator's
own record of every tick it produced, so tests can compare what a client saw with the truth.

Ticks come from the sim venue's generators (venues/sim/catalog.py), seeded per symbol. Epochs are
whole seconds, as on Deriv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradeterm.clock import LiveClock
from tradeterm.venues.sim.catalog import INDEX_SPECS, IndexFamily, IndexSpec
from tradeterm.venues.sim.generators import IndexGenerator

SUBMARKETS: dict[IndexFamily, tuple[str, str]] = {
    IndexFamily.VOLATILITY: ("random_index", "Continuous Indices"),
    IndexFamily.CRASH: ("crash_index", "Crash/Boom Indices"),
    IndexFamily.BOOM: ("crash_index", "Crash/Boom Indices"),
    IndexFamily.STEP: ("step_index", "Step Indices"),
    IndexFamily.JUMP: ("jump_index", "Jump Indices"),
}
"""Deriv submarket (code, display name) of each index family."""

MULTIPLIER_RANGES: dict[IndexFamily, list[int]] = {
    IndexFamily.VOLATILITY: [20, 40, 60, 100, 200],
    IndexFamily.CRASH: [100, 200, 300, 400],
    IndexFamily.BOOM: [100, 200, 300, 400],
    IndexFamily.STEP: [200, 400, 600, 800, 1000],
    IndexFamily.JUMP: [20, 40, 60, 100, 200],
}
"""Allowed multipliers by family (Deriv serves a table per symbol; these are sim values)."""

SPECIAL_RANGES: dict[str, list[int]] = {
    "R_100": [10, 20, 30, 50, 100],
    "R_50": [80, 200, 400, 600, 800],
    "R_75": [50, 100, 200, 300, 500],
}
"""The per-symbol ranges PROTOCOLS.md quotes."""

CANCELLATION_RANGE = ["5m", "10m", "15m", "30m", "60m"]
MIN_STAKE = 1.0
MAX_STAKE = 2000.0


def multiplier_range(spec: IndexSpec) -> list[int]:
    return SPECIAL_RANGES.get(spec.symbol, MULTIPLIER_RANGES[spec.family])


def has_cancellation(spec: IndexSpec) -> bool:
    """Deal cancellation is not offered on Crash/Boom."""
    return spec.family not in (IndexFamily.CRASH, IndexFamily.BOOM)


def pip_decimals(pip: float) -> int:
    text = f"{pip:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


class SimTime:
    """The simulator's clock: epoch ms that run `speed` times faster than wall time from `start_ms`."""

    def __init__(
        self, start_ms: int, speed: float = 1.0, wall: Callable[[], float] | None = None
    ) -> None:
        self.start_ms = start_ms
        self.speed = speed
        self._wall = wall if wall is not None else LiveClock().monotonic
        self._t0 = self._wall()
        self._paused_at: float | None = None

    def now_ms(self) -> int:
        wall = self._paused_at if self._paused_at is not None else self._wall()
        return self.start_ms + int((wall - self._t0) * 1000 * self.speed)

    def pause(self) -> None:
        """Stop the market's time (no ticks, no TP/SL triggers) until `resume`."""
        if self._paused_at is None:
            self._paused_at = self._wall()

    def resume(self) -> None:
        """Let time run again from where it stopped."""
        if self._paused_at is not None:
            self._t0 += self._wall() - self._paused_at
            self._paused_at = None

    def wall_seconds(self, sim_seconds: float) -> float:
        """Wall seconds that `sim_seconds` of sim time take."""
        return sim_seconds / self.speed


@dataclass(slots=True)
class TickRow:
    symbol: str
    epoch: int
    quote: float


class IndexTape:
    """One index's ticks: generated in chunks, released as the clock reaches them, all kept."""

    def __init__(self, spec: IndexSpec, generator: IndexGenerator) -> None:
        self.spec = spec
        self.decimals = pip_decimals(spec.pip)
        self._gen = generator
        self.epochs: list[int] = []
        self.quotes: list[float] = []
        self._pending: list[tuple[int, float]] = []

    def advance(self, now_ms: int) -> list[TickRow]:
        """Release every tick stamped at or before `now_ms`; returns the new ones."""
        out: list[TickRow] = []
        while True:
            if not self._pending:
                chunk = self._gen.next_chunk()
                self._pending = list(
                    zip((int(t) for t in chunk.ts), (float(q) for q in chunk.quote), strict=True)
                )
                self._pending.reverse()
            ts, quote = self._pending[-1]
            if ts > now_ms:
                return out
            self._pending.pop()
            epoch = ts // 1000
            quote = round(quote, self.decimals)
            self.epochs.append(epoch)
            self.quotes.append(quote)
            out.append(TickRow(self.spec.symbol, epoch, quote))

    @property
    def last(self) -> TickRow | None:
        if not self.epochs:
            return None
        return TickRow(self.spec.symbol, self.epochs[-1], self.quotes[-1])

    def ticks_between(self, start: int, end: int, count: int) -> list[tuple[int, float]]:
        """Ticks with start <= epoch <= end, the last `count` of them."""
        import bisect

        lo = bisect.bisect_left(self.epochs, start)
        hi = bisect.bisect_right(self.epochs, end)
        lo = max(lo, hi - count)
        return list(zip(self.epochs[lo:hi], self.quotes[lo:hi], strict=True))

    def candles(
        self, start: int, end: int, granularity: int, count: int
    ) -> list[tuple[int, float, float, float, float]]:
        """OHLC buckets (open_time, open, high, low, close) of the ticks in [start, end]."""
        rows = self.ticks_between(start, end, 10**9)
        return candles_of(rows, granularity)[-count:]


def candles_of(
    rows: list[tuple[int, float]], granularity: int
) -> list[tuple[int, float, float, float, float]]:
    """Bucket (epoch, quote) ticks into candles by `epoch - epoch % granularity`."""
    out: list[tuple[int, float, float, float, float]] = []
    for epoch, quote in rows:
        bucket = epoch - epoch % granularity
        if out and out[-1][0] == bucket:
            t, o, h, lo, _c = out[-1]
            out[-1] = (t, o, max(h, quote), min(lo, quote), quote)
        else:
            out.append((bucket, quote, quote, quote, quote))
    return out


class DerivSimMarket:
    """Every synthetic index of the catalog on one SimTime, from `history_s` seconds before its
    start (history for ticks_history) onwards."""

    def __init__(self, clock: SimTime, *, seed: int = 7, history_s: int = 6 * 3600) -> None:
        self.clock = clock
        start = clock.start_ms - history_s * 1000
        self.tapes: dict[str, IndexTape] = {
            spec.symbol: IndexTape(spec, spec.generator(seed=seed, start_ms=start, chunk_size=512))
            for spec in INDEX_SPECS
        }

    def spec(self, symbol: str) -> IndexSpec | None:
        tape = self.tapes.get(symbol)
        return tape.spec if tape is not None else None

    def advance(self, symbols: set[str] | None = None) -> list[TickRow]:
        """Release due ticks (of `symbols`, or every index) in time order."""
        now = self.clock.now_ms()
        rows: list[TickRow] = []
        for symbol, tape in self.tapes.items():
            if symbols is None or symbol in symbols:
                rows.extend(tape.advance(now))
        rows.sort(key=lambda r: (r.epoch, r.symbol))
        return rows

    def spot(self, symbol: str) -> TickRow | None:
        tape = self.tapes[symbol]
        tape.advance(self.clock.now_ms())
        return tape.last
