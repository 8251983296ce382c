"""Identifiers. Client order ids are derived, not random, so a retried intent is the same order."""

from __future__ import annotations

import hashlib
import uuid


def stable_id(*parts: object, length: int = 16) -> str:
    """A short hex digest of the parts; the same parts always give the same id."""
    text = "|".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length]


def signal_id(strategy: str, venue: str, symbol: str, timeframe: str, bar_open_ms: int) -> str:
    """Deterministic signal id: one per strategy, market and bar."""
    return "sig-" + stable_id(strategy, venue, symbol, timeframe, bar_open_ms)


def client_order_id(
    signal_or_intent_id: str, wallet_id: str, purpose: str, attempt: int = 0
) -> str:
    """Idempotent client order id derived from the signal (or intent), wallet and order purpose.

    Venues cap client ids (Binance 36, Bybit 36, Deribit 64 characters); this is 27 characters.
    """
    return "tt-" + stable_id(signal_or_intent_id, wallet_id, purpose, attempt, length=24)


def new_id(prefix: str) -> str:
    """A random id for things that have no natural key (audit rows, correlation ids)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"
