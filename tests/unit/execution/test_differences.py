"""The DifferenceBook on a real SQLite file: ids are stable, statuses move as the venue and the
operator say, every change is stored before it is published, and a restart reloads them."""

from __future__ import annotations

from pathlib import Path

from tradeterm.clock import SimClock
from tradeterm.domain.reconcile import RECONCILE, Difference
from tradeterm.execution.differences import DifferenceBook, difference_id
from tradeterm.storage.db import Storage

WALLET = "live:crypto_perp"


def found(kind: str = "orphan_order", symbol: str = "BTCUSDT", coid: str = "x1") -> Difference:
    return Difference(
        id=difference_id(WALLET, kind, symbol, coid),
        wallet_id=WALLET,
        venue="binance_futures",
        kind=kind,
        symbol=symbol,
        local="nothing",
        at_venue="limit buy 0.01 @ 90000",
        first_seen_ms=0,
        last_seen_ms=0,
        client_order_id=coid,
    )


class Published:
    def __init__(self, store: Storage) -> None:
        self.store = store
        self.seen: list[tuple[str, Difference, bool]] = []

    async def __call__(self, topic: str, message: object) -> None:
        assert isinstance(message, Difference)
        stored = {d.id: d for d in self.store.load_differences()}
        self.seen.append((topic, message, stored.get(message.id) == message))


def book(path: Path, clock: SimClock) -> tuple[DifferenceBook, Published, Storage]:
    store = Storage(path)
    published = Published(store)
    return DifferenceBook(clock, lambda _w: store, [store], published), published, store


async def test_found_again_kept_ignored_resolved_and_reopened(tmp_path: Path) -> None:
    clock = SimClock(1_000_000)
    diffs, published, store = book(tmp_path / "live.db", clock)
    (first,) = await diffs.observe([WALLET], [found()])
    assert first.status == "open" and first.first_seen_ms == first.last_seen_ms == 1_000_000
    assert published.seen == [(RECONCILE, first, True)]  # stored before it was published
    await clock.advance_to(1_060_000)
    (again,) = await diffs.observe([WALLET], [found()])
    assert again.id == first.id and again.first_seen_ms == 1_000_000
    assert again.last_seen_ms == 1_060_000
    ignored = await diffs.set_status(again, "ignored", by="cli", note="ignored by cli")
    (still,) = await diffs.observe([WALLET], [found()])
    assert still.status == "ignored" and still.by == "cli" and not still.halts
    # another wallet's run does not touch it; this wallet's run without it resolves it
    await diffs.observe(["live:synthetics"], [])
    assert diffs.get(first.id).status == "ignored"  # type: ignore[union-attr]
    await diffs.observe([WALLET], [])
    gone = diffs.get(first.id)
    assert gone is not None and gone.status == "resolved" and gone.by == "venue"
    assert not diffs.active()
    # back at the venue: a new occurrence, open again
    await clock.advance_to(1_120_000)
    (back,) = await diffs.observe([WALLET], [found()])
    assert back.id == first.id and back.status == "open" and back.first_seen_ms == 1_120_000
    assert ignored.status == "ignored"
    assert all(ok for _t, _d, ok in published.seen)
    store.close()

    # a restart: the same rows come back
    reopened, _, store2 = book(tmp_path / "live.db", clock)
    assert reopened.get(first.id) == back
    assert [d.id for d in reopened.active()] == [first.id]
    store2.close()


async def test_the_policy_outcome_of_a_run_is_kept(tmp_path: Path) -> None:
    clock = SimClock(5_000)
    diffs, _, store = book(tmp_path / "live.db", clock)
    from dataclasses import replace

    adopted = replace(found("orphan_position", coid=""), status="adopted", by="reconcile")
    (kept,) = await diffs.observe([WALLET], [adopted])
    assert kept.status == "adopted" and not kept.active
    # listed after the active ones
    (other,) = await diffs.observe([WALLET], [found("orphan_order", "ETHUSDT", "y")])
    assert [d.id for d in diffs.all()] == [other.id, kept.id]
    store.close()
