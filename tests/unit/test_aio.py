"""`reap` waits for a cancelled task without eating the caller's own cancellation (the
daemon's shutdown hung forever when a client's close() swallowed the feed task's cancel)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tradeterm.aio import reap


async def _slow_to_stop(release: asyncio.Event) -> None:
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        await release.wait()  # takes its time to wind down, as a websocket close does
        raise


async def _closer(inner: asyncio.Task[None], reached: asyncio.Event, use_reap: bool) -> str:
    inner.cancel()
    reached.set()
    if use_reap:
        await reap(inner)
    else:
        with contextlib.suppress(asyncio.CancelledError):
            await inner
    return "carried on"


async def _scenario(use_reap: bool) -> str:
    release = asyncio.Event()
    inner = asyncio.create_task(_slow_to_stop(release))
    await asyncio.sleep(0)
    reached = asyncio.Event()
    outer = asyncio.create_task(_closer(inner, reached, use_reap))
    await reached.wait()
    outer.cancel()  # the feed task is cancelled while it is closing its client
    await asyncio.sleep(0)
    release.set()
    try:
        return await outer
    except asyncio.CancelledError:
        return "cancelled"


def test_reap_passes_the_callers_own_cancellation_on() -> None:
    assert asyncio.run(_scenario(use_reap=True)) == "cancelled"


def test_the_old_pattern_swallowed_it() -> None:
    # the bug reap fixes, shown: suppress(CancelledError) around `await task` ate the cancel
    assert asyncio.run(_scenario(use_reap=False)) == "carried on"


def test_reap_hides_the_reaped_tasks_cancel_and_errors() -> None:
    async def main() -> None:
        async def boom() -> None:
            raise RuntimeError("x")

        t = asyncio.create_task(asyncio.sleep(10))
        t.cancel()
        await reap(t)
        b = asyncio.create_task(boom())
        await reap(b)
        b2 = asyncio.create_task(boom())
        with pytest.raises(RuntimeError):
            await reap(b2, errors=False)

    asyncio.run(main())
