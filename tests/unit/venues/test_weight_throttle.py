"""The per-venue request-weight budget shared by every task of a venue."""

from __future__ import annotations

import asyncio

from tradeterm.venues.crypto.ccxt_venue import WeightThrottle


class FakeTime:
    """A hand-driven monotonic clock; `sleep` advances it (no wall-clock waiting)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


async def test_budget_is_shared_and_refills_after_a_minute(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = FakeTime()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds

    monkeypatch.setattr("tradeterm.venues.crypto.ccxt_venue.asyncio.sleep", fake_sleep)
    throttle = WeightThrottle(10, now=clock.now)
    # two tasks draw on one budget: 4 + 4 fit, the third 4 must wait until they age out
    await asyncio.gather(throttle.acquire(4), throttle.acquire(4))
    assert throttle.used() == 8 and not slept
    clock.t += 5
    await throttle.acquire(4)
    assert slept and 54.9 <= sum(slept) <= 55.1  # the first spend leaves the window at +60 s
    assert throttle.used() == 4  # both earlier spends aged out together


async def test_penalty_and_the_venues_own_count(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = FakeTime()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds

    monkeypatch.setattr("tradeterm.venues.crypto.ccxt_venue.asyncio.sleep", fake_sleep)
    throttle = WeightThrottle(100, now=clock.now)
    throttle.penalize(7.0)  # a 429 with Retry-After: 7
    await throttle.acquire(1)
    assert 6.9 <= sum(slept) <= 7.1
    throttle.observe(90)  # the venue counts 90 (another process on the same IP)
    assert throttle.used() == 90
    throttle.observe(10)  # never lowers our count
    assert throttle.used() == 90
    slept.clear()
    await throttle.acquire(20)
    assert slept  # 90 + 20 > 100: waited
