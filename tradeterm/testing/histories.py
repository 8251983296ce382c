"""Deterministic bar histories of the sim venue's synthetic indices, for backtests and tests.

The ticks come from the index's own generator (the one the sim venue streams), seeded from
(seed, symbol); they are grouped into UTC-aligned bars exactly as the sim venue builds its
history (`tape.bucket_ticks`). The same arguments always give the same bars.
"""

from __future__ import annotations

import numpy as np

from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import UserError
from tradeterm.venues.sim.catalog import KNOWN_SYMBOLS, index_spec
from tradeterm.venues.sim.tape import bucket_ticks

DEFAULT_END_MS = 1_767_225_600_000
"""2026-01-01 00:00 UTC: where generated histories end unless told otherwise."""


def synthetic_history(
    symbol: str,
    timeframe: str,
    bars: int,
    *,
    seed: int = 7,
    end_ms: int = DEFAULT_END_MS,
    start_price: float | None = None,
) -> BarSeries:
    """The last `bars` complete bars of `symbol` before `end_ms` (aligned down to the bar).

    UserError for an unknown index or timeframe."""
    spec = index_spec(symbol)
    if spec is None:
        raise UserError(f"unknown synthetic index '{symbol}' (known: {', '.join(KNOWN_SYMBOLS)})")
    try:
        bar_ms = timeframe_ms(timeframe)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    end = end_ms - end_ms % bar_ms
    start = end - bars * bar_ms
    generator = spec.generator(seed=seed, start_ms=start, start_price=start_price)
    ts_parts, price_parts = [], []
    while generator.next_ts < end:
        chunk = generator.next_chunk()
        ts_parts.append(chunk.ts)
        price_parts.append(chunk.quote)
    ts = np.concatenate(ts_parts)
    price = np.concatenate(price_parts)
    keep = ts < end
    cols = bucket_ticks(ts[keep], price[keep], 1.0, bar_ms)
    return BarSeries.from_columns(
        cols.open_ms, cols.open, cols.high, cols.low, cols.close, cols.volume
    )
