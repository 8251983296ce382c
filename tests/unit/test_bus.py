"""The bus: topics, wildcards, back-pressure, dropping for screens, endpoints, draining."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tradeterm.bus import Bus, Overflow, topic_matches


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    async def __call__(self, topic: str, message: Any) -> None:
        self.got.append((topic, message))


def test_topic_patterns() -> None:
    assert topic_matches("*", "bar")
    assert topic_matches("order.*", "order.filled")
    assert topic_matches("order.*", "order")
    assert not topic_matches("order.*", "orders")
    assert not topic_matches("bar", "bars")


async def test_queued_subscribers_get_every_message_in_order() -> None:
    bus = Bus()
    rec, everything = Recorder(), Recorder()
    bus.subscribe("bar", rec, name="rec")
    bus.subscribe("*", everything, name="all")
    await bus.start()
    for i in range(100):
        await bus.publish("bar", i)
    await bus.publish("tick", "t")
    await bus.drain()
    assert [m for _, m in rec.got] == list(range(100))
    assert everything.got[-1] == ("tick", "t") and len(everything.got) == 101
    await bus.stop()


async def test_block_overflow_applies_back_pressure_without_loss() -> None:
    bus = Bus()
    release = asyncio.Event()
    got: list[int] = []

    async def slow(topic: str, msg: int) -> None:
        await release.wait()
        got.append(msg)

    bus.subscribe("x", slow, maxsize=2, overflow=Overflow.BLOCK)
    await bus.start()
    publisher = asyncio.create_task(_publish_many(bus, 10))
    await asyncio.sleep(0.01)
    assert not publisher.done()  # the full queue holds the publisher back
    release.set()
    await publisher
    await bus.drain()
    assert got == list(range(10))
    await bus.stop()


async def _publish_many(bus: Bus, n: int) -> None:
    for i in range(n):
        await bus.publish("x", i)


async def test_drop_oldest_keeps_the_newest_for_screens() -> None:
    bus = Bus()
    rec = Recorder()
    sub = bus.subscribe("pnl", rec, maxsize=3, overflow=Overflow.DROP_OLDEST)
    for i in range(10):  # not started: the queue fills and the oldest go
        await bus.publish("pnl", i)
    await bus.start()
    await bus.drain()
    assert [m for _, m in rec.got] == [7, 8, 9]
    assert sub.dropped == 7
    await bus.stop()


async def test_inline_handlers_run_inside_publish_and_errors_are_contained() -> None:
    bus = Bus()
    seen: list[int] = []

    def boom(topic: str, msg: int) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe("t", boom, inline=True, name="boom")
    bus.subscribe("t", lambda topic, msg: seen.append(msg), inline=True)
    await bus.publish("t", 1)
    assert seen == [1]  # the failing subscriber did not stop delivery
    assert bus.subscriptions()[0].errors == 1


async def test_request_endpoints() -> None:
    bus = Bus()

    async def double(x: int) -> int:
        return 2 * x

    bus.register("double", double)
    assert await bus.request("double", 21) == 42
    with pytest.raises(LookupError, match="no bus endpoint 'triple'"):
        await bus.request("triple", 1)
    with pytest.raises(ValueError, match="already registered"):
        bus.register("double", double)
