"""One Deriv WebSocket: requests matched to replies by req_id, subscription streams, keep-alive
pings, pacing under the rate limits, and errors mapped to venue errors.

    conn = DerivConnection(url, venue="deriv", token=token)
    await conn.open()                         # connects (and authorizes in the legacy dialect)
    reply = await conn.request({"ping": 1})   # TemporaryVenueError on timeout or disconnect
    stream = await conn.subscribe({"ticks": "R_100"})
    async for msg in stream: ...              # ends when the connection drops

A dropped connection fails every pending request with TemporaryVenueError and ends every stream;
the owner reconnects (the stream manager for market data, `ensure_open` for trading calls) with
backoff. Unreadable frames are counted in `health.bad_frames`, logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from tradeterm.aio import reap
from tradeterm.clock import Clock, LiveClock
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import VenueHealth
from tradeterm.venues.deriv.protocol import (
    BadFrame,
    decode,
    error_in,
    error_of,
    outgoing,
)

log = logging.getLogger(__name__)

_END: Any = object()

RETRYABLE_CALLS = frozenset(
    {
        "ping",
        "time",
        "website_status",
        "active_symbols",
        "contracts_for",
        "ticks_history",
        "ticks",
        "portfolio",
        "proposal_open_contract",
        "balance",
        "proposal",
        "forget",
        "forget_all",
    }
)
"""Calls that may be repeated after a RateLimit (never buy, sell or contract_update: Deriv says
to confirm through portfolio / proposal_open_contract instead of re-sending those)."""


class Stream:
    """The frames of one subscription, first reply included. Iteration ends with the connection
    (or `forget`)."""

    def __init__(self, first: dict[str, Any], sub_id: str) -> None:
        self.first = first
        self.sub_id = sub_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, msg: Any) -> None:
        self._queue.put_nowait(msg)

    def end(self) -> None:
        self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            msg = await self._queue.get()
            if msg is _END:
                return
            yield msg


class DerivConnection:
    """A Deriv API socket (see the module docstring). `max_rps` paces sends."""

    def __init__(
        self,
        url: str,
        *,
        venue: str = "deriv",
        token: str | None = None,
        dialect: str = "legacy",
        request_timeout_s: float = 10.0,
        ping_interval_s: float = 30.0,
        max_rps: float = 20.0,
        health: VenueHealth | None = None,
        rate_limit_retries: int = 3,
        rate_limit_backoff_s: float = 0.5,
        url_provider: Callable[[], Awaitable[str]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.url = url
        self.venue = venue
        self._clock: Clock = clock if clock is not None else LiveClock()
        self.dialect = dialect
        self.health = health if health is not None else VenueHealth(venue=venue)
        self._token = token
        self._timeout = request_timeout_s
        self._ping_s = ping_interval_s
        self._min_gap = 1.0 / max_rps if max_rps > 0 else 0.0
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._streams: dict[int, Stream] = {}
        self._next_req = 0
        self._last_send = 0.0
        self._send_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self.authorized: dict[str, Any] = {}
        self.opens = 0
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_backoff_s = rate_limit_backoff_s
        self.rate_limited = 0
        self._url_provider = url_provider
        """New API: fetches a fresh one-time URL before every connect (the OTP is single-use)."""

    @property
    def is_open(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    async def open(self) -> None:
        """Connect (idempotent); in the legacy dialect with a token, authorize too."""
        async with self._open_lock:
            if self.is_open:
                return
            url = await self._url_provider() if self._url_provider is not None else self.url
            try:
                self._ws = await asyncio.wait_for(
                    connect(url, max_size=2**23, ping_interval=None), self._timeout
                )
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                raise TemporaryVenueError(
                    f"{self.venue}: cannot connect to {self.url}: {exc}", venue=self.venue
                ) from None
            except InvalidURI as exc:
                raise PermanentVenueError(
                    f"{self.venue}: bad endpoint {self.url}: {exc}", venue=self.venue
                ) from None
            self.opens += 1
            if self.opens > 1:
                self.health.reconnects += 1
            self.health.connected = True
            self.health.detail = ""
            self._reader = asyncio.get_running_loop().create_task(
                self._read(self._ws), name=f"{self.venue}:reader"
            )
            self._pinger = asyncio.get_running_loop().create_task(
                self._keepalive(), name=f"{self.venue}:ping"
            )
        if self._token and self.dialect == "legacy":
            reply = await self.request({"authorize": self._token})
            self.authorized = reply.get("authorize") or {}

    async def ensure_open(self, attempts: int = 5, backoff_s: float = 0.5) -> None:
        """Open, retrying temporary failures with exponential backoff."""
        delay = backoff_s
        for attempt in range(attempts):
            try:
                await self.open()
                return
            except TemporaryVenueError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def close(self) -> None:
        for task in (self._pinger, self._reader):
            if task is not None:
                task.cancel()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in (self._pinger, self._reader):
            if task is not None:
                await reap(task)
        self._fail_all("connection closed")

    # ---- requests ------------------------------------------------------------------------
    async def _send(self, payload: dict[str, Any]) -> None:
        import json

        ws = self._ws
        if ws is None:
            raise TemporaryVenueError(f"{self.venue}: not connected", venue=self.venue)
        async with self._send_lock:
            wait = self._last_send + self._min_gap - self._clock.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send = self._clock.monotonic()
            try:
                await ws.send(json.dumps(outgoing(payload, self.dialect)))
            except ConnectionClosed as exc:
                raise TemporaryVenueError(
                    f"{self.venue}: connection closed: {exc}", venue=self.venue
                ) from None

    async def request(
        self, payload: dict[str, Any], *, timeout: float | None = None, stream: bool = False
    ) -> dict[str, Any]:
        """Send `payload` and wait for its reply. TemporaryVenueError on timeout or disconnect;
        the mapped venue error on an error reply. A RateLimit on a call that is safe to repeat
        is retried after an exponential backoff (`rate_limit_retries` times)."""
        call = next(iter(payload), "")
        delay = self.rate_limit_backoff_s
        attempt = 0
        while True:
            try:
                return await self._request_once(payload, timeout=timeout, stream=stream)
            except TemporaryVenueError as exc:
                if exc.code != "RateLimit" or call not in RETRYABLE_CALLS:
                    raise
                self.rate_limited += 1
                if attempt >= self.rate_limit_retries:
                    raise
                attempt += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _request_once(
        self, payload: dict[str, Any], *, timeout: float | None, stream: bool
    ) -> dict[str, Any]:
        self._next_req += 1
        req_id = self._next_req
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        if stream:
            self._streams[req_id] = Stream({}, "")
        call = next(iter(payload), "")
        try:
            await self._send({**payload, "req_id": req_id})
            reply = await asyncio.wait_for(future, timeout or self._timeout)
        except TimeoutError:
            self._streams.pop(req_id, None)
            raise TemporaryVenueError(
                f"{self.venue}: no reply to {call} within {timeout or self._timeout:g}s",
                venue=self.venue,
                code="Timeout",
            ) from None
        except BaseException:
            self._streams.pop(req_id, None)
            raise
        finally:
            self._pending.pop(req_id, None)
        error = error_in(reply)
        if error is not None:
            self._streams.pop(req_id, None)
            self.health.errors += 1
            raise error_of(error[0], error[1], venue=self.venue, call=call)
        return reply

    async def subscribe(self, payload: dict[str, Any]) -> Stream:
        """Start a subscription; the returned stream yields every later frame."""
        reply = await self.request({**payload, "subscribe": 1}, stream=True)
        req_id = reply["req_id"]
        stream = self._streams[req_id]
        stream.first = reply
        sub = reply.get("subscription")
        stream.sub_id = sub.get("id", "") if isinstance(sub, dict) else ""
        return stream

    async def forget(self, stream: Stream) -> None:
        for key, known in list(self._streams.items()):
            if known is stream:
                del self._streams[key]
        stream.end()
        if stream.sub_id and self.is_open:
            with contextlib.suppress(TemporaryVenueError, PermanentVenueError):
                await self.request({"forget": stream.sub_id})

    # ---- reading -------------------------------------------------------------------------
    async def _read(self, ws: ClientConnection) -> None:
        reason = "stream ended"
        try:
            async for raw in ws:
                self.health.last_message_ms = self._clock.now_ms()
                self._dispatch(raw)
        except ConnectionClosed as exc:
            reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        finally:
            self.health.connected = False
            self.health.detail = reason
            self._fail_all(reason)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            msg = decode(raw)
        except BadFrame as exc:
            self.health.bad_frames += 1
            if self.health.bad_frames <= 20 or self.health.bad_frames % 1000 == 0:
                log.warning(
                    "%s: bad frame skipped (%d so far): %s", self.venue, self.health.bad_frames, exc
                )
            return
        req_id = msg.get("req_id")
        if req_id is None:
            return
        future = self._pending.get(req_id)
        if future is not None and not future.done():
            future.set_result(msg)
            return
        stream = self._streams.get(req_id)
        if stream is not None:
            stream.put(msg)

    def _fail_all(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    TemporaryVenueError(f"{self.venue}: {reason}", venue=self.venue)
                )
        self._pending.clear()
        for stream in self._streams.values():
            stream.end()
        self._streams.clear()

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._ping_s)
            try:
                await self.request({"ping": 1})
            except TemporaryVenueError:
                ws = self._ws
                if ws is not None:
                    with contextlib.suppress(Exception):
                        await ws.close()
                return
            except PermanentVenueError:
                return
