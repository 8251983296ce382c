"""The in-process message bus: topics (pub/sub) and request endpoints (commands).

Engines publish to topics and never know who listens; the TUI bridge, Telegram, Prometheus and the
SQLite recorder are subscribers (STYLE 2). Every subscription owns a bounded queue drained by its
own task, so a slow subscriber never stalls the others:

- `Overflow.BLOCK`: a full queue makes `publish` wait (back-pressure; for engines that must see
  every message).
- `Overflow.DROP_OLDEST`: a full queue drops its oldest message (screens, telemetry).
- `inline=True`: the handler runs inside `publish` itself, with no queue and no task switch (the
  hot tick path, where latency matters and ordering must be exact).

Topic patterns: an exact topic (`"bar"`), a prefix wildcard (`"order.*"`) or everything (`"*"`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tradeterm.errors import StorageError

log = logging.getLogger(__name__)

Handler = Callable[[str, Any], Awaitable[None] | None]
EndpointHandler = Callable[[Any], Awaitable[Any]]


class Overflow(StrEnum):
    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"


class BusClosed(RuntimeError):
    """Raised by `request` after the bus has stopped."""


def topic_matches(pattern: str, topic: str) -> bool:
    if pattern in ("*", topic):
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1]) or topic == pattern[:-2]
    return False


@dataclass(eq=False)
class Subscription:
    """A handler attached to a topic pattern, with its own queue and counters."""

    pattern: str
    handler: Handler
    name: str
    maxsize: int
    overflow: Overflow
    inline: bool
    delivered: int = 0
    dropped: int = 0
    errors: int = 0
    queue: asyncio.Queue[tuple[str, Any]] | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    is_async: bool = False
    pending: int = 0
    """Messages queued or being handled (drain waits for zero)."""
    storage_failing: bool = False
    """The handler's last call failed to store (reported once per spell)."""

    @property
    def depth(self) -> int:
        return self.queue.qsize() if self.queue is not None else 0


class Bus:
    """Topics and endpoints for one node. Create one per node (no module-level singleton)."""

    def __init__(self, *, default_maxsize: int = 10_000) -> None:
        self._default_maxsize = default_maxsize
        self._subs: list[Subscription] = []
        self._route_cache: dict[str, list[Subscription]] = {}
        self._endpoints: dict[str, EndpointHandler] = {}
        self._running = False
        self._closed = False
        self.published = 0

    # ---- subscriptions -------------------------------------------------------------------
    def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        name: str = "",
        maxsize: int | None = None,
        overflow: Overflow = Overflow.BLOCK,
        inline: bool = False,
        first: bool = False,
    ) -> Subscription:
        """Attach `handler(topic, message)` to topics matching `pattern`. `first` puts it ahead
        of every earlier subscription (an observer that must see events in publish order, before
        any inline engine reacts to them and publishes the next)."""
        sub = Subscription(
            pattern=pattern,
            handler=handler,
            name=name or getattr(handler, "__qualname__", "handler"),
            maxsize=maxsize or self._default_maxsize,
            overflow=overflow,
            inline=inline,
            is_async=inspect.iscoroutinefunction(handler),
        )
        if not inline:
            sub.queue = asyncio.Queue(maxsize=sub.maxsize)
            if self._running:
                self._start_worker(sub)
        if first:
            self._subs.insert(0, sub)
        else:
            self._subs.append(sub)
        self._route_cache.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._route_cache.clear()
        if sub.task is not None:
            sub.task.cancel()

    def subscriptions(self) -> list[Subscription]:
        return list(self._subs)

    def _routes(self, topic: str) -> list[Subscription]:
        routes = self._route_cache.get(topic)
        if routes is None:
            routes = [s for s in self._subs if topic_matches(s.pattern, topic)]
            self._route_cache[topic] = routes
        return routes

    # ---- publishing ----------------------------------------------------------------------
    async def publish(self, topic: str, message: Any) -> None:
        """Deliver to every matching subscription; waits only on full BLOCK queues."""
        self.published += 1
        for sub in self._routes(topic):
            if sub.inline:
                await self._call(sub, topic, message)
                continue
            queue = sub.queue
            assert queue is not None
            if queue.full() and sub.overflow is Overflow.DROP_OLDEST:
                self._drop_oldest(sub)
            sub.pending += 1
            await queue.put((topic, message))

    def publish_nowait(self, topic: str, message: Any) -> None:
        """Publish from synchronous code. Inline async handlers are scheduled as tasks; a full
        BLOCK queue drops the message and counts it (use `publish` where loss is unacceptable)."""
        self.published += 1
        for sub in self._routes(topic):
            if sub.inline:
                self._call_nowait(sub, topic, message)
                continue
            queue = sub.queue
            assert queue is not None
            if queue.full():
                if sub.overflow is Overflow.DROP_OLDEST:
                    self._drop_oldest(sub)
                else:
                    sub.dropped += 1
                    log.warning("bus: queue of %s is full; dropped %s", sub.name, topic)
                    continue
            sub.pending += 1
            queue.put_nowait((topic, message))

    @staticmethod
    def _drop_oldest(sub: Subscription) -> None:
        assert sub.queue is not None
        try:
            sub.queue.get_nowait()
            sub.queue.task_done()
            sub.dropped += 1
            sub.pending -= 1
        except asyncio.QueueEmpty:
            pass

    async def _call(self, sub: Subscription, topic: str, message: Any) -> None:
        try:
            result = sub.handler(topic, message)
            if result is not None:
                await result
            sub.delivered += 1
            sub.storage_failing = False
        except asyncio.CancelledError:
            raise
        except StorageError as exc:
            # the storage health has already said DEGRADED, with the reason, once: one line per
            # subscriber and failing spell here, not a traceback for every tick
            sub.errors += 1
            if not sub.storage_failing:
                sub.storage_failing = True
                log.error("bus: subscriber %s cannot store %s: %s", sub.name, topic, exc)
        except Exception:
            sub.errors += 1
            log.exception("bus: subscriber %s failed on %s", sub.name, topic)

    def _call_nowait(self, sub: Subscription, topic: str, message: Any) -> None:
        try:
            result = sub.handler(topic, message)
            if result is not None:
                task = asyncio.ensure_future(result)
                task.add_done_callback(functools.partial(self._task_done, sub=sub, topic=topic))
            else:
                sub.delivered += 1
        except Exception:
            sub.errors += 1
            log.exception("bus: subscriber %s failed on %s", sub.name, topic)

    @staticmethod
    def _task_done(task: asyncio.Future[Any], sub: Subscription, topic: str) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            sub.errors += 1
            log.error("bus: subscriber %s failed on %s: %r", sub.name, topic, task.exception())
        else:
            sub.delivered += 1

    # ---- endpoints -----------------------------------------------------------------------
    def register(self, endpoint: str, handler: EndpointHandler) -> None:
        """Serve requests to `endpoint`. One handler per endpoint."""
        if endpoint in self._endpoints:
            raise ValueError(f"bus endpoint '{endpoint}' is already registered")
        self._endpoints[endpoint] = handler

    def has_endpoint(self, endpoint: str) -> bool:
        return endpoint in self._endpoints

    async def request(
        self, endpoint: str, payload: Any = None, timeout: float | None = 10.0
    ) -> Any:
        """Call the endpoint's handler and return its answer (errors propagate to the caller)."""
        if self._closed:
            raise BusClosed(f"bus is closed; cannot request '{endpoint}'")
        try:
            handler = self._endpoints[endpoint]
        except KeyError:
            raise LookupError(f"no bus endpoint '{endpoint}'") from None
        if timeout is None:
            return await handler(payload)
        return await asyncio.wait_for(handler(payload), timeout)

    # ---- lifecycle -----------------------------------------------------------------------
    def _start_worker(self, sub: Subscription) -> None:
        sub.task = asyncio.get_running_loop().create_task(self._worker(sub), name=f"bus:{sub.name}")

    async def _worker(self, sub: Subscription) -> None:
        queue = sub.queue
        assert queue is not None
        while True:
            topic, message = await queue.get()
            try:
                await self._call(sub, topic, message)
            finally:
                sub.pending -= 1
                queue.task_done()

    async def start(self) -> None:
        """Start a worker task for every queued subscription (call inside the event loop)."""
        if self._running:
            return
        self._running = True
        for sub in self._subs:
            if not sub.inline and sub.task is None:
                self._start_worker(sub)

    async def drain(self, rounds: int = 50) -> None:
        """Wait until every queue is empty and every handler idle (deterministic tests, shutdown).

        Handlers may publish further messages, so this repeats until a full pass finds no work.
        Does nothing before `start` (no worker would ever empty the queues).
        """
        if not self._running:
            return
        for _ in range(rounds):
            busy = [s for s in self._subs if s.pending > 0]
            if not busy:
                await asyncio.sleep(0)
                busy = [s for s in self._subs if s.pending > 0]
                if not busy:
                    return
            for sub in busy:
                assert sub.queue is not None
                await sub.queue.join()

    async def stop(self) -> None:
        """Deliver what is queued, then stop every worker."""
        if self._running:
            await self.drain()
        self._closed = True
        self._running = False
        tasks = [s.task for s in self._subs if s.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for sub in self._subs:
            sub.task = None
