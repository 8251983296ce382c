"""Crypto venues through ccxt (async REST + pro websockets): one DataClient and one ExecClient
per venue, with what differs between exchanges held in a `CcxtProfile` (data, not branches).

Symbols are the venue's own market ids (`BTCUSDT`), mapped to ccxt's unified symbols
(`BTC/USDT:USDT`) inside; both spellings are accepted wherever a user types one.

- Every request goes through one `WeightThrottle` per venue (a weight budget per minute shared
  by every task of the venue), on top of ccxt's own rate limiter; a 429 empties the budget.
- Every order is validated against the market's filters and rounded before it is sent: sizes
  down to the lot step, limit prices to the tick, stops away from the market; below the
  minimum size or notional it is refused without a request.
- Orders carry tradeterm's client order id. A submit whose reply is lost (timeout, 5xx) or
  refused as a duplicate id is answered by looking the id up, never by sending it again.
- Stops and take-profits rest on the venue as reduce-only stop-market / take-profit-market
  (conditional) orders, so they hold when the node is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from tradeterm.aio import reap
from tradeterm.domain.enums import (
    ContractKind,
    Domain,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
)
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.orders import Fill, Order, OrderPurpose
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import (
    ExecEvent,
    OrderUpdate,
    VenueBalance,
    VenueCapabilities,
    VenueHealth,
    VenuePosition,
)
from tradeterm.venues.crypto.frames import FrameGuard, guard_exchange
from tradeterm.venues.sim.channel import Channel

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_BACKLOG = 100_000


@dataclass(frozen=True, slots=True)
class CcxtProfile:
    """What one exchange needs, as data: the ccxt class, how to point it at other urls, its
    products and its capabilities."""

    exchange_id: str
    """ccxt.pro class name (binanceusdm, bybit)."""
    kind: ContractKind
    domain: Domain
    settle: str
    capabilities: VenueCapabilities
    weight_per_minute: int
    point_urls: Callable[[Any, str, str], None]
    """(exchange, rest_url, ws_url) -> None: rewrites the exchange's urls for a simulator."""
    options: dict[str, Any] = field(default_factory=dict)
    order_weight: int = 1
    history_weight: int = 5
    market_type: str = "swap"
    id_params: Callable[[str, bool], dict[str, Any]] = field(default=lambda coid, cond: {})
    """Params that name one order by client id for fetch_order / cancel_order (conditional?)."""
    separate_trigger_orders: bool = True
    """Conditional orders are listed apart from the others (Binance's algo orders)."""
    open_orders_params: dict[str, Any] = field(default_factory=dict)
    trigger_direction: bool = False
    """Stop orders must say which way the price crosses (Bybit's triggerDirection)."""
    callback_range: tuple[float, float] = (0.1, 5.0)
    """Trailing stops: the callback rate the venue takes, percent (Binance 0.1..5)."""
    callback_step: float = 0.1
    """Trailing stops: the callback rate's step, percent."""


class WeightThrottle:
    """A per-venue budget of request weight per rolling minute, shared by every task of the
    venue. `acquire(w)` waits until `w` fits; `penalize(s)` (after a 429) blocks for `s`."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._now = now
        self._spent: deque[tuple[float, int]] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    def used(self) -> int:
        cutoff = self._now() - 60.0
        while self._spent and self._spent[0][0] <= cutoff:
            self._spent.popleft()
        return sum(w for _, w in self._spent)

    async def acquire(self, weight: int = 1) -> None:
        async with self._lock:
            while True:
                now = self._now()
                if now < self._blocked_until:
                    wait = self._blocked_until - now
                elif self.used() + weight <= self.per_minute:
                    self._spent.append((now, weight))
                    return
                else:
                    wait = max(0.05, self._spent[0][0] + 60.0 - now)
                self.waited_s += wait
                await asyncio.sleep(wait)

    def penalize(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._now() + seconds)

    def observe(self, venue_used: int) -> None:
        """The venue's own count of the weight used this minute (a response header): when it
        is ahead of ours (other processes on the same IP or key, ccxt's housekeeping calls),
        count the difference as spent now."""
        missing = venue_used - self.used()
        if missing > 0:
            self._spent.append((self._now(), missing))


def _ccxt_errors() -> Any:
    import ccxt

    return ccxt


async def guarded(
    name: str,
    throttle: WeightThrottle,
    weight: int,
    call: Callable[[], Awaitable[T]],
    headers: Callable[[], dict[str, Any]] | None = None,
) -> T:
    """One throttled request; ccxt's errors mapped to tradeterm's (temporary: retry later;
    permanent: do not)."""
    ccxt = _ccxt_errors()
    await throttle.acquire(weight)
    try:
        result = await call()
        _observe(throttle, headers)
        return result
    except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
        seen = headers() if headers is not None else {}
        retry_after = _header(seen, "retry-after")
        throttle.penalize(float(retry_after) if retry_after else 10.0)
        raise TemporaryVenueError(f"{name}: rate limited: {exc}", venue=name, code="rate") from exc
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        raise PermanentVenueError(f"{name}: {exc}", venue=name, code="auth") from exc
    except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
        raise TemporaryVenueError(f"{name}: {exc}", venue=name, code="network") from exc
    except ccxt.BadSymbol as exc:
        raise PermanentVenueError(f"{name}: {exc}", venue=name, code="unknown_symbol") from exc
    except (
        ccxt.InvalidOrder,
        ccxt.InsufficientFunds,
        ccxt.OrderNotFound,
        ccxt.DuplicateOrderId,
        ccxt.MarginModeAlreadySet,
        ccxt.BadRequest,
    ):
        raise  # the order paths read these (refusal reasons, lookups)
    except ccxt.BaseError as exc:
        # anything else the exchange said: worth another try later, never a raw ccxt error
        raise TemporaryVenueError(f"{name}: {exc}", venue=name, code="exchange") from exc


def _header(headers: dict[str, Any], name: str) -> str:
    for key, value in (headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return ""


def _observe(throttle: WeightThrottle, headers: Callable[[], dict[str, Any]] | None) -> None:
    if headers is None:
        return
    used = _header(headers(), "x-mbx-used-weight-1m")
    if used.isdigit():
        throttle.observe(int(used))


def _make_exchange(
    profile: CcxtProfile,
    api_key: str,
    secret: str,
    testnet: bool,
    rest_url: str,
    ws_url: str,
    extra: dict[str, Any],
) -> Any:
    import ccxt.pro as ccxtpro

    cls = getattr(ccxtpro, profile.exchange_id)
    options = {"warnOnFetchOpenOrdersWithoutSymbol": False, **profile.options, **extra}
    exchange = cls(
        {"apiKey": api_key, "secret": secret, "enableRateLimit": True, "options": options}
    )
    if testnet and not rest_url:
        exchange.set_sandbox_mode(True)
    if rest_url:
        profile.point_urls(exchange, rest_url.rstrip("/"), ws_url.rstrip("/"))
    return exchange


class CcxtSession:
    """The ccxt exchange object of one venue, shared by its data and exec clients, with its
    throttle, markets and health."""

    def __init__(
        self,
        name: str,
        profile: CcxtProfile,
        *,
        api_key: str = "",
        secret: str = "",
        testnet: bool = True,
        rest_url: str = "",
        ws_url: str = "",
        options: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.profile = profile
        self._options = dict(options or {})
        self.throttle = WeightThrottle(profile.weight_per_minute)
        self.health = VenueHealth(venue=name)
        self.frames = FrameGuard(name, self.health)
        """Bad websocket frames: counted in health.bad_frames, logged once per kind, skipped."""
        self._args = (api_key, secret, testnet, rest_url, ws_url)
        self.exchange: Any = None
        self.markets: dict[str, dict[str, Any]] = {}
        """ccxt market by venue id (BTCUSDT)."""
        self.active_symbols: set[str] = set()
        """Venue ids subscribed or traded here (where orders of an earlier run are looked for)."""
        self._lock = asyncio.Lock()

    async def open(self) -> Any:
        async with self._lock:
            if self.exchange is None:
                self.exchange = guard_exchange(
                    _make_exchange(self.profile, *self._args, self._options), self.frames
                )
            if not self.markets:
                ex = self.exchange
                await self.call(1, ex.load_markets)
                self.markets = {
                    m["id"]: m
                    for m in ex.markets.values()
                    if m.get("type") == self.profile.market_type and m.get("active", True)
                }
            self.health.connected = True
            return self.exchange

    async def close(self) -> None:
        async with self._lock:
            if self.exchange is not None:
                with contextlib.suppress(Exception):
                    await self.exchange.close()
            self.exchange = None
            self.health.connected = False

    def call(self, weight: int, fn: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """One request through the venue's weight budget (synced with the venue's count)."""
        return guarded(self.name, self.throttle, weight, fn, self._last_headers)

    def _last_headers(self) -> dict[str, Any]:
        ex = self.exchange
        return dict(getattr(ex, "last_response_headers", None) or {}) if ex is not None else {}

    def market(self, symbol: str) -> dict[str, Any]:
        """The ccxt market of a venue id or a unified symbol; PermanentVenueError if unknown."""
        found = self.markets.get(symbol)
        if found is None:
            found = next((m for m in self.markets.values() if m["symbol"] == symbol), None)
        if found is None:
            raise PermanentVenueError(
                f"{self.name}: unknown symbol '{symbol}'", venue=self.name, code="unknown_symbol"
            )
        return found

    def fee_rates(self, symbol: str) -> tuple[float, float] | None:
        """The (maker, taker) fee rates the venue reports for a market (its fee tier, from
        ccxt's markets, updated by `load_trading_fees`); None when unknown or not loaded."""
        market = self.markets.get(symbol)
        if market is None:
            market = next((m for m in self.markets.values() if m["symbol"] == symbol), None)
        if market is None or market.get("maker") is None or market.get("taker") is None:
            return None
        return float(market["maker"]), float(market["taker"])

    async def load_trading_fees(self, symbols: Sequence[str] = ()) -> int:
        """Ask the venue for this account's fee tier and keep it on the markets; returns how
        many markets got a rate. Derivatives: one `fetch_trading_fees`; spot (Bybit serves no
        bulk call there): `fetch_trading_fee` per market of `symbols`. Needs keys;
        PermanentVenueError when the venue refuses (the markets keep ccxt's defaults)."""
        ex = await self.open()
        ccxt = _ccxt_errors()
        fees: dict[str, Any] = {}
        try:
            if self.profile.market_type == "spot":
                for symbol in symbols:
                    unified = self.market(symbol)["symbol"]
                    fees[unified] = await self.call(
                        1,
                        lambda u=unified: ex.fetch_trading_fee(u),  # type: ignore[misc]
                    )
            elif ex.has.get("fetchTradingFees"):
                fees = await self.call(1, ex.fetch_trading_fees)
        except ccxt.BaseError as exc:
            raise PermanentVenueError(f"{self.name}: fee tier: {exc}", venue=self.name) from exc
        count = 0
        for market in self.markets.values():
            got = fees.get(market["symbol"])
            if got and got.get("maker") is not None and got.get("taker") is not None:
                market["maker"], market["taker"] = float(got["maker"]), float(got["taker"])
                count += 1
        return count

    def instrument(self, market: dict[str, Any]) -> Instrument:
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        tick = float(precision.get("price") or 0.0)
        step = float(precision.get("amount") or 0.0)
        lev = (limits.get("leverage") or {}).get("max") or 125.0
        return Instrument(
            venue=self.name,
            symbol=market["id"],
            kind=self.profile.kind if market.get("swap") else ContractKind.SPOT,
            domain=self.profile.domain if market.get("swap") else Domain.CRYPTO_SPOT,
            tick_size=tick,
            lot_step=step,
            min_qty=float((limits.get("amount") or {}).get("min") or step),
            min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
            contract_size=float(market.get("contractSize") or 1.0),
            base=market.get("base", ""),
            quote=market.get("quote", "USDT"),
            max_leverage=float(lev),
            display_name=market["symbol"],
            half_spread=tick / 2,
        )


def _bar(name: str, symbol: str, timeframe: str, row: Sequence[Any]) -> Bar:
    return Bar(
        venue=name,
        symbol=symbol,
        timeframe=timeframe,
        open_ms=int(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5] or 0.0),
    )


class CcxtDataClient:
    """Market data of a ccxt venue (implements DataClient): trade ticks from the websocket,
    closed bars from REST, a kline stream that resyncs from REST after a disconnect, mark
    price and funding."""

    def __init__(self, session: CcxtSession) -> None:
        self.session = session
        self.name = session.name
        self.capabilities = session.profile.capabilities
        self._subscribed: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ticks: Channel[Tick] = Channel(maxlen=TICK_BACKLOG)

    async def connect(self) -> None:
        self._ticks.reopen()
        await self.session.open()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            await reap(task)
        self._tasks.clear()
        self._subscribed.clear()
        self._ticks.close()
        await self.session.close()

    async def instruments(self) -> list[Instrument]:
        await self.session.open()
        return [self.session.instrument(m) for m in self.session.markets.values()]

    async def subscribe(self, symbols: Sequence[str]) -> None:
        await self.session.open()
        for symbol in symbols:
            market = self.session.market(symbol)
            sid = market["id"]
            if sid in self._subscribed:
                continue
            self._subscribed.add(sid)
            self.session.active_symbols.add(sid)
            self._tasks[sid] = asyncio.create_task(
                self._watch_trades(sid, market["symbol"]), name=f"{self.name}.trades.{sid}"
            )

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        for symbol in symbols:
            sid = self.session.market(symbol)["id"]
            self._subscribed.discard(sid)
            task = self._tasks.pop(sid, None)
            if task is not None:
                task.cancel()

    async def _watch_trades(self, sid: str, unified: str) -> None:
        ex = self.session.exchange
        health = self.session.health
        try:
            while True:
                trades = await ex.watch_trades(unified)
                for trade in trades:
                    tick = self._tick_of(sid, trade)
                    if tick is None:
                        continue  # counted and logged by the frame guard
                    health.last_message_ms = tick.ts_ms
                    self._ticks.put(tick)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # the stream dropped: end ticks() so the stream manager reconnects and backfills
            health.errors += 1
            health.detail = f"trade stream {sid}: {exc}"
            self._ticks.close()

    def _tick_of(self, sid: str, trade: Any) -> Tick | None:
        """A trade as a tick, or None (counted as a bad frame) when ccxt parsed a frame with a
        missing or unusable price, size or time."""
        try:
            price = float(trade["price"])
            ts = int(trade["timestamp"])
            amount = float(trade.get("amount") or 0.0)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.session.frames.bad("trade: bad values", f"{type(exc).__name__}: {exc}")
            return None
        if not (math.isfinite(price) and price > 0 and ts > 0 and math.isfinite(amount)):
            self.session.frames.bad("trade: bad values", f"price {price} ts {ts} qty {amount}")
            return None
        return Tick(self.name, sid, ts, price, price, price, max(0.0, amount))

    def ticks(self) -> AsyncIterator[Tick]:
        return self._ticks.stream()

    async def history(
        self, symbol: str, timeframe: str, *, end_ms: int | None = None, limit: int = 500
    ) -> list[Bar]:
        """Closed bars ending at or before `end_ms` (default now), oldest first."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        if timeframe not in self.capabilities.history_timeframes:
            raise PermanentVenueError(
                f"{self.name}: no {timeframe} history (offered:"
                f" {', '.join(self.capabilities.history_timeframes)})",
                venue=self.name,
                code="timeframe",
            )
        tf_ms = timeframe_ms(timeframe)
        end = end_ms if end_ms is not None else int(time.time() * 1000)
        limit = max(1, min(limit, self.capabilities.max_history_bars))
        since = (end // tf_ms - limit) * tf_ms
        rows = await self.session.call(
            self.session.profile.history_weight,
            lambda: ex.fetch_ohlcv(market["symbol"], timeframe, since, limit + 1),
        )
        bars = [_bar(self.name, market["id"], timeframe, r) for r in rows if r[0] + tf_ms <= end]
        return bars[-limit:]

    async def klines(
        self, symbol: str, timeframe: str, *, start_ms: int = 0, end_ms: int = 0
    ) -> list[Bar]:
        """Bars opened in [start_ms, end_ms] (all of them, paged; the last may still be open)."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        tf_ms = timeframe_ms(timeframe)
        page = self.capabilities.max_history_bars
        out: list[Bar] = []
        since = start_ms
        while since <= end_ms:
            rows = await self.session.call(
                self.session.profile.history_weight,
                lambda s=since: ex.fetch_ohlcv(market["symbol"], timeframe, s, page),  # type: ignore[misc]
            )
            rows = [r for r in rows if since <= r[0] <= end_ms]
            if not rows:
                break
            out.extend(_bar(self.name, market["id"], timeframe, r) for r in rows)
            since = int(rows[-1][0]) + tf_ms
            if len(rows) < page:
                break  # the venue has nothing newer (and the last bar is the open one)
        return out

    async def closed_bars(self, symbol: str, timeframe: str) -> AsyncIterator[Bar]:
        """Closed bars of the venue's kline stream, forever, each once and in order: after a
        disconnect the stream is reopened and the bars closed meanwhile are fetched over REST."""
        market = self.session.market(symbol)
        tf_ms = timeframe_ms(timeframe)
        last_open = -1
        pending: list[Any] | None = None
        health = self.session.health
        bad_since = health.bad_frames
        """Bad frames counted when the pending bar was first seen: if more came during its
        life, its last update may have been lost among them (ccxt's cache of rows is shared
        with the junk), so the closed bar is taken from REST."""
        while True:
            ex = await self.session.open()
            try:
                rows = await ex.watch_ohlcv(market["symbol"], timeframe)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.session.health.reconnects += 1
                self.session.health.detail = f"kline stream {market['id']}: {exc}"
                pending = None
                await asyncio.sleep(0.2)
                if last_open >= 0:
                    # everything since the last bar given out (the venue's clock decides which
                    # bars exist; the newest one is still open)
                    missed = await self.klines(
                        market["id"], timeframe, start_ms=last_open + tf_ms, end_ms=2**62
                    )
                    for bar in missed[:-1]:  # the last one is still open
                        last_open = bar.open_ms
                        yield bar
                continue
            for row in rows:
                if not _row_ok(row, tf_ms):
                    self.session.frames.bad("kline: bad values", repr(row)[:120])
                    continue
                if pending is not None and row[0] > pending[0] and pending[0] > last_open:
                    clean = health.bad_frames == bad_since
                    for bar in await self._closed(
                        market["id"], timeframe, pending, row, last_open, clean=clean
                    ):
                        last_open = bar.open_ms
                        yield bar
                if pending is None or row[0] >= pending[0]:
                    if pending is None or row[0] > pending[0]:
                        bad_since = health.bad_frames
                    pending = list(row)

    async def _closed(
        self,
        sid: str,
        timeframe: str,
        pending: list[Any],
        row: Any,
        last_open: int,
        *,
        clean: bool,
    ) -> list[Bar]:
        """The bars closed when the stream moved from the `pending` bar to `row`'s."""
        tf_ms = timeframe_ms(timeframe)
        contiguous = row[0] == pending[0] + tf_ms and (
            last_open < 0 or pending[0] == last_open + tf_ms
        )
        if contiguous and clean:
            return [_bar(self.name, sid, timeframe, pending)]
        if contiguous:  # bad frames during the bar: its last update may be lost, ask REST
            fetched = await self.klines(sid, timeframe, start_ms=pending[0], end_ms=pending[0])
            return fetched[:1] or [_bar(self.name, sid, timeframe, pending)]
        # the stream skipped (a reconnect it did not report): the last update seen of a bar
        # may not be its final state, so take them from REST
        first = pending[0] if last_open < 0 else last_open + tf_ms
        return await self.klines(sid, timeframe, start_ms=first, end_ms=row[0] - tf_ms)

    async def funding_rate(self, symbol: str) -> tuple[float, float, int]:
        """(current funding rate, mark price, next funding time ms)."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        info = await self.session.call(1, lambda: ex.fetch_funding_rate(market["symbol"]))
        return (
            float(info.get("fundingRate") or 0.0),
            float(info.get("markPrice") or 0.0),
            int(info.get("fundingTimestamp") or 0),
        )

    async def funding_history(
        self, symbol: str, *, start_ms: int, end_ms: int
    ) -> list[tuple[int, float]]:
        """(funding time ms, rate) settled in [start_ms, end_ms], oldest first."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        out: list[tuple[int, float]] = []
        since = start_ms
        while since <= end_ms:
            rows = await self.session.call(
                1,
                lambda s=since: ex.fetch_funding_rate_history(market["symbol"], s, 1000),  # type: ignore[misc]
            )
            rows = [r for r in rows if since <= int(r["timestamp"]) <= end_ms]
            if not rows:
                break
            out.extend((int(r["timestamp"]), float(r["fundingRate"])) for r in rows)
            since = int(rows[-1]["timestamp"]) + 1
        return out

    async def mark_klines(
        self, symbol: str, timeframe: str, *, start_ms: int, end_ms: int
    ) -> list[Bar]:
        """Mark-price bars (perpetuals) opened in [start_ms, end_ms]."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        tf_ms = timeframe_ms(timeframe)
        out: list[Bar] = []
        since = start_ms
        page = self.capabilities.max_history_bars
        while since <= end_ms:
            rows = await self.session.call(
                self.session.profile.history_weight,
                lambda s=since: ex.fetch_mark_ohlcv(market["symbol"], timeframe, s, page),  # type: ignore[misc]
            )
            rows = [r for r in rows if since <= r[0] <= end_ms]
            if not rows:
                break
            out.extend(_bar(self.name, market["id"], timeframe, r) for r in rows)
            since = int(rows[-1][0]) + tf_ms
            if len(rows) < page:
                break  # the venue has nothing newer (and the last bar is the open one)
        return out


_STATUS = {
    "open": OrderStatus.SUBMITTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


@dataclass(slots=True)
class _Known:
    order: Order
    venue_symbol: str
    conditional: bool
    filled: float = 0.0
    cost: float = 0.0
    fees: float = 0.0
    fills: int = 0
    stop: float | None = None
    """The trigger level as sent (rounded)."""


class CcxtExecClient:
    """Orders and the account of a ccxt venue (implements ExecClient and OrderQuery)."""

    def __init__(self, session: CcxtSession, account: str) -> None:
        self.session = session
        self.name = session.name
        self.account = account
        self.capabilities = session.profile.capabilities
        self._known: dict[str, _Known] = {}
        self._events: Channel[ExecEvent] = Channel()
        self._watch: asyncio.Task[None] | None = None
        self.submissions = 0
        """Order requests actually sent (tests: a retried id is not sent twice)."""

    async def connect(self) -> None:
        self._events.reopen()
        await self.session.open()
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_orders(), name=f"{self.name}.orders")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await reap(self._watch)
            self._watch = None
        self._events.close()

    # ---- validation and rounding -----------------------------------------------------------
    def prepare(
        self, order: Order
    ) -> tuple[dict[str, Any], str, float, float | None, float | None]:
        """(market, refusal, rounded qty, rounded price, rounded stop) for one order."""
        market = self.session.market(order.symbol)
        inst = self.session.instrument(market)
        qty = inst.floor_qty(order.qty)
        price = None if order.price is None else inst.round_price(order.price)
        stop = None
        if order.stop_price is not None:
            protects = order.side.opposite.sign  # a sell stop protects a long (+1)
            stop = inst.stop_price_away(order.stop_price, protects)
        if order.order_type is OrderType.STOP and stop is None:
            return market, "a stop order needs a stop price", qty, price, stop
        refusal = self._refuse_type(order, price, stop)
        if refusal:
            return market, refusal, qty, price, stop
        if order.order_type is OrderType.TRAILING_STOP and order.stop_price is not None:
            stop = inst.round_price(order.stop_price)  # an activation price: to the tick
        if order.order_type is OrderType.LIMIT and price is None:
            return market, "a limit order needs a price", qty, price, stop
        if qty <= 0 or qty < inst.min_qty - 1e-12:
            return (
                market,
                f"size {order.qty:g} is below the minimum {inst.min_qty:g}",
                qty,
                price,
                stop,
            )
        reference = price or stop or order.ref_price
        if not order.reduce_only and reference and qty * reference < inst.min_notional - 1e-9:
            return (
                market,
                f"notional {qty * reference:.2f} is below the minimum {inst.min_notional:g}",
                qty,
                price,
                stop,
            )
        return market, "", qty, price, stop

    def _refuse_type(self, order: Order, price: float | None, stop: float | None) -> str:
        """Why an order of a type beyond market / limit / stop cannot go ('' if it can): the
        venue must offer the type (its capabilities), a stop-limit needs both prices, a
        trailing stop a callback within the venue's bounds and on its step."""
        otype = order.order_type
        if otype not in self.capabilities.order_types:
            offered = ", ".join(sorted(t.value for t in self.capabilities.order_types))
            return f"{self.name} does not take {otype.value} orders (it takes: {offered})"
        if otype is OrderType.STOP_LIMIT and (price is None or stop is None):
            return "a stop-limit order needs a stop price and a limit price"
        if otype is OrderType.TRAILING_STOP:
            low, high = self.session.profile.callback_range
            step = self.session.profile.callback_step
            rate = order.trail_callback_pct
            if not (low - 1e-9 <= rate <= high + 1e-9):
                return (
                    f"trailing callback {rate:g}% is outside {self.name}'s bounds"
                    f" {low:g}..{high:g}%"
                )
            if abs(round(rate / step) * step - rate) > 1e-9:
                return f"trailing callback {rate:g}% is not a multiple of {step:g}%"
        return ""

    def _conditional_request(
        self, order: Order, price: float | None, stop: float | None, params: dict[str, Any]
    ) -> tuple[str, dict[str, Any], bool] | None:
        """A stop-limit or trailing stop in ccxt's unified params (None for other types).

        Stop-limit: a limit order with a trigger (Binance STOP, or TAKE_PROFIT for a
        take-profit's; Bybit a conditional Limit with its triggerDirection). Trailing: a
        market order with trailingPercent (Binance TRAILING_STOP_MARKET callbackRate) and the
        activation price as trailingTriggerPrice."""
        if order.order_type is OrderType.STOP_LIMIT:
            take_profit = order.purpose is OrderPurpose.TAKE_PROFIT
            params["takeProfitPrice" if take_profit else "stopPrice"] = stop
            if self.session.profile.trigger_direction:
                falls = (order.side is Side.SELL) != take_profit
                params["triggerPrice"] = stop
                params.pop("takeProfitPrice", None)
                params.pop("stopPrice", None)
                params["triggerDirection"] = "descending" if falls else "ascending"
            params["timeInForce"] = order.time_in_force.value.upper()
            return "limit", params, True
        if order.order_type is OrderType.TRAILING_STOP:
            params["trailingPercent"] = round(order.trail_callback_pct, 4)
            if stop is not None:
                params["trailingTriggerPrice"] = stop
            return "market", params, True
        return None

    def _request(
        self, order: Order, qty: float, price: float | None, stop: float | None
    ) -> tuple[str, dict[str, Any], bool]:
        """(ccxt order type, params, conditional?) of an order."""
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.reduce_only:
            params["reduceOnly"] = True
        conditional = self._conditional_request(order, price, stop, params)
        if conditional is not None:
            return conditional
        take_profit = order.purpose is OrderPurpose.TAKE_PROFIT and order.reduce_only
        if order.order_type is OrderType.STOP:
            params["stopPrice"] = stop
            if self.session.profile.trigger_direction:
                sell = order.side is Side.SELL
                params["triggerDirection"] = "descending" if sell else "ascending"
            return "market", params, True
        if take_profit and price is not None:
            # a take-profit rests as a reduce-only take-profit-market at the level
            params["takeProfitPrice"] = price
            return "market", params, True
        if order.order_type is OrderType.LIMIT:
            tif = order.time_in_force.value.upper()
            params["timeInForce"] = tif
            return "limit", params, False
        return "market", params, False

    # ---- orders ---------------------------------------------------------------------------
    async def submit(self, order: Order) -> OrderUpdate:
        """Validate, round, send once. A known id is looked up, never sent again; a lost reply
        is answered by looking the id up (TemporaryVenueError if the venue does not know it:
        the caller retries with the same id)."""
        now = int(time.time() * 1000)
        coid = order.client_order_id
        if coid in self._known:
            found = await self._lookup(coid)
            if found is not None:
                return found
        market, refusal, qty, price, stop = self.prepare(order)
        refusal = refusal or await self._widens(order, market["id"], stop)
        if refusal:
            return OrderUpdate(coid, OrderStatus.REJECTED, now, reason=refusal)
        otype, params, conditional = self._request(order, qty, price, stop)
        self._known[coid] = _Known(order, market["id"], conditional, stop=stop)
        self.session.active_symbols.add(market["id"])
        ex = await self.session.open()
        ccxt = _ccxt_errors()
        self.submissions += 1
        try:
            placed = await self.session.call(
                self.session.profile.order_weight,
                lambda: ex.create_order(
                    market["symbol"],
                    otype,
                    order.side.value,
                    qty,
                    price if otype == "limit" else None,
                    params,
                ),
            )
        except TemporaryVenueError:
            found = await self._lookup(coid)
            if found is not None:
                return found
            raise
        except ccxt.DuplicateOrderId:
            found = await self._lookup(coid)
            if found is not None:
                return found
            return OrderUpdate(coid, OrderStatus.REJECTED, now, reason="duplicate client order id")
        except (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadRequest) as exc:
            if "-4116" in str(exc) or "duplicated" in str(exc).lower():
                found = await self._lookup(coid)
                if found is not None:
                    return found
            self._known.pop(coid, None)
            return OrderUpdate(coid, OrderStatus.REJECTED, now, reason=_short(exc))
        self._on_order({**placed, "clientOrderId": placed.get("clientOrderId") or coid})
        return self._update(placed, now, ack=True)

    # ---- stops are tightened, never widened ---------------------------------------------------
    async def _widens(self, order: Order, venue_symbol: str, stop: float | None) -> str:
        """Why a protective stop may not go ('' if it may): one of this client's stop losses
        on the same market and side still rests at a tighter level (a replacement must not
        widen it). A tighter one this client believes working is checked with the venue
        first (its fill or expiry may not have been reported yet: then it does not count)."""
        if not _is_stop_loss(order) or stop is None:
            return ""
        for coid, known in self._known.items():
            held = known.order
            if (
                coid == order.client_order_id
                or known.venue_symbol != venue_symbol
                or held.side is not order.side
                or not _is_stop_loss(held)
                or held.status.is_terminal
                or known.stop is None
            ):
                continue
            if _wider(order.side, known.stop, stop):
                with contextlib.suppress(TemporaryVenueError, PermanentVenueError):
                    found = await self._fetch(coid, venue_symbol, known.conditional)
                    current = self._update(found, 0) if found is not None else None
                    if current is None or current.status.is_terminal:
                        status = current.status if current else OrderStatus.EXPIRED
                        known.order = _with_status(held, status)
                        continue
                return (
                    f"stop {stop:g} on {venue_symbol} would widen the resting stop {coid}"
                    f" at {known.stop:g}: a stop is only ever tightened"
                )
        return ""

    async def replace_stop(
        self, old_client_order_id: str, order: Order
    ) -> tuple[OrderUpdate, OrderUpdate | None]:
        """Replace a resting stop loss with `order` (same market and side, a tighter or equal
        level, any size): the new one is placed first, then the old one cancelled, so the
        position is never without its stop. A wider level is refused without a request; so
        is a replacement of an order that is not a resting stop of the same market and side.
        Works for stops of an earlier run too (found among the venue's open orders).
        Returns (the new order's acknowledgement or refusal, the old one's cancel answer or
        None when it was not cancelled)."""
        now = int(time.time() * 1000)
        market, refusal, _, _, stop = self.prepare(order)
        old_level, old_side, old_symbol = await self._resting_stop(old_client_order_id)
        if not _is_stop_loss(order) or stop is None:
            refusal = refusal or "a stop replacement must be a reduce-only stop loss"
        elif old_level is None:
            refusal = refusal or f"no resting stop {old_client_order_id} to replace"
        elif old_symbol != market["id"] or old_side is not order.side:
            refusal = refusal or (
                f"{order.client_order_id} ({order.side.value} {market['id']}) cannot replace"
                f" {old_client_order_id} ({old_side.value if old_side else '?'} {old_symbol})"
            )
        elif _wider(order.side, old_level, stop):
            refusal = refusal or (
                f"stop {stop:g} on {market['id']} would widen the resting stop"
                f" {old_client_order_id} at {old_level:g}: a stop is only ever tightened"
            )
        if refusal:
            refused = OrderUpdate(order.client_order_id, OrderStatus.REJECTED, now, reason=refusal)
            return refused, None
        placed = await self.submit(order)
        if placed.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.CANCELLED):
            return placed, None  # the old stop stays
        return placed, await self.cancel(old_client_order_id)

    async def _resting_stop(self, coid: str) -> tuple[float | None, Side | None, str]:
        """(level, side, venue symbol) of a resting stop loss of ours, from what this client
        placed or else the venue's open orders; (None, None, '') when none rests."""
        known = self._known.get(coid)
        if known is not None and not known.order.status.is_terminal and known.stop is not None:
            return known.stop, known.order.side, known.venue_symbol
        for order in await self.open_orders():
            if order.client_order_id == coid and order.stop_price is not None:
                return order.stop_price, order.side, order.symbol
        return None, None, ""

    @staticmethod
    def _as_ack(update: OrderUpdate) -> OrderUpdate:
        """An order found by lookup, reported as the acknowledgement of a submit."""
        if update.status.is_terminal and update.status is not OrderStatus.FILLED:
            return update
        return OrderUpdate(
            update.client_order_id, OrderStatus.SUBMITTED, update.ts_ms, update.venue_order_id
        )

    async def _lookup(self, coid: str) -> OrderUpdate | None:
        """After a lost or refused reply: the venue's record of the order (its fills go to
        events(), deduplicated), as an acknowledgement; None if the venue does not know it."""
        try:
            found = await self._find(coid)
        except (TemporaryVenueError, PermanentVenueError):
            return None
        if found is None:
            return None
        self._on_order(found)
        return self._as_ack(self._update(found, int(time.time() * 1000)))

    def _update(self, placed: dict[str, Any], now: int, *, ack: bool = False) -> OrderUpdate:
        coid = placed.get("clientOrderId") or ""
        status = _STATUS.get(placed.get("status") or "open", OrderStatus.SUBMITTED)
        filled = float(placed.get("filled") or 0.0)
        if ack and (not status.is_terminal or status is OrderStatus.FILLED):
            # an acknowledgement: the fills themselves arrive on events()
            return OrderUpdate(coid, OrderStatus.SUBMITTED, now, str(placed.get("id") or ""))
        if status is OrderStatus.SUBMITTED and filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        fee = placed.get("fee") or {}
        return OrderUpdate(
            coid,
            status,
            int(placed.get("lastUpdateTimestamp") or placed.get("timestamp") or now),
            str(placed.get("id") or ""),
            filled,
            float(placed.get("average") or 0.0),
            "",
            float(fee.get("cost") or 0.0),
        )

    async def _fetch(
        self, coid: str, venue_symbol: str, conditional: bool
    ) -> dict[str, Any] | None:
        """The venue's raw record of one order by client id (None: it does not know it)."""
        ex = await self.session.open()
        ccxt = _ccxt_errors()
        market = self.session.market(venue_symbol)
        params = self.session.profile.id_params(coid, conditional)
        try:
            found: dict[str, Any] = await self.session.call(
                1, partial(ex.fetch_order, None, market["symbol"], params)
            )
        except ccxt.OrderNotFound:
            return None
        except ccxt.BadRequest as exc:
            if "-2013" in str(exc) or "does not exist" in str(exc):
                return None
            raise
        return found if found.get("clientOrderId") else None

    async def _find(self, coid: str) -> dict[str, Any] | None:
        known = self._known.get(coid)
        if known is not None:
            return await self._fetch(coid, known.venue_symbol, known.conditional)
        # not placed by this process (a restart): its open orders, then the symbols in play
        for order in await self.open_orders():
            if order.client_order_id == coid:
                conditional = order.stop_price is not None or order.order_type in CONDITIONAL
                return await self._fetch(coid, order.symbol, conditional)
        for symbol in sorted(self.session.active_symbols):
            for conditional in (False, True):
                found = await self._fetch(coid, symbol, conditional)
                if found is not None:
                    return found
        return None

    async def order_status(self, client_order_id: str) -> OrderUpdate | None:
        """The venue's word on one order (regular or conditional); None if it never saw it.
        Orders of an earlier run are looked for among the open orders and the symbols in play
        (subscribed or held)."""
        found = await self._find(client_order_id)
        if found is None:
            return None
        return self._update(found, int(time.time() * 1000))

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        now = int(time.time() * 1000)
        ex = await self.session.open()
        ccxt = _ccxt_errors()
        known = self._known.get(client_order_id)
        candidates: list[tuple[str, bool]] = []
        if known is not None:
            candidates.append((known.venue_symbol, known.conditional))
        else:
            for order in await self.open_orders():
                if order.client_order_id == client_order_id:
                    conditional = order.order_type in CONDITIONAL or order.stop_price is not None
                    candidates.append((order.symbol, conditional))
        for venue_symbol, conditional in candidates:
            market = self.session.market(venue_symbol)
            params = self.session.profile.id_params(client_order_id, conditional)
            try:
                done = await self.session.call(
                    1, partial(ex.cancel_order, None, market["symbol"], params)
                )
            except (ccxt.OrderNotFound, ccxt.InvalidOrder, ccxt.BadRequest) as exc:
                current = await self._lookup(client_order_id)
                if current is not None:
                    return current
                return OrderUpdate(client_order_id, OrderStatus.REJECTED, now, reason=_short(exc))
            update = self._update({**done, "clientOrderId": client_order_id}, now)
            if update.status is OrderStatus.SUBMITTED:
                update = OrderUpdate(
                    client_order_id, OrderStatus.CANCELLED, now, update.venue_order_id
                )
            if known is not None and update.status.is_terminal:
                known.order = _with_status(known.order, update.status)
            return update
        return OrderUpdate(client_order_id, OrderStatus.REJECTED, now, reason="unknown order")

    def track(self, order: Order) -> None:
        """Follow an order placed elsewhere (a reconciliation orphan adopted as ours): its
        updates and fills on the user stream are ours from now on (OrderTracking)."""
        market = self.session.market(order.symbol)
        known = _Known(order, market["id"], order.stop_price is not None)
        known.filled = order.filled_qty
        known.cost = order.avg_fill_price * order.filled_qty
        self._known[order.client_order_id] = known

    async def open_orders(self) -> list[Order]:
        ex = await self.session.open()
        profile = self.session.profile
        regular = await self.session.call(
            40, partial(ex.fetch_open_orders, None, None, None, dict(profile.open_orders_params))
        )
        conditional = []
        if profile.separate_trigger_orders:
            conditional = await self.session.call(
                40, lambda: ex.fetch_open_orders(None, None, None, {"trigger": True})
            )
        out = []
        for o in [*regular, *conditional]:
            market = self.session.market(o["symbol"])
            stop = o.get("triggerPrice") or o.get("stopPrice")
            coid = o.get("clientOrderId") or str(o.get("id"))
            known = self._known.get(coid)
            out.append(
                Order(
                    client_order_id=coid,
                    wallet_id=known.order.wallet_id if known else "",
                    venue=self.name,
                    symbol=market["id"],
                    side=Side(o["side"]),
                    order_type=_order_type(o, stop),
                    qty=float(o.get("amount") or 0.0),
                    trail_callback_pct=_callback(o),
                    created_ms=int(o.get("timestamp") or 0),
                    price=float(o["price"]) if o.get("price") else None,
                    stop_price=float(stop) if stop else None,
                    reduce_only=bool(o.get("reduceOnly")),
                    status=OrderStatus.SUBMITTED,
                    filled_qty=float(o.get("filled") or 0.0),
                    venue_order_id=str(o.get("id") or ""),
                    purpose=known.order.purpose if known else OrderPurpose.ENTRY,
                )
            )
        return out

    async def positions(self) -> list[VenuePosition]:
        ex = await self.session.open()
        if self.session.profile.kind is ContractKind.SPOT:
            return await self._spot_holdings(ex)
        rows = await self.session.call(5, ex.fetch_positions)
        out = []
        for p in rows:
            contracts = float(p.get("contracts") or 0.0)
            if not contracts:
                continue
            market = self.session.market(p["symbol"])
            side = Side.BUY if p.get("side") == "long" else Side.SELL
            out.append(
                VenuePosition(market["id"], side, contracts, float(p.get("entryPrice") or 0.0))
            )
        return out

    async def _spot_holdings(self, ex: Any) -> list[VenuePosition]:
        """Spot "positions": each market's base coin held, from one step of its lot up (dust
        below a lot is not a position)."""
        bal = await self.session.call(5, ex.fetch_balance)
        total = bal.get("total") or {}
        out = []
        for market in self.session.markets.values():
            held = float(total.get(market.get("base", "")) or 0.0)
            step = float((market.get("precision") or {}).get("amount") or 0.0)
            if held > 0.0 and held >= step:
                out.append(VenuePosition(market["id"], Side.BUY, held, 0.0))
        return out

    async def position_details(self) -> list[dict[str, Any]]:
        """Per position: symbol, leverage, margin mode, liquidation price, mark (console)."""
        ex = await self.session.open()
        rows = await self.session.call(5, ex.fetch_positions)
        return [
            {
                "symbol": self.session.market(p["symbol"])["id"],
                "contracts": float(p.get("contracts") or 0.0),
                "side": p.get("side"),
                "leverage": p.get("leverage"),
                "margin_mode": p.get("marginMode"),
                "liquidation_price": p.get("liquidationPrice"),
                "mark_price": p.get("markPrice"),
                "unrealized_pnl": p.get("unrealizedPnl"),
            }
            for p in rows
            if float(p.get("contracts") or 0.0)
        ]

    async def funding_paid(self, symbol: str, since_ms: int = 0) -> float:
        """Net funding received (+) or paid (-) on a symbol since `since_ms`."""
        ex = await self.session.open()
        market = self.session.market(symbol)
        rows = await self.session.call(
            30, lambda: ex.fetch_funding_history(market["symbol"], since_ms or None)
        )
        return sum(float(r.get("amount") or 0.0) for r in rows)

    async def balance(self) -> VenueBalance:
        ex = await self.session.open()
        bal = await self.session.call(5, ex.fetch_balance)
        settle = self.session.profile.settle
        total = float((bal.get("total") or {}).get(settle) or 0.0)
        free = float((bal.get("free") or {}).get(settle) or 0.0)
        return VenueBalance(settle, total, free)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        ex = await self.session.open()
        market = self.session.market(symbol)
        await self.session.call(1, lambda: ex.set_leverage(leverage, market["symbol"]))

    async def set_margin_mode(self, symbol: str, mode: str) -> None:
        """'isolated' or 'cross'; already in that mode is not an error."""
        ex = await self.session.open()
        ccxt = _ccxt_errors()
        market = self.session.market(symbol)
        try:
            await self.session.call(1, lambda: ex.set_margin_mode(mode, market["symbol"]))
        except ccxt.MarginModeAlreadySet:
            return
        except ccxt.BadRequest as exc:
            if "-4046" in str(exc) or "No need to change" in str(exc):
                return
            raise PermanentVenueError(f"{self.name}: {_short(exc)}", venue=self.name) from exc

    # ---- events ---------------------------------------------------------------------------
    def events(self) -> AsyncIterator[ExecEvent]:
        """Order updates and fills. Starts the user-stream watch when nobody called `connect`
        (the node only reads `events()`: without this a live wallet never heard of its fills)."""
        if self._watch is None or self._watch.done():
            self._events.reopen()
            self._watch = asyncio.create_task(self._watch_orders(), name=f"{self.name}.orders")
        return self._events.stream()

    async def _watch_orders(self) -> None:
        """Order updates from the user stream; after a drop the known working orders are
        looked up over REST so no fill is missed."""
        while True:
            ex = await self.session.open()
            try:
                orders = await ex.watch_orders()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.session.health.reconnects += 1
                self.session.health.detail = f"user stream: {exc}"
                await asyncio.sleep(0.5)
                await self._resync()
                continue
            for placed in orders:
                try:
                    self._on_order(placed)
                except (TypeError, ValueError, KeyError, AttributeError) as exc:
                    self.session.frames.bad("order update: bad values", f"{exc}")

    async def _resync(self) -> None:
        for coid, known in list(self._known.items()):
            if known.order.status.is_terminal:
                continue
            with contextlib.suppress(TemporaryVenueError, PermanentVenueError):
                found = await self._fetch(coid, known.venue_symbol, known.conditional)
                if found is not None:
                    self._on_order(found)

    def _on_order(self, placed: dict[str, Any]) -> None:
        coid = placed.get("clientOrderId") or ""
        known = self._known.get(coid)
        if known is None:
            return  # not ours (placed elsewhere): reconciliation reports it
        now = int(time.time() * 1000)
        filled = float(placed.get("filled") or 0.0)
        average = float(placed.get("average") or 0.0)
        fee = float((placed.get("fee") or {}).get("cost") or 0.0)
        if filled > known.filled + 1e-12:
            qty = filled - known.filled
            cost = average * filled
            price = (cost - known.cost) / qty if qty else average
            known.fills += 1
            self._events.put(
                Fill(
                    fill_id=f"{coid}-{known.fills}",
                    client_order_id=coid,
                    wallet_id=known.order.wallet_id,
                    venue=self.name,
                    symbol=known.venue_symbol,
                    side=known.order.side,
                    qty=qty,
                    price=price,
                    fee=max(0.0, fee - known.fees),
                    ts_ms=int(placed.get("lastTradeTimestamp") or placed.get("timestamp") or now),
                    liquidity=Liquidity.TAKER,
                )
            )
            known.filled, known.cost, known.fees = filled, cost, max(fee, known.fees)
        update = self._update(placed, now)
        if update.status.is_terminal:
            known.order = _with_status(known.order, update.status)
            if update.status is not OrderStatus.FILLED:
                self._events.put(update)


def _is_stop_loss(order: Order) -> bool:
    return (
        order.purpose is OrderPurpose.STOP_LOSS
        and order.reduce_only
        and order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    )


def _wider(side: Side, old: float, new: float) -> bool:
    """Whether a stop of `side` at `new` is further from the position than at `old` (a sell
    stop protects a long: lower is wider; a buy stop protects a short: higher is wider)."""
    tol = 1e-9 * max(1.0, abs(old))
    return new < old - tol if side is Side.SELL else new > old + tol


CONDITIONAL = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
"""Order types that rest as conditional (trigger) orders at the venue."""


def _order_type(o: dict[str, Any], stop: Any) -> OrderType:
    """tradeterm's type of an order as ccxt reports it (Binance's types, Bybit's conditional
    limits)."""
    kind = str(o.get("type") or "limit").lower()
    if "trailing" in kind or _callback(o):
        return OrderType.TRAILING_STOP
    if stop and o.get("price") and kind in ("limit", "stop", "take_profit"):
        return OrderType.STOP_LIMIT
    if stop:
        return OrderType.STOP
    return OrderType(kind) if kind in ("market", "limit") else OrderType.LIMIT


def _callback(o: dict[str, Any]) -> float:
    """A trailing stop's callback percent (Binance's callbackRate / priceRate), else 0."""
    info = o.get("info") or {}
    raw = info.get("callbackRate") or info.get("priceRate") or 0.0
    try:
        return float(raw)
    except (TypeError, ValueError):
        return 0.0


def _row_ok(row: Any, tf_ms: int) -> bool:
    """A kline row ccxt handed over is usable: [open time, o, h, l, c, volume], all finite
    numbers, prices positive and consistent, the open time on the timeframe's grid."""
    try:
        ts, o, h, lo, c, v = (float(x) for x in row[:6])
    except (TypeError, ValueError):
        return False
    if not all(math.isfinite(x) for x in (ts, o, h, lo, c, v)):
        return False
    if min(o, h, lo, c) <= 0 or v < 0 or h < max(o, c, lo) or lo > min(o, c):
        return False
    return ts > 0 and int(ts) % tf_ms == 0


def _with_status(order: Order, status: OrderStatus) -> Order:
    from dataclasses import replace

    return replace(order, status=status)


def _decimals(step: float) -> int:
    if step <= 0:
        return 8
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _short(exc: BaseException) -> str:
    text = str(exc)
    start = text.find("{")
    return text[start:] if start >= 0 else text[:200]
