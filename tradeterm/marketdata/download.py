"""`tradeterm data download`: candles, funding and mark prices of a crypto venue into the
candle store, resumable and deduplicated.

Series written (venue = the configured venue name, symbol = the venue's market id):

- `{venue}/{SYMBOL}/{timeframe}`: trade-price candles;
- `{venue}/{SYMBOL}.mark/{timeframe}`: mark-price candles (perpetuals);
- `{venue}/{SYMBOL}.funding/8h`: funding settlements, one "bar" per settlement whose open, high,
  low and close are the rate (a fraction per 8 h) and whose time is the settlement time floored
  to the 8 h grid.

Each series resumes after the last stored bar (a re-run fetches only what is new); writes merge
by bar time, so a repeated or interrupted download never duplicates a bar. Pages are written as
they arrive, so an interruption keeps what was fetched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.marketdata.store import CandleStore
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient

FUNDING_TIMEFRAME = "8h"
PAGE_BARS = 1000


@dataclass
class DownloadReport:
    venue: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    added: dict[str, int] = field(default_factory=dict)
    """New bar times per series name."""
    resumed_from: dict[str, int] = field(default_factory=dict)


def _series(bars: list[Bar]) -> BarSeries:
    return BarSeries.from_columns(
        [b.open_ms for b in bars],
        [b.open for b in bars],
        [b.high for b in bars],
        [b.low for b in bars],
        [b.close for b in bars],
        [b.volume for b in bars],
    )


def _last_stored(store: CandleStore, venue: str, symbol: str, timeframe: str) -> int | None:
    files = store.day_files(venue, symbol, timeframe)
    if not files:
        return None
    stored = store.read(venue, symbol, timeframe, start_ms=files[-1][0])
    return int(stored.open_ms[-1]) if len(stored) else None


async def download(
    client: CcxtDataClient,
    store: CandleStore,
    venue: str,
    symbol: str,
    timeframe: str,
    *,
    start_ms: int,
    end_ms: int,
    funding: bool = True,
    mark: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DownloadReport:
    """Fetch [start_ms, end_ms) of one symbol into the store; returns what was added."""
    await client.connect()
    market = client.session.market(symbol)
    sid = market["id"]
    tf_ms = timeframe_ms(timeframe)
    report = DownloadReport(venue, sid, timeframe, start_ms, end_ms)
    now_bar = end_ms // tf_ms * tf_ms  # bars opening before it are closed

    async def candles(name: str, fetch: Callable[..., Awaitable[list[Bar]]]) -> None:
        last = _last_stored(store, venue, name, timeframe)
        since = start_ms // tf_ms * tf_ms
        if last is not None and last >= since:
            since = last + tf_ms
            report.resumed_from[name] = since
        added = 0
        while since < now_bar:
            upto = min(now_bar - tf_ms, since + (PAGE_BARS - 1) * tf_ms)
            bars = await fetch(sid, timeframe, start_ms=since, end_ms=upto)
            bars = [b for b in bars if since <= b.open_ms <= upto]
            if bars:
                added += store.write(venue, name, timeframe, _series(bars))
            if progress is not None:
                progress(f"{name} {timeframe}: {added} new bars")
            since = upto + tf_ms
        report.added[name] = added

    await candles(sid, client.klines)
    if mark and market.get("swap"):
        await candles(f"{sid}.mark", client.mark_klines)
    if funding and market.get("swap"):
        name = f"{sid}.funding"
        step = timeframe_ms(FUNDING_TIMEFRAME)
        last = _last_stored(store, venue, name, FUNDING_TIMEFRAME)
        since = start_ms if last is None or last < start_ms else last + step
        if last is not None and last >= start_ms:
            report.resumed_from[name] = since
        rows = await client.funding_history(sid, start_ms=since, end_ms=end_ms)
        times = [t // step * step for t, _ in rows]
        rates = [r for _, r in rows]
        added = 0
        if rows:
            series = BarSeries.from_columns(times, rates, rates, rates, rates, np.zeros(len(rows)))
            added = store.write(venue, name, FUNDING_TIMEFRAME, series)
        report.added[name] = added
    return report
