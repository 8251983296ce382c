"""The book of reconciliation differences: kept in SQLite, published on the bus.

A reconciliation run hands every orphan it found to `observe`; the book gives each one its
stable id (the same orphan found again is the same difference), updates what it saw (last seen,
local and venue values), reopens a closed/adopted one that is back, and marks every difference of
a checked wallet that is no longer found "resolved". An ignored difference stays ignored while
it lasts (and no longer halts). Changes are committed to the wallet's database first, then
published on RECONCILE, so a pane never shows a difference a restart would forget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace

from tradeterm.clock import Clock
from tradeterm.domain.ids import stable_id
from tradeterm.domain.reconcile import RECONCILE, Difference
from tradeterm.storage.db import Storage

Publish = Callable[[str, object], Awaitable[None]]
StoreOf = Callable[[str], Storage]


def difference_id(wallet_id: str, kind: str, symbol: str, client_order_id: str = "") -> str:
    """Stable per wallet, kind, market (and order): short enough to type."""
    return "r" + stable_id(wallet_id, kind, symbol, client_order_id, length=8)


class DifferenceBook:
    """Every reconciliation difference, active or recent, loaded from the wallets' databases."""

    def __init__(
        self, clock: Clock, store_of: StoreOf, stores: Iterable[Storage], publish: Publish
    ) -> None:
        self._clock = clock
        self._store_of = store_of
        self._publish = publish
        self._diffs: dict[str, Difference] = {}
        for store in stores:
            for d in store.load_differences():
                self._diffs[d.id] = d

    def all(self) -> list[Difference]:
        """Active differences first (open, then ignored), then history; newest first within."""
        order = {"open": 0, "ignored": 1}
        return sorted(
            self._diffs.values(),
            key=lambda d: (order.get(d.status, 2), -d.last_seen_ms, d.id),
        )

    def get(self, diff_id: str) -> Difference | None:
        return self._diffs.get(diff_id)

    def active(self, wallet_id: str | None = None) -> list[Difference]:
        return [
            d for d in self.all() if d.active and (wallet_id is None or d.wallet_id == wallet_id)
        ]

    async def observe(
        self, wallets: Sequence[str], found: Sequence[Difference]
    ) -> list[Difference]:
        """Take one run's findings for `wallets` (the live wallets checked). Returns the
        differences as they stand now for what was found (same order as `found`)."""
        now = self._clock.now_ms()
        changed: list[Difference] = []
        current: list[Difference] = []
        seen: set[str] = set()
        for f in found:
            seen.add(f.id)
            old = self._diffs.get(f.id)
            if old is None:
                d = replace(f, first_seen_ms=now, last_seen_ms=now, updated_ms=now)
            elif old.active:
                status = f.status if f.status != "open" else old.status
                by = f.by if f.status != "open" else old.by
                note = f.note if f.status != "open" else old.note
                d = replace(
                    f,
                    first_seen_ms=old.first_seen_ms,
                    last_seen_ms=now,
                    status=status,
                    by=by,
                    note=note,
                    updated_ms=now if status != old.status else old.updated_ms,
                )
            else:  # it was adopted/closed/resolved and is back: a new occurrence
                d = replace(f, first_seen_ms=now, last_seen_ms=now, updated_ms=now)
            current.append(d)
            changed.append(d)
        for d in list(self._diffs.values()):
            if d.wallet_id in wallets and d.active and d.id not in seen:
                changed.append(
                    replace(d, status="resolved", by="venue", updated_ms=now, note="gone")
                )
        await self._commit(changed)
        return current

    async def set_status(self, diff: Difference, status: str, *, by: str, note: str) -> Difference:
        """An operator's (or the policy's) decision on one difference, stored then published."""
        now = self._clock.now_ms()
        d = replace(diff, status=status, by=by, note=note, updated_ms=now)
        await self._commit([d])
        return d

    async def _commit(self, diffs: list[Difference]) -> None:
        if not diffs:
            return
        by_wallet: dict[str, list[Difference]] = {}
        for d in diffs:
            by_wallet.setdefault(d.wallet_id, []).append(d)
        for wid, rows in by_wallet.items():
            self._store_of(wid).save_differences(rows)
        for d in diffs:
            self._diffs[d.id] = d
        for d in diffs:
            await self._publish(RECONCILE, d)
