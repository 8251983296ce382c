"""The order router: sends entry and exit orders to the wallet's executor and books everything
that comes back (acknowledgements, cancels, rejects, fills, funding).

Every order is stored NEW (with its EntryPlan, for entries) before it is sent. A fill is booked
in ONE commit on the wallet's database: the fill row (stored once: a replay changes nothing),
the order's new state with its lifecycle event, and the position, trade and wallet rows the
Portfolio writes. Only then are ORDER, FILL, POSITION, WALLET and TRADE_CLOSED published, in
that order. Exits are reduce-only market orders, at most one working per position.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from tradeterm.clock import Clock
from tradeterm.config.models import ExecutionConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, OrderType
from tradeterm.domain.events import Alert, RiskDecision
from tradeterm.domain.ids import client_order_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderEvent, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.errors import InvalidTransition, VenueError
from tradeterm.execution.executors import Executor, ExecutorEvent, FundingCharge
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.execution.monitor import ExitCall, PositionMonitor
from tradeterm.portfolio.book import Portfolio
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
    )
    return order, plan


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
    ) -> None:
        self._clock = clock
        self.ledger = ledger
        self._portfolio = portfolio
        self._executors = executors
        self._monitor = monitor
        self._publish = publish
        self.exits: dict[tuple[str, str], str] = {}
        """Working exit order per (wallet, market): never a second exit while one works."""
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
        """Close a position with a reduce-only market order; None if an exit already works."""
        slot = (position.wallet_id, position.key)
        if slot in self.exits:
            return None
        now = self._clock.now_ms()
        order = Order(
            client_order_id=self._exit_id(position, call),
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
        )
        self.ledger.create(order, None, note=call.reason)
        self.exits[slot] = order.client_order_id
        await self._publish(topics.ORDER, order)
        await self.send(order)
        return self.ledger.get(order.client_order_id, order.wallet_id)

    def _exit_id(self, position: Position, call: ExitCall) -> str:
        """Derived from the position's signal and the exit kind; a later attempt (after a
        cancel or reject) takes the next number, so a restart can never double an exit."""
        base = f"{position.signal_id or position.key}:{call.tag}"
        attempt = 0
        while True:
            coid = client_order_id(base, position.wallet_id, call.purpose.value, attempt)
            if self.ledger.get(coid, position.wallet_id) is None:
                return coid
            attempt += 1

    async def send(self, order: Order) -> None:
        executor = self._executors.get(order.wallet_id)
        if executor is None:
            await self.refuse(order, f"no executor for wallet {order.wallet_id}")
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

    async def _on_funding(self, charge: FundingCharge) -> None:
        """Longs pay rate x notional, shorts receive it (the reverse for a negative rate)."""
        position = self._portfolio.position(charge.wallet_id, charge.key)
        if position is None:
            return
        notional = position.qty * charge.price * position.contract_size
        paid = charge.rate * notional * position.side.sign
        booked = self._portfolio.apply_funding(charge.wallet_id, charge.key, paid, charge.ts_ms)
        if booked is not None:
            await self._publish(topics.POSITION, booked[0])
            await self._publish(topics.WALLET, booked[1])
