"""Small asyncio helpers shared by every layer."""

from __future__ import annotations

import asyncio


async def reap(task: asyncio.Future[object] | asyncio.Task[object], *, errors: bool = True) -> None:
    """Wait for a task we cancelled (or that is ending) to finish, without letting ITS
    cancellation or (with `errors`) its exception escape, while a cancellation of the task
    calling `reap` still does. `with suppress(CancelledError): await task` swallows both: a
    close() reached from a feed task being cancelled then ate that cancel, the feed's reconnect
    loop carried on, and the node's shutdown waited for it forever."""
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are being cancelled ourselves: pass it on
    except Exception:
        if not errors:
            raise
