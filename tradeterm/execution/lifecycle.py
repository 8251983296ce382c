"""The order book of record: every order tradeterm placed, moved only by the lifecycle table.

Working orders are held in memory; every order and every move is in the wallet's database
(paper.db or live.db). Each move is stored as the order row plus an `order_events` row (source,
event, target, reason) before anyone hears of it. Illegal moves are not errors here: a venue
repeating itself (a second acknowledgement, a cancel after the fill) simply changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import replace

from tradeterm.clock import Clock
from tradeterm.domain.enums import OrderStatus
from tradeterm.domain.orders import ORDER_FSM, EntryPlan, Fill, Order, OrderEvent, OrderPurpose
from tradeterm.portfolio.positions import plan_from_dict
from tradeterm.storage.db import Storage
from tradeterm.storage.router import Stores
from tradeterm.venues.base import OrderUpdate

_UPDATE_EVENTS: dict[OrderStatus, OrderEvent] = {
    OrderStatus.CANCELLED: OrderEvent.CANCEL,
    OrderStatus.REJECTED: OrderEvent.REJECT,
    OrderStatus.EXPIRED: OrderEvent.EXPIRE,
}


class OrderLedger:
    """Orders by client id: working ones in memory, all of them in storage."""

    def __init__(self, stores: Stores, clock: Clock) -> None:
        self._stores = stores
        self._clock = clock
        self._working: dict[str, Order] = {}
        self._plans: dict[str, EntryPlan] = {}

    def store(self, wallet_id: str) -> Storage:
        return self._stores.for_wallet(wallet_id)

    # ---- queries ---------------------------------------------------------------------------
    def get(self, client_order_id: str, wallet_id: str) -> Order | None:
        """An order in its latest state: working ones from memory, others from storage."""
        order = self._working.get(client_order_id)
        if order is not None:
            return order
        return self.store(wallet_id).load_order(client_order_id)

    def plan(self, client_order_id: str, wallet_id: str) -> EntryPlan | None:
        """The entry plan stored with an order (None for exits)."""
        plan = self._plans.get(client_order_id)
        if plan is not None:
            return plan
        data = self.store(wallet_id).order_plan(client_order_id)
        return plan_from_dict(data) if data else None

    def working(
        self, wallet_id: str | None = None, *, purpose: OrderPurpose | None = None
    ) -> list[Order]:
        """Orders not yet finished (new, submitted, partly filled), oldest first."""
        return [
            o
            for o in self._working.values()
            if (wallet_id is None or o.wallet_id == wallet_id)
            and (purpose is None or o.purpose is purpose)
        ]

    def __iter__(self) -> Iterator[Order]:
        return iter(list(self._working.values()))

    # ---- moves -----------------------------------------------------------------------------
    def create(self, order: Order, plan: EntryPlan | None, note: str = "") -> Order:
        """Store a NEW order (with its plan, and `note` on its creation event) before it is
        sent anywhere."""
        store = self.store(order.wallet_id)
        with store.atomic():
            store.save_order(order, plan=dataclasses.asdict(plan) if plan is not None else None)
            store.record_order_event(
                order.client_order_id, "-", "create", order.status.value, order.created_ms, note
            )
        self._remember(order)
        if plan is not None:
            self._plans[order.client_order_id] = plan
        return order

    def move(self, order: Order, event: OrderEvent, reason: str = "") -> Order | None:
        """Apply a lifecycle event and store it; None (and nothing stored) if the table forbids it."""
        if not ORDER_FSM.can(order.status, event):
            return None
        moved = order.transition(event, self._clock.now_ms(), reason)
        self._record(order, moved, event.value, reason)
        return moved

    def apply_update(self, order: Order, update: OrderUpdate) -> Order | None:
        """Book a venue's order report. Fills move orders through `fill`, so only the
        acknowledgement, cancel, reject and expiry are taken from reports."""
        if update.status is OrderStatus.SUBMITTED:
            if order.status is not OrderStatus.NEW:
                return None
            moved = self.move(order, OrderEvent.SUBMIT, update.reason)
        else:
            event = _UPDATE_EVENTS.get(update.status)
            if event is None:
                return None
            moved = self.move(order, event, update.reason)
        if moved is not None and update.venue_order_id and not moved.venue_order_id:
            moved = replace(moved, venue_order_id=update.venue_order_id)
            self.store(moved.wallet_id).save_order(moved)
            self._remember(moved)
        return moved

    def fill(self, order: Order, fill: Fill) -> Order:
        """The order after a fill, stored (the caller holds the atomic block with the fill)."""
        if order.status is OrderStatus.NEW:
            submitted = self.move(order, OrderEvent.SUBMIT, "filled before acknowledgement")
            order = submitted if submitted is not None else order
        filled = order.with_fill(fill.qty, fill.price, fill.fee, fill.ts_ms, last=fill.last)
        event = "fill" if filled.status is OrderStatus.FILLED else "partial_fill"
        self._record(order, filled, event, fill.fill_id)
        return filled

    def resize(self, order: Order, qty: float, reason: str) -> Order:
        """The order with a smaller total quantity, stored with a lifecycle note (a restart's
        re-decision may shrink an entry that never reached the venue; never grows one)."""
        resized = replace(order, qty=min(order.qty, qty), updated_ms=self._clock.now_ms())
        store = self.store(order.wallet_id)
        with store.atomic():
            store.save_order(resized)
            store.record_order_event(
                order.client_order_id,
                order.status.value,
                "resize",
                resized.status.value,
                resized.updated_ms,
                reason,
            )
        self._remember(resized)
        return resized

    def restore(self) -> list[Order]:
        """Working orders and their plans from every open database."""
        self._working.clear()
        self._plans.clear()
        for store in self._stores.all():
            for order in store.load_orders(working_only=True):
                self._working[order.client_order_id] = order
                if order.purpose is OrderPurpose.ENTRY:
                    data = store.order_plan(order.client_order_id)
                    if data:
                        self._plans[order.client_order_id] = plan_from_dict(data)
        return list(self._working.values())

    # ---- internals -------------------------------------------------------------------------
    def _record(self, before: Order, after: Order, event: str, reason: str) -> None:
        store = self.store(after.wallet_id)
        with store.atomic():
            store.save_order(after)
            store.record_order_event(
                after.client_order_id,
                before.status.value,
                event,
                after.status.value,
                after.updated_ms,
                reason,
            )
        self._remember(after)

    def _remember(self, order: Order) -> None:
        if order.status.is_terminal:
            self._working.pop(order.client_order_id, None)
            self._plans.pop(order.client_order_id, None)
        else:
            self._working[order.client_order_id] = order
