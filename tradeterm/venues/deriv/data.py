"""Deriv market data as a DataClient: synthetic indices, their ticks, and candle history.

The stream manager (marketdata/streams.py) drives it: connect, subscribe, read `ticks()` until it
ends, reconnect with backoff. What this client adds on a reconnect: when a symbol is subscribed
again, the ticks missed while the socket was down are fetched through `ticks_history` (from the
last epoch seen) and delivered before the live ones, and every tick is deduplicated by epoch, so
neither a drop nor a duplicated or reordered frame loses or doubles a candle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from tradeterm.aio import reap
from tradeterm.clock import Clock
from tradeterm.domain.enums import ContractKind, Domain, OrderType
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import VenueCapabilities, VenueHealth
from tradeterm.venues.deriv.connection import DerivConnection, Stream
from tradeterm.venues.deriv.protocol import (
    GRANULARITY_OF,
    SYNTHETIC_MARKETS,
    BadFrame,
    MultiplierOffer,
    SymbolInfo,
    parse_active_symbols,
    parse_candles,
    parse_contracts_for,
    parse_history,
    parse_tick,
)

log = logging.getLogger(__name__)

BACKFILL_MAX_TICKS = 5000
"""ticks_history returns at most 5000 ticks a call."""


def deriv_capabilities() -> VenueCapabilities:
    """Multipliers: market entries, TP/SL held by the contract, no partial fills, no funding."""
    return VenueCapabilities(
        order_types=frozenset({OrderType.MARKET}),
        contract_kinds=frozenset({ContractKind.MULTIPLIER}),
        reduce_only=True,
        native_stops=True,
        partial_fills=False,
        funding=False,
        history_timeframes=tuple(GRANULARITY_OF),
        max_history_bars=5000,
        client_order_id_max_len=64,
    )


@dataclass(frozen=True, slots=True)
class SyntheticOffer:
    """One row of `tradeterm discover`: a synthetic index and its multiplier terms."""

    info: SymbolInfo
    offer: MultiplierOffer


class DerivDataClient:
    """Market data from Deriv (implements DataClient). One `ticks()` consumer at a time."""

    def __init__(
        self,
        name: str,
        connection: DerivConnection,
        clock: Clock,
        health: VenueHealth,
        *,
        stale_after_s: float = 15.0,
    ) -> None:
        self.name = name
        self.capabilities = deriv_capabilities()
        self.conn = connection
        self._clock = clock
        self.health = health
        self._symbols: dict[str, SymbolInfo] = {}
        self._last_epoch: dict[str, int] = {}
        self._streams: dict[str, Stream] = {}
        self._out: asyncio.Queue[Tick | None] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []
        self.backfilled_ticks = 0
        self.duplicates = 0
        self.stale_after_s = stale_after_s
        """No tick for this long (wall seconds) while subscribed: the feed is stale; `ticks()`
        ends so the stream manager reconnects, resubscribes and the backfill fills the gap."""
        self.stale_restarts = 0

    async def connect(self) -> None:
        await self.conn.open()
        self._out = asyncio.Queue()
        self._streams.clear()

    async def close(self) -> None:
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            await reap(task)
        self._pumps.clear()
        self._streams.clear()
        await self.conn.close()
        self._out.put_nowait(None)

    async def symbols(self) -> list[SymbolInfo]:
        """Every active symbol (all markets)."""
        reply = await self.conn.request({"active_symbols": "brief"})
        try:
            rows = parse_active_symbols(reply)
        except BadFrame as exc:
            raise TemporaryVenueError(f"{self.name}: bad active_symbols: {exc}") from None
        self._symbols = {r.symbol: r for r in rows}
        return rows

    async def discover(self) -> list[SyntheticOffer]:
        """Synthetic indices that offer multipliers, with their terms (contracts_for each)."""
        out = []
        for info in await self.symbols():
            if info.market not in SYNTHETIC_MARKETS:
                continue
            reply = await self.conn.request({"contracts_for": info.symbol, "currency": "USD"})
            try:
                offer = parse_contracts_for(reply, info.symbol)
            except BadFrame as exc:
                log.warning("%s: contracts_for %s skipped: %s", self.name, info.symbol, exc)
                continue
            if offer is not None:
                out.append(SyntheticOffer(info, offer))
        return out

    async def instruments(self) -> list[Instrument]:
        """The synthetic indices that offer multipliers, as MULTIPLIER instruments at their
        smallest multiplier (what DerivExecClient buys): the stake is exposure / multiplier,
        and the venue's minimum stake is the smallest notional the risk gate lets through."""
        return [self._instrument(row.info, row.offer) for row in await self.discover()]

    def _instrument(self, info: SymbolInfo, offer: MultiplierOffer) -> Instrument:
        multiplier = float(offer.multipliers[0])
        return Instrument(
            venue=self.name,
            symbol=info.symbol,
            kind=ContractKind.MULTIPLIER,
            domain=Domain.SYNTHETICS,
            tick_size=info.pip,
            lot_step=0.001,
            min_qty=0.001,
            min_notional=offer.min_stake * multiplier,
            base=info.symbol,
            quote="USD",
            max_leverage=multiplier,
            display_name=info.name,
            half_spread=info.pip,
            multiplier=multiplier,
        )

    async def subscribe(self, symbols: Sequence[str]) -> None:
        for symbol in symbols:
            if symbol in self._streams:
                continue
            stream = await self.conn.subscribe({"ticks": symbol})
            self._streams[symbol] = stream
            await self._backfill(symbol)
            self._accept(stream.first)
            task = asyncio.get_running_loop().create_task(
                self._pump(stream), name=f"{self.name}:ticks:{symbol}"
            )
            self._pumps.append(task)

    async def _backfill(self, symbol: str) -> None:
        """Deliver the ticks missed since the last one seen (after a reconnect)."""
        last = self._last_epoch.get(symbol)
        if last is None:
            return
        reply = await self.conn.request(
            {
                "ticks_history": symbol,
                "start": last + 1,
                "end": "latest",
                "count": BACKFILL_MAX_TICKS,
                "style": "ticks",
            }
        )
        try:
            rows = parse_history(reply)
        except BadFrame as exc:
            log.warning("%s: backfill of %s skipped: %s", self.name, symbol, exc)
            return
        for epoch, price in rows:
            if epoch > self._last_epoch.get(symbol, -1):
                self._last_epoch[symbol] = epoch
                self.backfilled_ticks += 1
                self._out.put_nowait(Tick(self.name, symbol, epoch * 1000, price, price, price))

    def _accept(self, msg: dict[str, object]) -> None:
        try:
            tick = parse_tick(msg)
        except BadFrame as exc:
            self.health.bad_frames += 1
            log.debug("%s: bad tick skipped: %s", self.name, exc)
            return
        last = self._last_epoch.get(tick.symbol, -1)
        if tick.epoch <= last:
            self.duplicates += 1
            return
        self._last_epoch[tick.symbol] = tick.epoch
        self._out.put_nowait(
            Tick(self.name, tick.symbol, tick.epoch * 1000, tick.quote, tick.bid, tick.ask)
        )

    async def _pump(self, stream: Stream) -> None:
        async for msg in stream:
            self._accept(msg)
        self._out.put_nowait(None)

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        for symbol in symbols:
            stream = self._streams.pop(symbol, None)
            if stream is not None:
                await self.conn.forget(stream)

    def ticks(self) -> AsyncIterator[Tick]:
        return self._ticks()

    async def _ticks(self) -> AsyncIterator[Tick]:
        while True:
            try:
                tick = await asyncio.wait_for(self._out.get(), self.stale_after_s)
            except TimeoutError:
                if not self._streams:
                    continue  # nothing subscribed: silence is expected
                self.stale_restarts += 1
                self.health.detail = f"stale: no tick for {self.stale_after_s:g}s"
                log.warning("%s: no tick for %.0fs, reconnecting", self.name, self.stale_after_s)
                return
            if tick is None:
                return
            yield tick

    async def history(
        self, symbol: str, timeframe: str, *, end_ms: int | None = None, limit: int = 500
    ) -> list[Bar]:
        gran = GRANULARITY_OF.get(timeframe)
        if gran is None:
            raise PermanentVenueError(
                f"{self.name}: no candles for timeframe '{timeframe}'", venue=self.name
            )
        now_ms = self._clock.now_ms()
        end = (end_ms if end_ms is not None else now_ms) // 1000
        reply = await self.conn.request(
            {
                "ticks_history": symbol,
                "end": str(end),
                "start": max(0, end - gran * (limit + 1)),
                "count": min(limit + 1, 5000),
                "style": "candles",
                "granularity": gran,
            }
        )
        try:
            candles = parse_candles(reply)
        except BadFrame as exc:
            raise TemporaryVenueError(f"{self.name}: bad candles: {exc}") from None
        tf_ms = timeframe_ms(timeframe)
        bars = [
            Bar(self.name, symbol, timeframe, c.open_time * 1000, c.open, c.high, c.low, c.close)
            for c in candles
            if c.open_time * 1000 + tf_ms <= end * 1000
        ]
        return bars[-limit:]
