"""The order router: sends entry, exit and protective orders to the wallet's executor and books
everything that comes back (acknowledgements, cancels, rejects, fills, funding).

Every order is stored NEW (with its EntryPlan, for entries) before it is sent. A fill is booked
in ONE commit on the wallet's database: the fill row (stored once: a replay changes nothing),
the order's new state with its lifecycle event, and the position, trade and wallet rows the
Portfolio writes. Only then are ORDER, FILL, POSITION, WALLET and TRADE_CLOSED published, in
that order.

Protection: once a position exists, its stop loss and take profit rest at the venue as
reduce-only orders (a stop-market and a limit), one cancelling the other: when either fills and
the position is flat the other is cancelled; when the position's size or stop changes they are
replaced (a stop is only ever replaced by a tighter one). A position closed for any other reason
(time stop, manual close, flatten) first cancels them. Exits are reduce-only market orders, at
most one working per position. Exits, protective orders and flatten never pass the risk gate:
they only reduce.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from tradeterm.clock import Clock
from tradeterm.config.models import ExecutionConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, OrderType
from tradeterm.domain.events import Alert, RiskDecision
from tradeterm.domain.funding import funding_payment
from tradeterm.domain.ids import client_order_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderEvent, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.domain.slippage import SlippageSample, slippage_bps
from tradeterm.errors import InvalidTransition, VenueError
from tradeterm.execution.executors import (
    Executor,
    ExecutorEvent,
    FundingCharge,
    LiveExecutor,
    RestsLimits,
)
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.execution.monitor import ExitCall, PositionMonitor
from tradeterm.portfolio.book import Portfolio
from tradeterm.storage import slippage as slip_db
from tradeterm.venues.base import OrderUpdate

log = logging.getLogger(__name__)

Publish = Callable[[str, object], Awaitable[None]]

_CANCEL_ANSWERS = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FILLED)


def entry_order(
    decision: RiskDecision,
    config: ExecutionConfig,
    instrument: Instrument | None,
    *,
    now_ms: int,
    max_hold_ms: int,
) -> tuple[Order, EntryPlan]:
    """The entry order of an approved decision (market, or limit `limit_offset_bps` inside the
    signal price) and the plan its position will inherit. The quantity is floored to lots."""
    intent, signal = decision.intent, decision.intent.signal
    coid = client_order_id(intent.id, intent.wallet_id, OrderPurpose.ENTRY.value)
    qty = instrument.floor_qty(decision.qty) if instrument is not None else decision.qty
    price = None
    order_type = OrderType.MARKET
    if config.entry_order == "limit":
        order_type = OrderType.LIMIT
        price = signal.entry * (1.0 - signal.side.sign * config.limit_offset_bps / 10_000.0)
        price = instrument.round_price(price) if instrument is not None else price
    costs = decision.costs
    ideal = costs.mark if costs is not None else signal.entry
    plan = EntryPlan(
        stop_loss=signal.stop_loss,
        take_profit=signal.take_profit,
        strategy=signal.strategy,
        arm=intent.arm,
        signal_id=signal.id,
        timeframe=signal.timeframe,
        explore=intent.explore,
        atr=signal.atr,
        max_hold_ms=max_hold_ms,
        decision_id=decision.id,
        risk_per_unit=decision.risk_amount / decision.qty if decision.qty > 0 else 0.0,
        ideal_entry=ideal,
    )
    order = Order(
        client_order_id=coid,
        wallet_id=intent.wallet_id,
        venue=signal.venue,
        symbol=signal.symbol,
        side=signal.side,
        order_type=order_type,
        qty=qty,
        created_ms=now_ms,
        price=price,
        purpose=OrderPurpose.ENTRY,
        signal_id=signal.id,
        updated_ms=now_ms,
        ref_price=price if price is not None else ideal,
    )
    return order, plan


PROTECTIVE = (OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT)
"""The purposes of the orders that rest at the venue to protect a position."""

Slot = tuple[str, str]


class OrderRouter:
    """Orders out to executors, events back into the ledger and the Portfolio."""

    def __init__(
        self,
        clock: Clock,
        ledger: OrderLedger,
        portfolio: Portfolio,
        executors: Mapping[str, Executor],
        monitor: PositionMonitor,
        publish: Publish,
        *,
        resting_stops: bool = True,
    ) -> None:
        self._clock = clock
        self.ledger = ledger
        self._portfolio = portfolio
        self._executors = executors
        self._monitor = monitor
        self._publish = publish
        self.resting_stops = resting_stops
        self.exits: dict[Slot, str] = {}
        """Working exit order per (wallet, market): never a second exit while one works."""
        self.protection: dict[Slot, dict[OrderPurpose, str]] = {}
        """Resting stop-loss and take-profit orders per (wallet, market)."""
        self.closes: dict[str, float] = {}
        """Net PnL of trades closed by flatten orders, by client order id (for the report)."""

    async def publish(self, topic: str, message: object) -> None:
        await self._publish(topic, message)

    async def alert(self, level: str, text: str, topic: str = topics.ORDER) -> None:
        """Tell the operator (`topic`: what the alert is about)."""
        log.log(logging.ERROR if level == "error" else logging.WARNING, "%s", text)
        await self._publish(topics.ALERT, Alert(level, text, self._clock.now_ms(), topic))

    # ---- orders out ------------------------------------------------------------------------
    async def enter(self, order: Order, plan: EntryPlan) -> Order | None:
        """Store and send an entry order (refused at once if its size floored to zero)."""
        self.ledger.create(order, plan)
        await self._publish(topics.ORDER, order)
        if order.qty <= 0:
            await self.refuse(order, "size rounds to zero lots")
        else:
            await self.send(order)
        return self.ledger.get(order.client_order_id, order.wallet_id)

    async def exit(self, position: Position, call: ExitCall) -> Order | None:
        """Close a position with a reduce-only market order (its resting stop and target are
        cancelled first); None if an exit already works or the position closed meanwhile."""
        slot = (position.wallet_id, position.key)
        if slot in self.exits:
            return None
        self.exits[slot] = ""  # claimed: no second exit while the protection is cancelled
        try:
            await self.unprotect(slot, f"closing: {call.tag}")
            current = self._portfolio.position(*slot)
            if current is None:
                return None
            order = self._exit_order(current, call)
            self.ledger.create(order, None, note=call.reason)
            self.exits[slot] = order.client_order_id
        finally:
            if self.exits.get(slot) == "":
                del self.exits[slot]
        await self._publish(topics.ORDER, order)
        await self.send(order)
        return self.ledger.get(order.client_order_id, order.wallet_id)

    def _exit_order(self, position: Position, call: ExitCall) -> Order:
        now = self._clock.now_ms()
        return Order(
            client_order_id=self._derived_id(position, call.tag, call.purpose),
            wallet_id=position.wallet_id,
            venue=position.venue,
            symbol=position.symbol,
            side=position.side.opposite,
            order_type=OrderType.MARKET,
            qty=position.qty,
            created_ms=now,
            reduce_only=True,
            purpose=call.purpose,
            signal_id=position.signal_id,
            reason=call.tag,
            updated_ms=now,
            ref_price=self._portfolio.mark(position.key) or position.entry_price,
        )

    def _derived_id(self, position: Position, tag: str, purpose: OrderPurpose) -> str:
        """Derived from the position's signal and the order's kind; a later attempt (after a
        cancel, a reject or a replacement) takes the next number, so a restart can never double
        an order."""
        base = f"{position.signal_id or position.key}:{tag}"
        attempt = 0
        while True:
            coid = client_order_id(base, position.wallet_id, purpose.value, attempt)
            if self.ledger.get(coid, position.wallet_id) is None:
                return coid
            attempt += 1

    # ---- protection ------------------------------------------------------------------------
    def is_protected(self, slot: Slot) -> bool:
        """True when a stop-loss order rests at the venue for this position."""
        coid = self.protection.get(slot, {}).get(OrderPurpose.STOP_LOSS)
        return coid is not None and self._working(coid, slot[0]) is not None

    def _working(self, coid: str, wallet_id: str) -> Order | None:
        order = self.ledger.get(coid, wallet_id)
        return order if order is not None and not order.status.is_terminal else None

    def _can_rest(self, wallet_id: str) -> bool:
        executor = self._executors.get(wallet_id)
        return self.resting_stops and executor is not None and executor.supports_resting_stops

    async def protect(self, wallet_id: str, key: str) -> None:
        """Make the resting stop and target match the position: placed if missing, replaced
        when its size or level changed, cancelled when the position is gone."""
        slot = (wallet_id, key)
        position = self._portfolio.position(wallet_id, key)
        if position is None:
            await self.unprotect(slot, "position closed")
            return
        if slot in self.exits:
            return
        await self._rest_on_contract(wallet_id, position)
        if not self._can_rest(wallet_id):
            return
        levels = {
            OrderPurpose.STOP_LOSS: position.stop_loss,
            OrderPurpose.TAKE_PROFIT: position.take_profit,
        }
        for purpose in PROTECTIVE:
            level = levels[purpose]
            if level <= 0.0:
                continue
            resting = self._resting(slot, purpose)
            if resting is not None and _matches(resting, position, level):
                continue
            if resting is not None and self._replaces(resting):
                await self._replace_stop(position, resting, level)
                continue
            if resting is not None and await self.cancel(resting, "replaced") is not None:
                continue
            if self._portfolio.position(wallet_id, key) is None:
                return  # the other leg filled while this one was being replaced
            await self._place_protective(position, purpose, level)

    async def _rest_on_contract(self, wallet_id: str, position: Position) -> None:
        """Venues that hold the stop and target on the position itself (Deriv contracts) get
        the position's levels whenever they change (a failure is logged; the monitor remains)."""
        executor = self._executors.get(wallet_id)
        client = executor.client if isinstance(executor, LiveExecutor) else None
        if not self.resting_stops or not isinstance(client, RestsLimits):
            return
        try:
            await client.rest_limits(position)
        except VenueError as exc:
            log.warning("%s: stop/target not updated on %s: %s", wallet_id, position.key, exc)

    def _resting(self, slot: Slot, purpose: OrderPurpose) -> Order | None:
        coid = self.protection.get(slot, {}).get(purpose)
        return self._working(coid, slot[0]) if coid is not None else None

    def _replaces(self, resting: Order) -> bool:
        """Whether a resting stop loss is replaced by the venue client itself (new one first,
        then the old one cancelled; tighter only) rather than cancelled and placed again."""
        executor = self._executors.get(resting.wallet_id)
        return (
            resting.purpose is OrderPurpose.STOP_LOSS
            and resting.order_type is OrderType.STOP
            and bool(getattr(executor, "replaces_stops", False))
        )

    async def _replace_stop(self, position: Position, resting: Order, level: float) -> None:
        """Replace a resting stop through the venue client: the position keeps a stop at all
        times, and the adapter refuses a wider level (alerted as a rejection; the old stop
        stays)."""
        slot = (position.wallet_id, position.key)
        executor = self._executors[position.wallet_id]
        order = self._protective_order(position, OrderPurpose.STOP_LOSS, level)
        note = f"replaces {resting.client_order_id}: protects {position.key} at {level:g}"
        self.ledger.create(order, None, note=note)
        await self._publish(topics.ORDER, order)
        events = await executor.replace_stop(resting.client_order_id, order)  # type: ignore[attr-defined]
        placed = events[0] if events and isinstance(events[0], OrderUpdate) else None
        if placed is not None and not placed.status.is_terminal:
            self.protection.setdefault(slot, {})[OrderPurpose.STOP_LOSS] = order.client_order_id
        await self.book(position.wallet_id, events)

    def _protective_order(self, position: Position, purpose: OrderPurpose, level: float) -> Order:
        now = self._clock.now_ms()
        stop = purpose is OrderPurpose.STOP_LOSS
        trailed = stop and position.initial_stop > 0 and position.stop_loss != position.initial_stop
        tag = "trailing_stop" if trailed else purpose.value
        return Order(
            client_order_id=self._derived_id(position, tag, purpose),
            wallet_id=position.wallet_id,
            venue=position.venue,
            symbol=position.symbol,
            side=position.side.opposite,
            order_type=OrderType.STOP if stop else OrderType.LIMIT,
            qty=position.qty,
            created_ms=now,
            price=None if stop else level,
            stop_price=level if stop else None,
            reduce_only=True,
            purpose=purpose,
            signal_id=position.signal_id,
            reason=tag,
            updated_ms=now,
            ref_price=level,
        )

    async def _place_protective(
        self, position: Position, purpose: OrderPurpose, level: float
    ) -> None:
        order = self._protective_order(position, purpose, level)
        self.ledger.create(order, None, note=f"protects {position.key} at {level:g}")
        self.protection.setdefault((position.wallet_id, position.key), {})[purpose] = (
            order.client_order_id
        )
        await self._publish(topics.ORDER, order)
        await self.send(order)

    async def unprotect(self, slot: Slot, reason: str) -> None:
        """Cancel the resting stop and target of a position (before closing it otherwise, or
        once it is flat: the other leg of a filled one)."""
        held = self.protection.pop(slot, {})
        for coid in held.values():
            order = self._working(coid, slot[0])
            if order is None:
                continue
            why = await self.cancel(order, reason)
            if why is not None:
                log.warning("%s: %s", slot[0], why)

    async def send(self, order: Order) -> None:
        executor = self._executors.get(order.wallet_id)
        if executor is None:
            await self.refuse(order, f"no executor for wallet {order.wallet_id}")
            return
        unsupported = unsupported_type(executor, order)
        if unsupported:
            await self.refuse(order, unsupported)
            return
        try:
            events = await executor.submit(order)
        except VenueError as exc:
            now = self._clock.now_ms()
            events = [
                OrderUpdate(order.client_order_id, OrderStatus.REJECTED, now, reason=str(exc))
            ]
        await self.book(order.wallet_id, events)

    async def refuse(self, order: Order, reason: str) -> None:
        moved = self.ledger.move(order, OrderEvent.REJECT, reason)
        if moved is not None:
            await self._changed(moved)

    async def cancel(self, order: Order, reason: str) -> str | None:
        """Cancel a working order; None when it is done, else why not."""
        executor = self._executors.get(order.wallet_id)
        if order.status is OrderStatus.NEW or executor is None:
            moved = self.ledger.move(order, OrderEvent.CANCEL, reason)
            if moved is not None:
                await self._changed(moved)
            return None
        try:
            answers = await executor.cancel(order.client_order_id)
        except VenueError as exc:
            return f"cancel {order.client_order_id} failed: {exc}"
        await self.book(
            order.wallet_id,
            [e for e in answers if not isinstance(e, OrderUpdate) or e.status in _CANCEL_ANSWERS],
        )
        current = self.ledger.get(order.client_order_id, order.wallet_id)
        if current is not None and current.status.is_terminal:
            return None
        why = next((e.reason for e in answers if isinstance(e, OrderUpdate) and e.reason), "")
        return f"cancel {order.client_order_id} refused: {why or 'no answer'}"

    async def forget(self, order: Order, reason: str) -> None:
        """Cancel an order in our books only: one no venue holds (a paper order from before a
        restart, whose matching model died with the process and was never re-armed)."""
        moved = self.ledger.move(order, OrderEvent.CANCEL, reason)
        if moved is not None:
            await self._changed(moved)

    def is_working(self, order: Order) -> bool:
        current = self.ledger.get(order.client_order_id, order.wallet_id)
        return current is not None and not current.status.is_terminal

    # ---- events back -----------------------------------------------------------------------
    async def book(self, wallet_id: str, events: Sequence[ExecutorEvent]) -> None:
        """Book what an executor reported: order updates, fills, funding."""
        for event in events:
            if isinstance(event, Fill):
                await self._on_fill(event)
            elif isinstance(event, FundingCharge):
                await self._on_funding(event)
            else:
                await self._on_update(wallet_id, event)

    async def _on_update(self, wallet_id: str, update: OrderUpdate) -> None:
        order = self.ledger.get(update.client_order_id, wallet_id)
        if order is None:
            log.warning("%s: update for unknown order %s", wallet_id, update.client_order_id)
            return
        moved = self.ledger.apply_update(order, update)
        if moved is not None:
            await self._changed(moved)
            if moved.purpose in PROTECTIVE and moved.status.is_terminal:
                await self._protection_lost(moved)

    async def _protection_lost(self, order: Order) -> None:
        """A resting stop or target expired at the venue while its position is still open: put
        it back (a rejection is alerted and leaves the monitor as the line)."""
        slot = (order.wallet_id, order.key)
        if order.status is not OrderStatus.EXPIRED or slot in self.exits:
            return
        if self._portfolio.position(*slot) is not None:
            await self.protect(*slot)

    async def _changed(self, order: Order) -> None:
        await self._publish(topics.ORDER, order)
        if order.status is OrderStatus.REJECTED:
            what = f"{order.purpose.value} {order.side.value} {order.qty:g} {order.key}"
            await self.alert(
                "warning", f"order {order.client_order_id} ({what}) rejected: {order.reason}"
            )
        if order.status.is_terminal:
            self._release(order)

    def _release(self, order: Order) -> None:
        slot = (order.wallet_id, order.key)
        if self.exits.get(slot) == order.client_order_id:
            del self.exits[slot]
        held = self.protection.get(slot)
        if held is not None and held.get(order.purpose) == order.client_order_id:
            del held[order.purpose]
            if not held:
                del self.protection[slot]

    async def _on_fill(self, fill: Fill) -> None:
        wid = fill.wallet_id
        order = self.ledger.get(fill.client_order_id, wid)
        if order is None:
            await self.alert(
                "warning",
                f"fill {fill.fill_id} for unknown order {fill.client_order_id}",
                topics.FILL,
            )
            return
        entry = order.purpose is OrderPurpose.ENTRY
        plan = self.ledger.plan(order.client_order_id, wid) if entry else None
        store = self.ledger.store(wid)
        try:
            with store.atomic():
                if not store.save_fill(fill):
                    return
                filled = self.ledger.fill(order, fill)
                slip_db.save_sample(store, self._slippage(order, fill, plan))
                outcome = self._portfolio.apply_fill(fill, filled, plan)
        except InvalidTransition as exc:
            await self.alert("error", f"fill {fill.fill_id} not booked: {exc}", topics.FILL)
            return
        await self._publish(topics.ORDER, filled)
        await self._publish(topics.FILL, fill)
        await self._publish(topics.POSITION, outcome.update)
        await self._publish(topics.WALLET, outcome.snapshot)
        if outcome.closed is not None:
            await self._publish(topics.TRADE_CLOSED, outcome.closed)
            self._monitor.forget(wid, filled.key)
            if filled.purpose is OrderPurpose.FLATTEN:
                self.closes[filled.client_order_id] = outcome.closed.pnl
        if filled.status.is_terminal:
            self._release(filled)
        await self.protect(wid, filled.key)

    def _slippage(self, order: Order, fill: Fill, plan: EntryPlan | None) -> SlippageSample:
        """The fill's slippage against the price its decision was made at (the order's ideal
        price: the gate's mid for an entry, the mark at an exit or flatten decision, a stop's
        level), with the half spread quoted now and the bar's ATR of the position's entry."""
        ref = order.ref_price if order.ref_price > 0 else fill.price
        sign = fill.side.sign
        quote = self._portfolio.quote(order.key)
        half = 0.0
        if quote is not None and quote.ask > quote.bid > 0.0 and ref > 0:
            half = (quote.ask - quote.bid) / 2.0 / ref * 10_000.0
        if plan is not None:
            atr = plan.atr
        else:
            atr = slip_db.entry_atr(
                self.ledger.store(fill.wallet_id), fill.wallet_id, order.signal_id
            )
        cs = self._portfolio.contract_size(order.key)
        return SlippageSample(
            fill_id=fill.fill_id,
            client_order_id=fill.client_order_id,
            wallet_id=fill.wallet_id,
            venue=fill.venue,
            symbol=fill.symbol,
            side=sign,
            purpose=order.purpose.value,
            liquidity=fill.liquidity.value,
            qty=fill.qty,
            notional=fill.qty * fill.price * cs,
            ref_price=ref,
            fill_price=fill.price,
            bps=slippage_bps(sign, ref, fill.price),
            half_spread_bps=half,
            atr=atr,
            vol_bps=atr / ref * 10_000.0 if ref > 0 else 0.0,
            ts_ms=fill.ts_ms,
        )

    async def _on_funding(self, charge: FundingCharge) -> None:
        """Longs pay rate x notional, shorts receive it (the reverse for a negative rate)."""
        position = self._portfolio.position(charge.wallet_id, charge.key)
        if position is None:
            return
        paid = funding_payment(
            charge.rate, position.qty, charge.price, position.contract_size, position.side.sign
        )
        booked = self._portfolio.apply_funding(charge.wallet_id, charge.key, paid, charge.ts_ms)
        if booked is not None:
            await self._publish(topics.POSITION, booked[0])
            await self._publish(topics.WALLET, booked[1])


def unsupported_type(executor: Executor, order: Order) -> str:
    """Why `executor` cannot take `order`'s type ('' when it can, or does not say): the
    venue's capabilities are data (`order_types`)."""
    offered = getattr(executor, "order_types", None)
    if offered is None or order.order_type in offered:
        return ""
    venue = getattr(executor, "venue", "") or order.venue
    takes = ", ".join(sorted(t.value for t in offered))
    return (
        f"order type '{order.order_type.value}' is not supported by venue '{venue}'"
        f" for wallet {order.wallet_id} (it takes: {takes})"
    )


def _matches(order: Order, position: Position, level: float) -> bool:
    """Whether a resting protective order still fits the position: its whole size, its level."""
    size = abs(order.remaining_qty - position.qty) <= 1e-9 * max(1.0, position.qty)
    price = order.stop_price if order.order_type is OrderType.STOP else order.price
    return size and price is not None and abs(price - level) <= 1e-12 * max(1.0, abs(level))
