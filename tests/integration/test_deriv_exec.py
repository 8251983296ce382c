"""Deriv multipliers behind the ExecClient protocol (what the node's live wallets use), against
the simulator: an entry becomes one contract with its plan's TP/SL resting on it, a reduce-only
order sells it, a repeated client order id never buys twice, the account's contracts are the
positions reconciliation reads, and the Portfolio's books agree with the account's balance
after a buy, after a sell and after a TP/SL close at the venue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tradeterm.clock import LiveClock
from tradeterm.config.models import DerivVenueConfig
from tradeterm.domain.enums import ContractKind, Domain, OrderStatus, OrderType, Side, WalletMode
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderPurpose
from tradeterm.portfolio import Portfolio
from tradeterm.storage.router import Stores
from tradeterm.venues.base import ExecClient, OrderUpdate
from tradeterm.venues.deriv.execution import DerivExecClient, PlanLookup
from tradeterm.venues.sim.servers.deriv_sim import DerivSimulator

WALLET = "live:synthetics"
R100 = Instrument(
    "deriv",
    "R_100",
    ContractKind.MULTIPLIER,
    Domain.SYNTHETICS,
    0.01,
    0.001,
    min_qty=0.001,
    max_leverage=10.0,
    multiplier=10.0,
)


def order(coid: str, side: Side, qty: float, *, reduce_only: bool = False) -> Order:
    return Order(
        coid,
        WALLET,
        "deriv",
        "R_100",
        side,
        OrderType.MARKET,
        qty,
        0,
        reduce_only=reduce_only,
        purpose=OrderPurpose.EXIT if reduce_only else OrderPurpose.ENTRY,
    )


async def test_entry_exit_idempotency_and_positions() -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim:
        cfg = DerivVenueConfig(endpoint=sim.url)
        client = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())
        assert isinstance(client, ExecClient)
        await client.connect()
        events = client.events()
        ack = await client.submit(order("e1", Side.BUY, 1.0))  # ~1200 notional at x10: stake ~120
        assert ack.status is OrderStatus.FILLED
        assert client.in_flight() == {"e1": "R_100"}  # until the stream hands the outcome over
        ack_event = await anext(events)
        assert isinstance(ack_event, OrderUpdate) and ack_event.status is OrderStatus.SUBMITTED
        fill = await anext(events)
        done = await anext(events)
        assert isinstance(fill, Fill) and fill.fee > 0 and fill.last
        (contract,) = sim.contracts.values()
        # booked as Deriv books it: stake x multiplier / entry spot units at the entry spot
        terms = contract.terms
        assert abs(fill.qty * fill.price - terms.stake * terms.multiplier) < 1e-9
        assert fill.price == terms.entry_spot and fill.fee == terms.commission
        assert isinstance(done, OrderUpdate) and done.status is OrderStatus.FILLED
        assert client.contract_of("e1") == contract.contract_id
        again = await client.submit(order("e1", Side.BUY, 1.0))
        assert again.status is OrderStatus.FILLED and len(sim.contracts) == 1  # no second buy
        (held,) = await client.positions()
        assert held.side is Side.BUY and held.qty == fill.qty
        assert "e1" in client.in_flight()  # the consumer has not asked for more: not booked
        fresh = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())  # a restarted node
        assert [p.qty for p in await fresh.positions()] == [fill.qty]
        await fresh.close()
        exit_ack = await client.submit(order("x1", Side.SELL, fill.qty, reduce_only=True))
        assert exit_ack.status is OrderStatus.FILLED
        await anext(events)  # x1 acknowledged
        exit_fill = await anext(events)
        assert isinstance(exit_fill, Fill) and exit_fill.side is Side.SELL and exit_fill.last
        assert client.in_flight() == {"x1": "R_100"}  # e1's outcome was taken: booked
        await anext(events)  # x1's FILLED
        assert await client.positions() == []
        tiny = await client.submit(order("e2", Side.BUY, 0.0001))
        assert tiny.status is OrderStatus.REJECTED and "minimum" in tiny.reason
        assert "e2" not in client.in_flight()
        stop = Order("s1", WALLET, "deriv", "R_100", Side.SELL, OrderType.STOP, 1.0, 0)
        assert (await client.submit(stop)).status is OrderStatus.REJECTED
        await client.close()


class Books:
    """A live wallet's Portfolio fed by the client's events, as the node's router books them."""

    def __init__(self, path: Path, balance: float) -> None:
        self.portfolio = Portfolio(Stores.open(path, live=True), LiveClock(), {R100.key: R100})
        self.portfolio.activate_wallet(WalletMode.LIVE, Domain.SYNTHETICS, balance)
        self.orders: dict[str, Order] = {}

    async def book(self, client: DerivExecClient, sent: Order) -> Fill:
        self.orders[sent.client_order_id] = sent
        events = client.events()
        while True:
            event = await anext(events)
            if isinstance(event, Fill):
                self.portfolio.apply_fill(event, self.orders[event.client_order_id], None)
                fill = event
            elif event.status.is_terminal:
                return fill

    @property
    def balance(self) -> float:
        wallet = self.portfolio.wallet(WALLET)
        assert wallet is not None
        return wallet.balance


async def test_the_books_hold_the_stake_and_match_the_account_balance(tmp_path: Path) -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim:
        client = sim_client(sim)
        books = Books(tmp_path, sim.balance)
        entry = order("e1", Side.BUY, 1.0)
        await client.submit(entry)
        fill = await books.book(client, entry)
        (contract,) = sim.contracts.values()
        # cash debited = the stake (its commission inside it), exactly as the account's balance
        assert abs(books.balance - sim.balance) < 1e-9
        assert abs(books.balance - (10_000.0 - contract.terms.stake)) < 1e-9
        (pos,) = books.portfolio.positions(WALLET)
        assert abs(pos.margin - (contract.terms.stake - contract.terms.commission)) < 1e-9
        # equity = cash + what the contract is worth at the mark
        spot = contract.terms.entry_spot * 1.001
        books.portfolio.on_tick(_tick(spot))
        worth = contract.terms.value(spot)
        assert abs(books.portfolio.equity(WALLET) - (sim.balance + worth)) < 1e-6
        snap = books.portfolio.snapshot(WALLET)
        assert abs(snap.exposure - fill.qty * spot) < 1e-6  # stake x multiplier, marked
        leave = order("x1", Side.SELL, fill.qty, reduce_only=True)
        await client.submit(leave)
        await books.book(client, leave)
        assert books.portfolio.positions(WALLET) == []
        assert abs(books.balance - sim.balance) < 1e-9  # after the sell: the venue's figure
        await client.close()


async def test_a_tp_sl_close_at_the_venue_is_booked_at_what_it_paid(tmp_path: Path) -> None:
    """The plan's stop rests on the contract; when the venue closes it first, the node's exit
    finds the sold contract and books the payout (here a stop-out-free stop loss)."""
    async with DerivSimulator(speed=10, history_s=600) as sim:
        spot = sim.market.spot("R_100")
        assert spot is not None
        plan = EntryPlan(spot.quote * 0.9995, spot.quote * 1.002, "t", "t|deriv:R_100", "s", "1m")
        client = sim_client(sim, plans=lambda coid: plan if coid == "e1" else None)
        books = Books(tmp_path, sim.balance)
        entry = order("e1", Side.BUY, 1.0)
        await client.submit(entry)
        fill = await books.book(client, entry)
        (contract,) = sim.contracts.values()
        terms = contract.terms
        assert terms.stop_loss is not None and terms.take_profit is not None
        sl_price = terms.stop_loss_price()
        assert sl_price is not None
        assert abs(sl_price - plan.stop_loss) / plan.stop_loss < 1e-3  # the plan's stop, rested
        await _wait(lambda: not contract.open)  # the venue closes it: its TP or SL fires
        assert contract.status in ("won", "lost")
        leave = order("x1", Side.SELL, fill.qty, reduce_only=True)
        await client.submit(leave)
        await books.book(client, leave)
        assert books.portfolio.positions(WALLET) == []
        assert abs(books.balance - sim.balance) < 1e-9
        await client.close()


def sim_client(sim: DerivSimulator, plans: PlanLookup | None = None) -> DerivExecClient:
    """The live account's exec client on the simulator, optionally with a plan lookup."""
    return DerivExecClient(
        "deriv", "live", DerivVenueConfig(endpoint=sim.url), "tok", LiveClock(), plans=plans
    )


def _tick(price: float) -> Tick:
    return Tick("deriv", "R_100", 0, price, price, price)


async def _wait(done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    """Wait on state (polling), failing after a generous bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not done():
        assert loop.time() < deadline, "state not reached"
        await asyncio.sleep(0.05)


async def test_a_moved_stop_is_put_on_the_contract(tmp_path: Path) -> None:
    """The node tightens the stop (a trailing stop, the operator): the contract's stop loss
    follows (contract_update), so the venue holds the new level while the node is away."""
    async with DerivSimulator(speed=2, history_s=600) as sim:
        spot = sim.market.spot("R_100")
        assert spot is not None
        plan = EntryPlan(spot.quote * 0.99, spot.quote * 1.03, "t", "t|deriv:R_100", "s", "1m")
        client = sim_client(sim, plans=lambda coid: plan)
        books = Books(tmp_path, sim.balance)
        entry = order("e1", Side.BUY, 1.0)
        await client.submit(entry)
        await books.book(client, entry)
        (contract,) = sim.contracts.values()
        (pos,) = books.portfolio.positions(WALLET)
        tighter = pos.entry_price * 0.995
        moved = books.portfolio.tighten_stop(WALLET, pos.key, tighter)
        await client.rest_limits(moved)
        level = contract.terms.stop_loss_price()
        assert level is not None and abs(level - tighter) / tighter < 1e-4, (level, tighter)
        sent = [r for r in sim.requests_seen if "contract_update" in r]
        assert sent
        await client.rest_limits(moved)  # unchanged: nothing sent again
        assert len([r for r in sim.requests_seen if "contract_update" in r]) == len(sent)
        await client.close()


async def test_an_unacknowledged_entry_is_recovered_only_when_one_contract_is_its() -> None:
    """After a crash mid-buy a fresh client knows nothing of the buy: `recover_order` finds the
    one open contract on the order's symbol and side, of its size, bought no earlier than the
    order, that no booked order claims; never a guess between two, never a claimed one."""
    from dataclasses import replace

    async with DerivSimulator(speed=10, history_s=600) as sim:
        cfg = DerivVenueConfig(endpoint=sim.url)
        made = LiveClock().now_ms()
        first = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())
        await first.connect()
        await first.submit(order("e1", Side.BUY, 1.0))
        (cid,) = sim.contracts
        await first.close()

        fresh = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())  # the restarted node
        await fresh.connect()
        lost = replace(order("e1", Side.BUY, 1.0), created_ms=made)
        found = await fresh.recover_order(lost, set())
        assert found is not None and found.status is OrderStatus.FILLED
        terms = sim.contracts[cid].terms
        assert found.venue_order_id == str(cid)
        assert found.avg_fill_price == terms.entry_spot and found.fees == terms.commission
        assert abs(found.filled_qty * found.avg_fill_price - terms.stake * terms.multiplier) < 1e-9
        assert await fresh.order_status("e1") == found  # known from now on: never bought again
        again = await fresh.submit(lost)
        assert again == found and len(sim.contracts) == 1

        assert await fresh.recover_order(replace(lost, client_order_id="c"), {str(cid)}) is None
        for other in (
            replace(lost, client_order_id="s", side=Side.SELL),  # the other side
            replace(lost, client_order_id="q", qty=2.0),  # another size
            replace(lost, client_order_id="l", created_ms=made + 60 * 60_000),  # made after
            replace(lost, client_order_id="x", reduce_only=True, purpose=OrderPurpose.EXIT),
            replace(lost, client_order_id="v", venue_order_id="123"),  # acknowledged already
        ):
            assert await fresh.recover_order(other, set()) is None, other

        await fresh.submit(order("e2", Side.BUY, 1.0))  # a second contract just like it
        assert len(sim.contracts) == 2
        twin = replace(lost, client_order_id="t")
        assert await fresh.recover_order(twin, set()) is None  # two match: not a guess
        (second,) = set(sim.contracts) - {cid}
        found = await fresh.recover_order(twin, {str(cid)})
        assert found is not None and found.venue_order_id == str(second)
        await fresh.close()
