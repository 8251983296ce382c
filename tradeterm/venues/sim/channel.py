"""A single-consumer stream between the sim market and a client (ticks, order events)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Channel(Generic[T]):
    """A single-consumer stream of items (ticks, order events). Items put before the consumer
    starts are kept; above `maxlen` the oldest are dropped and counted."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._items: deque[T] = deque()
        self._maxlen = maxlen
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        if self._maxlen is not None and len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def close(self) -> None:
        """End the stream; pending items are discarded."""
        self._closed = True
        self._items.clear()
        self._ready.set()

    def reopen(self) -> None:
        self._closed = False

    async def stream(self) -> AsyncIterator[T]:
        """Items as they come, until `close`."""
        while not self._closed:
            while self._items:
                yield self._items.popleft()
                if self._closed:
                    return
            self._ready.clear()
            await self._ready.wait()
