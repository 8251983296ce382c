"""Price feeds of the sim venue: a synthetic index or a replayed file, each on its own tape.

Feed times are venue-clock times. Synthetic history (before the venue started) runs at real
speed; from the start on, a speed above 1 makes the generator run that many times faster than
the clock. Replays map file time onto the clock by their own speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeterm.config.models import ReplaySourceConfig
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import DataError
from tradeterm.venues.sim.catalog import IndexSpec
from tradeterm.venues.sim.generators import DEFAULT_CHUNK, IndexGenerator, decimals_of
from tradeterm.venues.sim.replay import (
    ReplayChunks,
    load_candles,
    replay_instrument,
    replay_start_index,
)
from tradeterm.venues.sim.tape import TickChunk, TickTape

MIN_RETAIN_MS = 4 * 3_600_000
"""Played ticks are kept at least this long (for history and backfill requests)."""


@dataclass(frozen=True, slots=True)
class Feed:
    """One instrument's price source on the sim venue, and the tape it plays from."""

    instrument: Instrument
    tape: TickTape


class SyntheticChunks:
    """Chunks of a synthetic index on the venue clock. Every tick counts as size 1 (tick volume,
    as MT5 shows for synthetics)."""

    def __init__(self, generator: IndexGenerator, *, anchor_ms: int, speed: float) -> None:
        self._generator = generator
        self._anchor_ms = anchor_ms
        self._speed = speed

    def __call__(self) -> TickChunk:
        chunk = self._generator.next_chunk()
        ts = chunk.ts
        if self._speed != 1.0:
            warped = self._anchor_ms + np.floor((ts - self._anchor_ms) / self._speed).astype(
                np.int64
            )
            ts = np.where(ts < self._anchor_ms, ts, warped)
        return TickChunk(ts, chunk.quote, np.ones(ts.shape[0], dtype=np.float64))


def _retain(history_ms: int) -> int:
    return max(history_ms, MIN_RETAIN_MS)


def synthetic_feed(
    venue: str,
    spec: IndexSpec,
    *,
    seed: int,
    anchor_ms: int,
    history_ms: int,
    speed: float,
    chunk_size: int = DEFAULT_CHUNK,
) -> Feed:
    """A synthetic index started `history_ms` before `anchor_ms` (when the venue started)."""
    start_ms = anchor_ms - history_ms
    generator = spec.generator(seed=seed, start_ms=start_ms, chunk_size=chunk_size)
    source = SyntheticChunks(generator, anchor_ms=anchor_ms, speed=speed)
    tape = TickTape(
        source,
        coverage_ms=start_ms,
        retain_ms=_retain(history_ms),
        half_spread=spec.half_spread,
        decimals=decimals_of(spec.pip),
    )
    return Feed(spec.instrument(venue), tape)


def replay_feed(venue: str, source: ReplaySourceConfig, *, anchor_ms: int, history_ms: int) -> Feed:
    """A replayed candle file whose history covers up to `history_ms` before `anchor_ms`.
    DataError if the file is unreadable or malformed."""
    candles = load_candles(source.path)
    start = replay_start_index(
        candles, speed=source.speed, history_ms=history_ms, start_ms=source.start_ms
    )
    if start >= len(candles):
        raise DataError(f"{source.path}: no bar at or after start_ms {source.start_ms}")
    chunks = ReplayChunks(
        candles,
        bar_ms=timeframe_ms(source.timeframe),
        speed=source.speed,
        anchor_ms=anchor_ms,
        start_index=start,
        loop=source.loop,
        origin_ms=source.start_ms,
    )
    tape = TickTape(
        chunks,
        coverage_ms=chunks.coverage_ms,
        retain_ms=_retain(history_ms),
        half_spread=source.tick_size,
        decimals=decimals_of(source.tick_size),
    )
    return Feed(replay_instrument(venue, source), tape)
