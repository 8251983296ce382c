"""SimClock: time moves only when advanced, sleepers wake in timestamp order."""

from __future__ import annotations

import asyncio

import pytest

from tradeterm.clock import LiveClock, SimClock, datetime_to_ms, format_ms, ms_to_datetime


async def test_sleepers_wake_in_time_order() -> None:
    clock = SimClock(start_ms=1_000)
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_ms()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("c", 3), ("a", 1), ("b", 2))]
    await asyncio.sleep(0)
    await clock.advance(1.5)
    assert woke == [("a", 2_000)]
    await clock.advance(10)
    assert woke == [("a", 2_000), ("b", 3_000), ("c", 4_000)]
    assert clock.now_ms() == 12_500
    await asyncio.gather(*tasks)


async def test_a_woken_task_runs_before_later_sleepers_wake() -> None:
    clock = SimClock()
    seen: list[int] = []

    async def chain() -> None:
        for _ in range(3):
            await clock.sleep(1)
            seen.append(clock.now_ms())

    task = asyncio.create_task(chain())
    await asyncio.sleep(0)
    await clock.advance_to(5_000)
    assert seen == [1_000, 2_000, 3_000]
    await task


def test_sim_clock_never_goes_backwards() -> None:
    clock = SimClock(10)
    with pytest.raises(ValueError, match="backwards"):
        clock.set_time(5)


def test_time_conversions_are_utc() -> None:
    assert format_ms(1_708_592_100_000) == "2024-02-22 08:55:00"
    assert datetime_to_ms(ms_to_datetime(1_708_592_100_123)) == 1_708_592_100_123
    assert abs(LiveClock().now_ms() - datetime_to_ms(LiveClock().now())) < 5_000
