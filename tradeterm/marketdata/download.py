"""`tradeterm data download`: candles, funding and mark prices of a crypto venue into the
candle store, resumable and deduplicated.

Written where backtests read them (venue = the configured venue name, symbol = the venue's
market id, e.g. `binance_futures` / `BTCUSDT`):

- trade-price candles: the candle store, `{state}/candles/{venue}/{SYMBOL}/{timeframe}`;
- mark-price candles (perpetuals): the mark store, `{state}/marks/{venue}/{SYMBOL}/{timeframe}`;
- funding settlements (perpetuals): the funding store, `{state}/funding/{venue}/{SYMBOL}.csv`
  (`ts,rate`, the venue's settlement times).

Each series resumes after the last stored row (a re-run fetches only what is new); writes merge
by time, so a repeated or interrupted download never duplicates a bar. Pages are written as they
arrive, so an interruption keeps what was fetched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.marketdata.funding import FundingRates, FundingStore
from tradeterm.marketdata.store import CandleStore
from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient

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
    marks: CandleStore | None = None,
    funding_store: FundingStore | None = None,
    start_ms: int,
    end_ms: int,
    progress: Callable[[str], None] | None = None,
) -> DownloadReport:
    """Fetch [start_ms, end_ms) of one symbol into the store; returns what was added."""
    await client.connect()
    market = client.session.market(symbol)
    sid = market["id"]
    tf_ms = timeframe_ms(timeframe)
    report = DownloadReport(venue, sid, timeframe, start_ms, end_ms)
    now_bar = end_ms // tf_ms * tf_ms  # bars opening before it are closed

    async def candles(
        target: CandleStore, name: str, fetch: Callable[..., Awaitable[list[Bar]]]
    ) -> int:
        last = _last_stored(target, venue, sid, timeframe)
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
                added += target.write(venue, sid, timeframe, _series(bars))
            if progress is not None:
                progress(f"{name} {timeframe}: {added} new bars")
            since = upto + tf_ms
        return added

    report.added["candles"] = await candles(store, "candles", client.klines)
    if marks is not None and market.get("swap"):
        report.added["mark"] = await candles(marks, "mark", client.mark_klines)
    if funding_store is not None and market.get("swap"):
        stored = funding_store.read(venue, sid)
        since = start_ms
        if stored is not None and len(stored) and int(stored.ts[-1]) >= start_ms:
            since = int(stored.ts[-1]) + 1
            report.resumed_from["funding"] = since
        rows = await client.funding_history(sid, start_ms=since, end_ms=end_ms)
        added = 0
        if rows:
            rates = FundingRates(
                np.asarray([t for t, _ in rows], dtype=np.int64),
                np.asarray([r for _, r in rows], dtype=np.float64),
            )
            added = funding_store.write(venue, sid, rates)
        report.added["funding"] = added
    return report
