"""The embedded sim venue: synthetic indices and replayed candles, a data client, and one paper
ledger per account, all on one price path and one injected clock.

    sim = SimVenue("sim", config, clock)
    await sim.data.connect(); await sim.data.subscribe(["R_100"])
    async for tick in sim.data.ticks(): ...
    paper = sim.exec_client("paper"); await paper.submit(order)

With `state_path` the accounts keep their books in the venue's own SQLite file (persist.py) and
pick them up again on the next start, as a real venue remembers its accounts across a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from pathlib import Path

from tradeterm.clock import Clock
from tradeterm.config.models import SimVenueConfig
from tradeterm.domain.enums import ContractKind, OrderType
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.timeframes import TIMEFRAME_MS
from tradeterm.errors import ConfigError, PermanentVenueError
from tradeterm.venues.base import (
    ExecEvent,
    OrderUpdate,
    VenueBalance,
    VenueCapabilities,
    VenueHealth,
    VenuePosition,
)
from tradeterm.venues.sim.catalog import resolve_symbols
from tradeterm.venues.sim.channel import Channel
from tradeterm.venues.sim.feeds import Feed, replay_feed, synthetic_feed
from tradeterm.venues.sim.generators import symbol_seed
from tradeterm.venues.sim.ledger import Ledger
from tradeterm.venues.sim.market import SimMarket
from tradeterm.venues.sim.matching import MatchingEngine
from tradeterm.venues.sim.persist import (
    AccountJournal,
    DurableMatchingEngine,
    SimVenueStore,
    open_account,
)

TICK_BACKLOG = 100_000
"""Ticks held for a slow `ticks()` consumer before the oldest are dropped (counted in health)."""


def sim_capabilities() -> VenueCapabilities:
    """What the sim venue supports: every order type, partial fills, native stops, no funding."""
    return VenueCapabilities(
        order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP}),
        contract_kinds=frozenset(
            {ContractKind.SYNTHETIC, ContractKind.SPOT, ContractKind.PERPETUAL}
        ),
        reduce_only=True,
        native_stops=True,
        partial_fills=True,
        funding=False,
        history_timeframes=tuple(TIMEFRAME_MS),
        max_history_bars=5000,
        client_order_id_max_len=64,
    )


class SimDataClient:
    """Market data of the sim venue (implements DataClient). One `ticks()` consumer at a time."""

    def __init__(self, name: str, market: SimMarket, clock: Clock, health: VenueHealth) -> None:
        self.name = name
        self.capabilities = sim_capabilities()
        self._market = market
        self._clock = clock
        self._health = health
        self._subscribed: set[str] = set()
        self._ticks: Channel[Tick] = Channel(maxlen=TICK_BACKLOG)
        market.add_listener(self)

    async def connect(self) -> None:
        self._ticks.reopen()
        self._health.connected = True
        await self._market.attach(self)

    async def close(self) -> None:
        self._subscribed.clear()
        self._ticks.close()
        self._health.connected = False
        await self._market.detach(self)

    async def instruments(self) -> list[Instrument]:
        return self._market.instruments()

    def _known(self, symbols: Sequence[str]) -> list[str]:
        unknown = [s for s in symbols if self._market.instrument(s) is None]
        if unknown:
            raise PermanentVenueError(
                f"{self.name}: unknown symbol(s) {', '.join(unknown)}",
                venue=self.name,
                code="unknown_symbol",
            )
        return list(symbols)

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Stream `symbols` from the present on: ticks stamped now or later (earlier ones are
        history)."""
        new = [s for s in self._known(symbols) if s not in self._subscribed]
        now = self._clock.now_ms()
        self._market.advance_to(now)
        for tick in self._market.played_since(new, now):
            self._ticks.put(tick)
        self._subscribed.update(new)

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        self._subscribed.difference_update(symbols)

    def ticks(self) -> AsyncIterator[Tick]:
        """Ticks of the subscribed symbols in time order (ties by symbol), as the clock reaches
        them. Ends when the client closes."""
        return self._ticks.stream()

    async def history(
        self, symbol: str, timeframe: str, *, end_ms: int | None = None, limit: int = 500
    ) -> list[Bar]:
        """Closed bars from the same price path as the live ticks, oldest first."""
        self._known([symbol])
        if timeframe not in TIMEFRAME_MS:
            raise PermanentVenueError(
                f"{self.name}: unknown timeframe '{timeframe}'", venue=self.name, code="timeframe"
            )
        now = self._clock.now_ms()
        return self._market.bars(symbol, timeframe, now if end_ms is None else end_ms, limit)

    # ---- TickListener --------------------------------------------------------------------
    def wanted_symbols(self) -> Collection[str]:
        return self._subscribed

    def on_tick(self, tick: Tick) -> None:
        if tick.symbol in self._subscribed:
            dropped = self._ticks.dropped
            self._ticks.put(tick)
            if self._ticks.dropped != dropped:
                self._health.extra["dropped_ticks"] = float(self._ticks.dropped)


class SimExecClient:
    """Orders and the paper ledger of one sim account (implements ExecClient).

    Fills come from a MatchingEngine fed by the market's price path; `events()` yields every
    order update and fill (acknowledgements included) in the order they happened. With a
    `journal`, every change of the books is committed to the venue's database before its events
    are emitted (and before `submit` or `cancel` return).
    """

    def __init__(
        self,
        name: str,
        account: str,
        market: SimMarket,
        clock: Clock,
        engine: MatchingEngine,
        ledger: Ledger,
        journal: AccountJournal | None = None,
    ) -> None:
        self.name = name
        self.account = account
        self.capabilities = sim_capabilities()
        self.ledger = ledger
        self._market = market
        self._clock = clock
        self._engine = engine
        self._journal = journal
        self._events: Channel[ExecEvent] = Channel()
        market.add_listener(self)

    async def connect(self) -> None:
        self._events.reopen()
        await self._market.attach(self)

    async def close(self) -> None:
        self._events.close()
        await self._market.detach(self)

    def _now(self) -> int:
        """Catch the market up to the clock, then tell the time."""
        now = self._clock.now_ms()
        self._market.advance_to(now)
        return now

    def _refusal(self, order: Order, instrument: Instrument | None) -> str:
        if instrument is None:
            return f"unknown symbol '{order.symbol}'"
        if order.reduce_only:
            held = self.ledger.position(order.symbol)
            if held is None or held.side is order.side:
                return "reduce-only order would open or increase a position"
        reference = order.price or order.stop_price or self._reference_price(order.symbol)
        if reference and not instrument.is_tradeable_qty(order.qty, reference):
            return (
                f"below the minimum size (lot {instrument.lot_step}, "
                f"notional {instrument.min_notional})"
            )
        return ""

    def _reference_price(self, symbol: str) -> float:
        tick = self._market.last_tick(symbol)
        return tick.price if tick is not None else 0.0

    def _update_of(self, client_order_id: str, now: int) -> OrderUpdate | None:
        known = self._engine.order(client_order_id)
        if known is None:
            return None
        return OrderUpdate(
            known.client_order_id,
            known.status,
            now,
            known.venue_order_id,
            known.filled_qty,
            known.avg_fill_price,
            known.reason,
            known.fees,
        )

    async def submit(self, order: Order) -> OrderUpdate:
        """Accept (SUBMITTED) or refuse (REJECTED, with a reason); fills follow on `events()`.
        A client order id the account already knows is not placed again: its state is returned."""
        now = self._now()
        known = self._update_of(order.client_order_id, now)
        if known is not None:
            return known
        reason = self._refusal(order, self._market.instrument(order.symbol))
        if reason:
            events = self._engine.reject(order, now, reason)
        else:
            self._sync_quote(order.symbol)
            events = self._engine.submit(order, now)
        self._publish(events)
        ack = events[0]
        assert isinstance(ack, OrderUpdate)
        return ack

    def _sync_quote(self, symbol: str) -> None:
        """Give the engine the latest quote of a symbol it has not been following."""
        tick = self._market.last_tick(symbol)
        seen = self._engine.last_tick(symbol)
        if tick is not None and (seen is None or seen.ts_ms < tick.ts_ms):
            self._publish(self._engine.on_tick(tick))

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        events = self._engine.cancel(client_order_id, self._now())
        self._publish(events)
        update = events[0]
        assert isinstance(update, OrderUpdate)
        return update

    def track(self, order: Order) -> None:
        """OrderTracking: nothing to do, the account reports every order's events."""

    async def open_orders(self) -> list[Order]:
        self._now()
        return self._engine.open_orders()

    async def order_status(self, client_order_id: str) -> OrderUpdate | None:
        """The account's word on one order, working or finished (OrderQuery: reconciliation
        books the fills of an order that filled while the node was down); None if never seen."""
        return self._update_of(client_order_id, self._now())

    async def positions(self) -> list[VenuePosition]:
        self._now()
        return self.ledger.positions()

    async def balance(self) -> VenueBalance:
        self._now()
        return self.ledger.balance()

    def events(self) -> AsyncIterator[ExecEvent]:
        return self._events.stream()

    # ---- TickListener --------------------------------------------------------------------
    def wanted_symbols(self) -> Collection[str]:
        return self._engine.working_symbols()

    def on_tick(self, tick: Tick) -> None:
        self._publish(self._engine.on_tick(tick))

    def _publish(self, events: list[ExecEvent]) -> None:
        """Book the fills, cancel what they made stale, commit the books (when journaled), and
        only then emit the events."""
        if not events:
            return
        closed: set[str] = set()
        for event in events:
            if isinstance(event, Fill):
                self.ledger.apply(event)
                if self.ledger.position(event.symbol) is None:
                    closed.add(event.symbol)
        for symbol in closed:
            events.extend(self._cancel_stale_reduce_only(symbol))
        if self._journal is not None:
            self._journal.record(events, self._clock.now_ms())
        for event in events:
            self._events.put(event)

    def _cancel_stale_reduce_only(self, symbol: str) -> list[ExecEvent]:
        """Once a position is flat, its reduce-only orders (the other leg of a stop/target pair)
        can no longer reduce anything: cancel them, as real venues do."""
        now = self._clock.now_ms()
        cancelled: list[ExecEvent] = []
        for order in self._engine.open_orders():
            if order.symbol == symbol and order.reduce_only:
                cancelled.extend(self._engine.cancel(order.client_order_id, now))
        return cancelled


class SimVenue:
    """The embedded simulated venue: `data`, `exec_client(account)`, `health`, `capabilities`.

    `start_prices` overrides the start level of synthetic indices (by symbol). `state_path` is
    the venue's own database: accounts are restored from it (working orders re-armed with their
    client order ids) and every change is committed to it before it is reported; without it the
    accounts live in memory only. `starting_balance` applies to an account with no stored books.
    ConfigError for an unknown symbol or account; DataError for a broken replay file;
    StorageError when the database cannot be opened or written.
    """

    def __init__(
        self,
        name: str,
        config: SimVenueConfig,
        clock: Clock,
        *,
        start_prices: Mapping[str, float] | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.capabilities = sim_capabilities()
        self.health = VenueHealth(venue=name)
        self._clock = clock
        self.started_ms = clock.now_ms()
        feeds = self._build_feeds(start_prices)
        self.market = SimMarket(name, feeds, clock, start_ms=self.started_ms, health=self.health)
        self.data = SimDataClient(name, self.market, clock, self.health)
        self._accounts: dict[str, SimExecClient] = {}
        self.store = SimVenueStore(state_path) if state_path is not None else None

    def _build_feeds(self, start_prices: Mapping[str, float] | None) -> dict[str, Feed]:
        cfg, name = self.config, self.name
        history_ms = int(cfg.history_minutes * 60_000)
        feeds: dict[str, Feed] = {}
        specs = (
            resolve_symbols(name, cfg.symbols, start_prices=start_prices) if cfg.synthetic else []
        )
        for spec in specs:
            feeds[spec.symbol] = synthetic_feed(
                name,
                spec,
                seed=cfg.seed,
                anchor_ms=self.started_ms,
                history_ms=history_ms,
                speed=cfg.speed,
            )
        for i, source in enumerate(cfg.replay):
            if source.symbol in feeds:
                raise ConfigError(
                    f"venues.{name}.replay[{i}].symbol: '{source.symbol}' is already offered"
                )
            feeds[source.symbol] = replay_feed(
                name, source, anchor_ms=self.started_ms, history_ms=history_ms
            )
        return feeds

    def exec_client(self, account: str) -> SimExecClient:
        """The client of one sim account (the same object on every call)."""
        client = self._accounts.get(account)
        if client is not None:
            return client
        if account not in self.config.accounts:
            known = ", ".join(self.config.accounts)
            raise ConfigError(
                f"venues.{self.name}.accounts: no sim account '{account}' (known: {known})"
            )
        seed = symbol_seed(self.config.seed, f"account:{account}") % (2**63)
        lot_steps = {i.symbol: i.lot_step for i in self.market.instruments()}
        sizes = {i.symbol: i.contract_size for i in self.market.instruments()}
        engine: MatchingEngine
        journal: AccountJournal | None = None
        if self.store is None:
            engine = MatchingEngine(
                self.config.fill_model, seed=seed, lot_steps=lot_steps, contract_sizes=sizes
            )
            ledger = Ledger("USD", self.config.starting_balance)
        else:
            engine = DurableMatchingEngine(
                self.config.fill_model, seed=seed, lot_steps=lot_steps, contract_sizes=sizes
            )
            ledger, journal = open_account(
                self.store,
                account,
                engine,
                currency="USD",
                starting_balance=self.config.starting_balance,
                ts_ms=self._clock.now_ms(),
            )
        client = SimExecClient(
            self.name, account, self.market, self._clock, engine, ledger, journal
        )
        self._accounts[account] = client
        return client

    async def close(self) -> None:
        """Close every client, stop the market and close the venue's database."""
        await self.data.close()
        for client in self._accounts.values():
            await client.close()
        await self.market.stop()
        if self.store is not None:
            self.store.close()
