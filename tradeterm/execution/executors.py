"""Executors: where a wallet's orders go. Paper wallets fill on the sim matching model against
live prices; live wallets forward to a venue account.

Both speak one shape (`Executor`): `submit`, `cancel`, `on_tick`, `open_orders`, `resume` (re-arm a
working order after a restart) and `exit_cost_rate` (what a market exit costs, for the flatten
preview). They return what happened as a list of events the engine books: order updates, fills
and, for paper perpetuals, funding charges at the 8-hour boundaries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from tradeterm.aio import reap
from tradeterm.clock import Clock
from tradeterm.config.models import FillModelConfig
from tradeterm.domain.enums import ContractKind, OrderStatus, OrderType
from tradeterm.domain.funding import FUNDING_INTERVAL_MS, funding_slot
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, Fill, Order
from tradeterm.domain.positions import Position
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import (
    ExecClient,
    ExecEvent,
    OrderUpdate,
    VenueBalance,
    VenuePosition,
)
from tradeterm.venues.sim.matching import MatchingEngine

log = logging.getLogger(__name__)


DEFAULT_FUNDING_RATE = 0.0001
"""Funding rate per 8 hours when no source is given (0.01 %, the usual baseline)."""

MAX_MISSED_FUNDING = 90
"""At most this many missed funding boundaries (30 days) are charged after a restart."""


@dataclass(frozen=True, slots=True)
class FundingCharge:
    """A perpetual's funding boundary passed at `price`: longs pay `rate` x notional to shorts
    (a negative rate reverses it). The engine books it if the wallet holds that market."""

    wallet_id: str
    venue: str
    symbol: str
    rate: float
    price: float
    ts_ms: int

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


ExecutorEvent = OrderUpdate | Fill | FundingCharge
FundingRate = Callable[[str, int], float]
EventSink = Callable[[str, Sequence[ExecutorEvent]], Awaitable[None]]


class Executor(Protocol):
    """Where one wallet's orders are executed."""

    @property
    def wallet_id(self) -> str: ...

    @property
    def is_live(self) -> bool: ...

    async def submit(self, order: Order) -> list[ExecutorEvent]:
        """Send a NEW order; returns its acknowledgement and anything that filled at once."""
        ...

    async def cancel(self, client_order_id: str) -> list[ExecutorEvent]:
        """Cancel a working order. VenueError when the venue could not be asked."""
        ...

    def on_tick(self, tick: Tick) -> list[ExecutorEvent]:
        """Match working orders against a new price (paper); nothing for live venues."""
        ...

    def open_orders(self) -> list[Order]:
        """Orders this executor is working."""
        ...

    async def resume(self, order: Order, prior_fills: int) -> list[ExecutorEvent]:
        """Re-arm a working order loaded from the database after a restart (same client id)."""
        ...

    def exit_cost_rate(self) -> float:
        """Fee plus slippage of a market exit, as a fraction of notional."""
        ...

    @property
    def supports_resting_stops(self) -> bool:
        """Whether a position's stop and target can rest here as reduce-only orders."""
        ...


def _default_rate(_key: str, _ts_ms: int) -> float:
    return DEFAULT_FUNDING_RATE


PAPER_ORDER_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP})
"""What the paper matching model fills (no stop-limit or trailing orders)."""


@runtime_checkable
class StopReplacer(Protocol):
    """An ExecClient that replaces a resting stop loss itself, tighter only (new one placed
    first, then the old one cancelled): the crypto adapters."""

    async def replace_stop(
        self, old_client_order_id: str, order: Order
    ) -> tuple[OrderUpdate, OrderUpdate | None]: ...


class PaperExecutor:
    """A paper wallet's orders, filled by the sim matching model against live ticks.

    One MatchingEngine per venue (two venues may share a symbol name). Fill ids are numbered per
    order by this executor, continuing after the fills already stored, so a partly filled order
    re-armed after a restart never reuses a fill id. With `funding` on, every PERPETUAL market
    emits a FundingCharge when its price crosses an 8-hour boundary.
    """

    def __init__(
        self,
        wallet_id: str,
        model: FillModelConfig,
        clock: Clock,
        *,
        instruments: Mapping[str, Instrument] | None = None,
        seed: int = 0,
        funding: bool = True,
        funding_rate: FundingRate | None = None,
        funded_until: Callable[[str], int | None] | None = None,
        model_for: Callable[[str, str], FillModelConfig | None] | None = None,
    ) -> None:
        self._wallet_id = wallet_id
        self._model = model
        self._model_for = model_for
        """A market's own fill model (venue, symbol): fitted slippage, the venue's fee tier."""
        self._clock = clock
        self._instruments = dict(instruments or {})
        self._seed = seed
        self._funding_rate = funding_rate or _default_rate
        self._funded_until = funded_until
        self._perps = (
            {k for k, i in self._instruments.items() if i.kind is ContractKind.PERPETUAL}
            if funding
            else set()
        )
        self._engines: dict[str, MatchingEngine] = {}
        self._fill_counts: dict[str, int] = {}
        self._funding_slot: dict[str, int] = {}

    @property
    def wallet_id(self) -> str:
        return self._wallet_id

    @property
    def is_live(self) -> bool:
        return False

    @property
    def supports_resting_stops(self) -> bool:
        """Paper matching takes stop-market and limit orders."""
        return True

    @property
    def order_types(self) -> frozenset[OrderType]:
        """The order types paper matching takes (the router refuses others)."""
        return PAPER_ORDER_TYPES

    def _engine(self, venue: str) -> MatchingEngine:
        engine = self._engines.get(venue)
        if engine is None:
            mine = [i for i in self._instruments.values() if i.venue == venue]
            own = self._model_for

            def model_for(symbol: str) -> FillModelConfig | None:
                return own(venue, symbol) if own is not None else None

            engine = MatchingEngine(
                self._model,
                seed=self._seed,
                lot_steps={i.symbol: i.lot_step for i in mine},
                contract_sizes={i.symbol: i.contract_size for i in mine},
                model_for=model_for,
            )
            self._engines[venue] = engine
        return engine

    async def submit(self, order: Order) -> list[ExecutorEvent]:
        return self._numbered(self._engine(order.venue).submit(order, self._clock.now_ms()))

    async def cancel(self, client_order_id: str) -> list[ExecutorEvent]:
        now = self._clock.now_ms()
        for engine in self._engines.values():
            if engine.order(client_order_id) is not None:
                return self._numbered(engine.cancel(client_order_id, now))
        return [OrderUpdate(client_order_id, OrderStatus.REJECTED, now, reason="unknown order")]

    def on_tick(self, tick: Tick) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = self._numbered(self._engine(tick.venue).on_tick(tick))
        if self._perps and tick.key in self._perps:
            events.extend(self._funding(tick))
        return events

    def open_orders(self) -> list[Order]:
        return [o for engine in self._engines.values() for o in engine.open_orders()]

    async def resume(self, order: Order, prior_fills: int) -> list[ExecutorEvent]:
        """Submit what is left of a stored working order to this (fresh) matching model."""
        self._fill_counts[order.client_order_id] = prior_fills
        fresh = replace(
            order,
            status=OrderStatus.NEW,
            qty=order.remaining_qty,
            filled_qty=0.0,
            avg_fill_price=0.0,
            fees=0.0,
        )
        return await self.submit(fresh)

    def exit_cost_rate(self) -> float:
        return self._model.taker_fee_rate + self._model.slippage_bps / 10_000.0

    def last_tick(self, venue: str, symbol: str) -> Tick | None:
        engine = self._engines.get(venue)
        return engine.last_tick(symbol) if engine is not None else None

    def _numbered(self, events: list[ExecEvent]) -> list[ExecutorEvent]:
        out: list[ExecutorEvent] = []
        for event in events:
            if isinstance(event, Fill):
                count = self._fill_counts.get(event.client_order_id, 0) + 1
                self._fill_counts[event.client_order_id] = count
                out.append(replace(event, fill_id=f"{event.client_order_id}-{count}"))
            else:
                out.append(event)
        return out

    def _funding(self, tick: Tick) -> list[FundingCharge]:
        """Charges for the 8-hour boundaries this tick passed. On the first tick of a market
        after a start, every boundary since the position's last booked funding is charged too
        (at this tick's price: the prices at boundaries passed while the node was down are not
        known), so a restart never skips funding."""
        slot = funding_slot(tick.ts_ms)
        seen = self._funding_slot.get(tick.key)
        self._funding_slot[tick.key] = slot
        if seen is None:
            since = self._funded_until(tick.key) if self._funded_until is not None else None
            if since is None:
                return []
            seen = max(funding_slot(since), slot - MAX_MISSED_FUNDING)
        charges = []
        for boundary_slot in range(seen + 1, slot + 1):
            boundary = boundary_slot * FUNDING_INTERVAL_MS
            rate = self._funding_rate(tick.key, boundary)
            charges.append(
                FundingCharge(self._wallet_id, tick.venue, tick.symbol, rate, tick.price, boundary)
            )
        return charges


@runtime_checkable
class OrderQuery(Protocol):
    """Optional ExecClient extra: look one order up by client id (reconciliation)."""

    async def order_status(self, client_order_id: str) -> OrderUpdate | None: ...


@runtime_checkable
class RecoversOrders(Protocol):
    """Optional ExecClient extra, for venues without client order ids (Deriv): find the
    venue's record of an order sent just before the node died, never acknowledged, among what
    the account holds that no booked order claims (`claimed`: venue order ids)."""

    async def recover_order(self, order: Order, claimed: Set[str]) -> OrderUpdate | None: ...


@runtime_checkable
class TakesPlans(Protocol):
    """Optional ExecClient extra: a client that rests an entry's stop and target on the venue's
    own contract (Deriv's limit_order) reads them from the stored plans."""

    plans: Callable[[str], EntryPlan | None] | None


@runtime_checkable
class RestsLimits(Protocol):
    """Optional ExecClient extra: the venue holds a position's stop and target on the position
    itself (Deriv's contract limit_order), so moving them is an update, not resting orders."""

    async def rest_limits(self, position: Position) -> None: ...


@runtime_checkable
class InFlight(Protocol):
    """Optional ExecClient extra: orders sent whose outcome is not booked yet (client order id
    -> symbol). Reconciliation leaves them, their positions and the balance alone meanwhile: a
    contract the venue opened for an order whose fill is on its way is ours, not an orphan."""

    def in_flight(self) -> Mapping[str, str]: ...


@runtime_checkable
class OrderTracking(Protocol):
    """Optional ExecClient extra: follow an order placed elsewhere (an adopted orphan) so its
    fills and updates come out of `events()` like our own."""

    def track(self, order: Order) -> None: ...


class LiveExecutor:
    """A live wallet's orders on a venue account (an ExecClient).

    `submit` retries a TemporaryVenueError up to `max_retries` times with exponential backoff on
    the clock, always with the same client order id (the venue de-duplicates it); a
    PermanentVenueError, or retries exhausted, comes back as a REJECTED update with the reason.
    Fills and updates arrive on the client's event stream, consumed by a named background task
    started with `start(sink)`.
    """

    def __init__(
        self,
        wallet_id: str,
        client: ExecClient,
        clock: Clock,
        *,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        cost_rate: float = 0.0006,
        fee_rate: float = 0.0005,
    ) -> None:
        self._wallet_id = wallet_id
        self.fee_rate = fee_rate
        """The venue's taker fee rate (for fills reported without their fee)."""
        self.client = client
        self._clock = clock
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._cost_rate = cost_rate
        self._working: dict[str, Order] = {}
        self._outside: set[str] = set()
        """Client ids of orders sent outside the books (closing an orphan position the wallet
        never held): their events are not booked."""
        self._task: asyncio.Task[None] | None = None

    @property
    def wallet_id(self) -> str:
        return self._wallet_id

    @property
    def is_live(self) -> bool:
        return True

    @property
    def supports_resting_stops(self) -> bool:
        """The venue rests reduce-only stop-market and limit orders (its capabilities say)."""
        caps = self.client.capabilities
        wanted = {OrderType.STOP, OrderType.LIMIT}
        return caps.native_stops and caps.reduce_only and wanted <= caps.order_types

    @property
    def venue(self) -> str:
        return self.client.name

    @property
    def order_types(self) -> frozenset[OrderType]:
        """The order types the venue takes (its capabilities; the router refuses others)."""
        return self.client.capabilities.order_types

    @property
    def replaces_stops(self) -> bool:
        """The venue client replaces a resting stop itself, tighter only (StopReplacer)."""
        return isinstance(self.client, StopReplacer)

    async def replace_stop(self, old_client_order_id: str, order: Order) -> list[ExecutorEvent]:
        """Replace a resting stop loss with a tighter (or equal) one: the venue client places
        the new one first and then cancels the old one; a wider one is refused there. Returns
        the new order's acknowledgement (or refusal) and the old one's cancel answer."""
        if not isinstance(self.client, StopReplacer):
            return [self._refused(order, f"{self.venue} cannot replace a stop")]
        try:
            placed, old = await self.client.replace_stop(old_client_order_id, order)
        except (TemporaryVenueError, PermanentVenueError) as exc:
            return [self._refused(order, f"stop replacement failed: {exc}")]
        events: list[ExecutorEvent] = [placed]
        if not placed.status.is_terminal:
            self._working[order.client_order_id] = order
        if old is not None:
            if old.status.is_terminal:
                self._working.pop(old_client_order_id, None)
            events.append(old)
        return events

    async def submit(self, order: Order) -> list[ExecutorEvent]:
        last = ""
        for attempt in range(self._max_retries + 1):
            try:
                ack = await self.client.submit(order)
            except TemporaryVenueError as exc:
                last = str(exc)
                log.warning("%s: submit %s failed (%s)", self.venue, order.client_order_id, exc)
                if attempt < self._max_retries:
                    await self._clock.sleep(self._backoff_s * 2**attempt)
                continue
            except PermanentVenueError as exc:
                return [self._refused(order, f"venue refused: {exc}")]
            if not ack.status.is_terminal:
                self._working[order.client_order_id] = order
            return [ack]
        tries = self._max_retries + 1
        return [self._refused(order, f"venue unreachable after {tries} tries: {last}")]

    def _refused(self, order: Order, reason: str) -> OrderUpdate:
        return OrderUpdate(
            order.client_order_id, OrderStatus.REJECTED, self._clock.now_ms(), reason=reason
        )

    async def cancel(self, client_order_id: str) -> list[ExecutorEvent]:
        for attempt in range(self._max_retries + 1):
            try:
                return [await self.client.cancel(client_order_id)]
            except TemporaryVenueError:
                if attempt >= self._max_retries:
                    raise
                await self._clock.sleep(self._backoff_s * 2**attempt)
        return []

    def on_tick(self, tick: Tick) -> list[ExecutorEvent]:
        return []

    @property
    def can_track(self) -> bool:
        """Whether the venue client can follow an order placed elsewhere (order adoption)."""
        return isinstance(self.client, OrderTracking)

    def adopt(self, order: Order) -> None:
        """Follow an orphan order taken into the ledger as ours (reconcile adopt)."""
        if not isinstance(self.client, OrderTracking):
            raise PermanentVenueError(
                f"{self.venue}: cannot follow an order placed elsewhere", venue=self.venue
            )
        self.client.track(order)
        self._working[order.client_order_id] = order

    async def submit_outside_books(self, order: Order) -> list[ExecutorEvent]:
        """Send a reduce-only order for something the books do not hold (closing an orphan
        position at the venue): same retries as `submit`, its events are not booked."""
        if not order.reduce_only:
            raise ValueError("only reduce-only orders may be sent outside the books")
        self._outside.add(order.client_order_id)
        return await self.submit(order)

    def open_orders(self) -> list[Order]:
        return list(self._working.values())

    async def resume(self, order: Order, prior_fills: int) -> list[ExecutorEvent]:
        """A NEW order may never have reached the venue: send it (the venue de-duplicates the
        client id). Submitted ones stay with the venue; reconciliation checks them."""
        if order.status is OrderStatus.NEW:
            return await self.submit(order)
        self._working[order.client_order_id] = order
        return []

    def exit_cost_rate(self) -> float:
        return self._cost_rate

    # ---- the venue's view (reconciliation) --------------------------------------------------
    async def venue_open_orders(self) -> list[Order]:
        return await self.client.open_orders()

    async def venue_positions(self) -> list[VenuePosition]:
        return await self.client.positions()

    async def venue_balance(self) -> VenueBalance:
        return await self.client.balance()

    def in_flight(self) -> Mapping[str, str]:
        """Orders on their way at the venue (client order id -> symbol), when the client says."""
        if isinstance(self.client, InFlight):
            return self.client.in_flight()
        return {}

    async def query(self, client_order_id: str) -> OrderUpdate | None:
        """The venue's state of one order, when the client can look orders up."""
        if isinstance(self.client, OrderQuery):
            return await self.client.order_status(client_order_id)
        return None

    async def recover(self, order: Order, claimed: Set[str]) -> OrderUpdate | None:
        """The venue's record of an order it cannot look up by client id (RecoversOrders)."""
        if isinstance(self.client, RecoversOrders):
            return await self.client.recover_order(order, claimed)
        return None

    # ---- the event stream ------------------------------------------------------------------
    def start(self, sink: EventSink) -> None:
        """Consume the venue's event stream in a named task, handing each event to `sink`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._pump(sink), name=f"execution:live-events:{self._wallet_id}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await reap(task, errors=False)

    async def _pump(self, sink: EventSink) -> None:
        async for event in self.client.events():
            if getattr(event, "client_order_id", "") in self._outside:
                log.info("%s: %r (outside the books) not booked", self._wallet_id, event)
                continue
            routed: ExecutorEvent = event
            if isinstance(event, Fill) and event.wallet_id != self._wallet_id:
                routed = replace(event, wallet_id=self._wallet_id)
            elif isinstance(event, OrderUpdate) and event.status.is_terminal:
                self._working.pop(event.client_order_id, None)
            try:
                await sink(self._wallet_id, (routed,))
            except Exception:
                log.exception("%s: event %r could not be booked", self._wallet_id, event)
