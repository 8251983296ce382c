"""The sim venue remembers its accounts across a restart, as a real venue does: cash, positions,
working orders (same client ids, still matching) and the id sequences, all committed before any
event about them goes out."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from tradeterm.clock import SimClock
from tradeterm.config.models import FillModelConfig, SimVenueConfig
from tradeterm.domain.enums import Liquidity, OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill, Order
from tradeterm.errors import StorageError
from tradeterm.execution.executors import OrderQuery
from tradeterm.venues.base import ExecEvent, OrderUpdate
from tradeterm.venues.factory import VenueHandle, build_venue, sim_state_path
from tradeterm.venues.sim import SimExecClient, SimVenue
from tradeterm.venues.sim.persist import SimVenueStore

T0 = 1_699_999_980_000
SYMBOLS = ["R_100", "1HZ100V"]


def venue(clock: SimClock, path: Path | None, **update: Any) -> SimVenue:
    fields: dict[str, Any] = {"symbols": SYMBOLS, "history_minutes": 30.0, "seed": 7}
    fields.update(update)
    return SimVenue("sim", SimVenueConfig(**fields), clock, state_path=path)


def order(coid: str, side: Side, qty: float, **kw: Any) -> Order:
    return Order(
        client_order_id=coid,
        wallet_id="live:synthetics",
        venue="sim",
        symbol=kw.pop("symbol", "R_100"),
        side=side,
        order_type=kw.pop("order_type", OrderType.MARKET),
        qty=qty,
        created_ms=T0,
        **kw,
    )


async def drained(client: SimExecClient) -> list[ExecEvent]:
    """Every event the client has emitted so far (the stream is read until it goes quiet)."""
    seen: list[ExecEvent] = []

    async def read() -> None:
        async for event in client.events():
            seen.append(event)

    task = asyncio.create_task(read())
    for _ in range(3):
        await asyncio.sleep(0)
    task.cancel()
    return seen


async def shut(handle: VenueHandle) -> None:
    result = handle.close() if handle.close is not None else None
    if inspect.isawaitable(result):
        await result


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def ask(sim: SimVenue, symbol: str = "R_100") -> float:
    tick = sim.market.last_tick(symbol)
    assert tick is not None
    return tick.ask


async def test_cash_positions_and_a_resting_limit_survive_a_restart(tmp_path: Path) -> None:
    clock, db = SimClock(T0), tmp_path / "sim-sim.db"
    first = venue(clock, db, starting_balance=1000.0)
    live = first.exec_client("live")
    await live.submit(order("buy", Side.BUY, 2.0))
    await clock.advance(120)
    await live.submit(order("half-out", Side.SELL, 1.0))
    far = round(ask(first) * 1.5, 2)
    await live.submit(order("tp", Side.SELL, 1.0, order_type=OrderType.LIMIT, price=far))
    refused = await live.submit(order("tiny", Side.BUY, 0.0001))
    assert refused.status is OrderStatus.REJECTED
    before = (await live.balance(), await live.positions(), await live.open_orders())
    assert before[0].total != 1000.0 and len(before[1]) == 1 and len(before[2]) == 1
    await first.close()

    await clock.advance(60)
    second = venue(clock, db, starting_balance=5000.0)  # the config changed: the books win
    again = second.exec_client("live")
    assert (await again.balance(), await again.positions(), await again.open_orders()) == before
    assert again.ledger.state() == live.ledger.state()
    (resting,) = await again.open_orders()
    assert (resting.client_order_id, resting.price, resting.venue_order_id) == ("tp", far, "sim-3")
    refused_again = await again.submit(order("tiny", Side.BUY, 0.0001))
    assert refused_again.status is OrderStatus.REJECTED and "minimum" in refused_again.reason
    # an account never opened before starts at the configured balance
    assert (await second.exec_client("paper").balance()).total == 5000.0
    await second.close()


async def test_a_restored_limit_still_fills_when_the_price_crosses(tmp_path: Path) -> None:
    clock, db = SimClock(T0), tmp_path / "sim-sim.db"
    first = venue(clock, db, fill_model=FillModelConfig(maker_fee_rate=0.0))
    limit = round(ask(first) * 0.997, 2)
    ack = await first.exec_client("live").submit(
        order("dip", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=limit)
    )
    await clock.advance(10)
    assert len(await first.exec_client("live").open_orders()) == 1
    await first.close()

    await clock.advance(30)
    second = venue(clock, db, fill_model=FillModelConfig(maker_fee_rate=0.0))
    live = second.exec_client("live")
    await live.connect()
    for _ in range(24):
        await clock.advance(300)
        if not await live.open_orders():
            break
    events = await drained(live)
    (fill,) = [e for e in events if isinstance(e, Fill)]
    assert (fill.client_order_id, fill.fill_id, fill.price) == ("dip", "dip-1", limit)
    assert fill.liquidity is Liquidity.MAKER  # it was resting, not a fresh marketable order
    done = [e for e in events if isinstance(e, OrderUpdate)][-1]
    assert (done.status, done.venue_order_id) == (OrderStatus.FILLED, ack.venue_order_id)
    (held,) = await live.positions()
    assert (held.side, held.qty, held.entry_price) == (Side.BUY, 1.0, limit)
    # reconciliation can ask about an order that finished while nobody was listening
    assert isinstance(live, OrderQuery)
    status = await live.order_status("dip")
    assert status is not None
    assert (status.status, status.filled_qty, status.avg_fill_price) == (
        OrderStatus.FILLED,
        1.0,
        limit,
    )
    assert await live.order_status("never-sent") is None
    # the venue order id sequence carries on where it stopped
    next_ack = await live.submit(order("next", Side.SELL, 1.0))
    assert next_ack.venue_order_id == "sim-2"
    await second.close()


async def test_resubmitting_a_known_client_id_after_restart_creates_no_second_order(
    tmp_path: Path,
) -> None:
    clock, db = SimClock(T0), tmp_path / "sim-sim.db"
    first = venue(clock, db)
    live = first.exec_client("live")
    filled = await live.submit(order("entry", Side.BUY, 1.0))
    low = round(ask(first) * 0.5, 2)
    resting = await live.submit(order("bid", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=low))
    balance = await live.balance()
    await first.close()

    second = venue(clock, db)
    again = second.exec_client("live")
    entry = await again.submit(order("entry", Side.BUY, 1.0))
    bid = await again.submit(order("bid", Side.BUY, 1.0, order_type=OrderType.LIMIT, price=low))
    assert (entry.status, entry.venue_order_id, entry.filled_qty) == (
        OrderStatus.FILLED,
        filled.venue_order_id,
        1.0,
    )
    assert (bid.status, bid.venue_order_id) == (OrderStatus.SUBMITTED, resting.venue_order_id)
    assert [o.client_order_id for o in await again.open_orders()] == ["bid"]
    (held,) = await again.positions()
    assert held.qty == 1.0  # still one buy, not two
    assert await again.balance() == balance  # no second fee
    await second.close()


async def test_a_kill_between_commit_and_emission_loses_nothing(tmp_path: Path) -> None:
    clock, db = SimClock(T0), tmp_path / "sim-sim.db"
    model = FillModelConfig(partial_fill_prob=1.0, partial_fill_min_ratio=0.5)
    first = venue(clock, db, fill_model=model)
    live = first.exec_client("live")
    ack = await live.submit(order("big", Side.BUY, 4.0))  # part fills at once, the rest works on
    books = live.ledger.state()
    (working,) = await live.open_orders()
    assert 0 < working.filled_qty < 4.0 and working.status is OrderStatus.PARTIALLY_FILLED
    await first.close()  # the fill and its updates were never read by anyone

    second = venue(clock, db, fill_model=model)
    again = second.exec_client("live")
    assert again.ledger.state() == books
    await again.connect()
    known = await again.submit(order("big", Side.BUY, 4.0))  # the same order, not a second one
    assert known.venue_order_id == ack.venue_order_id
    assert known.filled_qty >= working.filled_qty
    for _ in range(20):
        await clock.advance(1)
        if not await again.open_orders():
            break
    fills = [e for e in await drained(again) if isinstance(e, Fill)]
    assert fills and fills[0].fill_id == "big-2"  # fill ids carry on: nothing is booked twice
    assert working.filled_qty + sum(f.qty for f in fills) == pytest.approx(4.0)
    (held,) = await again.positions()
    assert held.qty == pytest.approx(4.0)
    await second.close()


async def test_every_event_a_client_reads_is_already_in_the_venue_database(
    tmp_path: Path,
) -> None:
    clock, db = SimClock(T0), tmp_path / "sim-sim.db"
    sim = venue(clock, db)
    live = sim.exec_client("live")
    await live.connect()
    reader = SimVenueStore(db)  # another connection, as a restarted venue would open
    checked: list[tuple[str, OrderStatus]] = []

    async def audit() -> None:
        async for event in live.events():
            saved = reader.load("live")
            assert saved is not None
            stored = {s.order.client_order_id: s.order for s in saved.orders}[event.client_order_id]
            if isinstance(event, OrderUpdate):  # the database is at least this far along
                assert stored.filled_qty >= event.filled_qty
                assert stored.status is event.status or not event.status.is_terminal
                checked.append((event.client_order_id, event.status))
            else:
                assert stored.filled_qty >= event.qty
                assert [symbol for symbol, _ in saved.ledger.positions] == ["R_100"]

    task = asyncio.create_task(audit())
    await live.submit(order("entry", Side.BUY, 1.0))
    await asyncio.sleep(0)
    await live.cancel("entry")  # too late: filled already, the venue says so
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task  # re-raises a failed check
    reader.close()
    await sim.close()
    assert checked == [
        ("entry", OrderStatus.SUBMITTED),
        ("entry", OrderStatus.FILLED),
        ("entry", OrderStatus.FILLED),
    ]


async def test_a_venue_that_cannot_write_its_books_acknowledges_nothing(tmp_path: Path) -> None:
    clock = SimClock(T0)
    sim = venue(clock, tmp_path / "sim-sim.db")
    live = sim.exec_client("live")
    await live.connect()
    assert sim.store is not None
    sim.store.close()  # the disk is gone
    with pytest.raises(StorageError, match="sim venue database"):
        await live.submit(order("entry", Side.BUY, 1.0))
    assert await drained(live) == []
    await sim.close()


async def test_the_factory_keeps_sim_books_in_the_state_folder_only_when_given_one(
    tmp_path: Path,
) -> None:
    clock = SimClock(T0)
    cfg = SimVenueConfig(symbols=SYMBOLS, history_minutes=5.0)
    in_memory = build_venue("demo", cfg, clock)
    await in_memory.exec_client("live").submit(order("a", Side.BUY, 1.0))
    await shut(in_memory)
    assert files_in(tmp_path) == []

    handle = build_venue("demo", cfg, clock, tmp_path)
    await handle.exec_client("live").submit(order("a", Side.BUY, 1.0))
    await shut(handle)
    assert sim_state_path(tmp_path, "demo") == tmp_path / "sim-demo.db"
    reopened = SimVenue("demo", cfg, clock, state_path=tmp_path / "sim-demo.db")
    (held,) = await reopened.exec_client("live").positions()
    assert (held.symbol, held.qty) == ("R_100", 1.0)
    await reopened.close()
