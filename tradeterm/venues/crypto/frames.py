"""Bad websocket frames on the crypto streams: logged once per kind, counted, skipped.

Where ccxt.pro swallows or raises (ccxt 4.5, async_support/base/ws/client.py): each frame is
decoded and handed to the exchange's `handle_message` inside an asyncio done-callback of the
client's receive loop, and the next receive is scheduled only AFTER that call returns. So a
frame that does not decode (truncated JSON raises in `handle_text_or_binary_message`) or that
the exchange's parser chokes on (wrong types: `Precise("abc")` raises ValueError) escapes the
callback: asyncio logs "Exception in callback", the receive loop is never rescheduled and the
stream goes silent -- still "connected", no error, no reconnect, no data -- until a ping
timeout, if ever. Unknown event types are ignored by ccxt itself (its method table has no entry).

`guard_exchange` closes that at our adapter seam, per exchange object, without touching ccxt:

1. every websocket client the exchange creates from then on (`exchange.client(url)`) has its
   `handle_text_or_binary_message` wrapped: a frame over MAX_FRAME_CHARS is skipped before it is
   decoded, one that does not decode is skipped;
2. the exchange's `handle_message` (ccxt's on-message callback, looked up when a client is
   made) is wrapped: whatever the parser raises on one frame is caught and the frame skipped.

Either way the receive loop carries on with the next frame. `FrameGuard.bad` counts the frame in
the venue's `health.bad_frames` and logs the first of each kind (then every 1000th), so a storm
of hostile frames is one line per kind, not thousands. What ccxt does accept but is still unfit
(a trade or kline with a missing or non-finite price) is checked where the adapter turns ccxt's
values into ours (ccxt_venue.py: `_tick_of`, `_row_ok`, `_on_order`) and counted here too.
Junk kline rows share ccxt's per-symbol cache with the real ones and can push a bar's last
update out of what `watch_ohlcv` returns, so `closed_bars` takes a bar from REST when bad frames
arrived during its life (seen with Bybit under the fuzz test: a closed bar one update stale).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from tradeterm.venues.base import VenueHealth

log = logging.getLogger(__name__)

MAX_FRAME_CHARS = 1_000_000
"""A frame longer than this is skipped unread (Binance's largest, a full depth snapshot, is a
few hundred kB; aiohttp itself refuses frames over ccxt's 10 MB with a reconnect)."""


class FrameGuard:
    """Counts and reports the bad frames of one venue's streams."""

    def __init__(self, venue: str, health: VenueHealth) -> None:
        self.venue = venue
        self.health = health
        self.kinds: Counter[str] = Counter()

    def bad(self, kind: str, detail: str = "") -> None:
        """One bad frame (or value) of `kind` was skipped."""
        self.kinds[kind] += 1
        self.health.bad_frames += 1
        seen = self.kinds[kind]
        if seen == 1 or seen % 1000 == 0:
            log.warning(
                "%s: bad websocket frame skipped (%s, %d of this kind so far): %s",
                self.venue,
                kind,
                seen,
                detail[:200],
            )


def _shape(message: object) -> str:
    """A short name for what a frame was (its event type, when it has one)."""
    if isinstance(message, dict):
        data = message.get("data", message)
        if isinstance(data, dict):
            event = data.get("e") or data.get("topic") or data.get("op")
            if isinstance(event, str):
                return event[:40]
        return "object"
    return type(message).__name__


def guard_exchange(exchange: Any, guard: FrameGuard) -> Any:
    """Make `exchange` (a ccxt.pro instance) skip bad frames instead of going silent."""
    parse = exchange.handle_message

    def handle_message(client: Any, message: object) -> Any:
        try:
            return parse(client, message)
        except Exception as exc:
            guard.bad(f"{_shape(message)}: {type(exc).__name__}", str(exc))
            return None

    exchange.handle_message = handle_message
    make_client = exchange.client

    def client(url: str) -> Any:
        made = make_client(url)
        if not getattr(made, "_tradeterm_guarded", False):
            decode = made.handle_text_or_binary_message

            def handle_text_or_binary_message(data: Any) -> Any:
                if isinstance(data, str | bytes) and len(data) > MAX_FRAME_CHARS:
                    guard.bad("oversized", f"{len(data):,} characters")
                    return None
                try:
                    return decode(data)
                except ValueError as exc:  # json / orjson decode errors are ValueErrors
                    guard.bad("undecodable", f"{exc}: {str(data)[:80]!r}")
                    return None

            made.handle_text_or_binary_message = handle_text_or_binary_message
            made._tradeterm_guarded = True
        return made

    exchange.client = client
    return exchange
