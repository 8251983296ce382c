"""Orders and fills, with the order lifecycle as a transition table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from tradeterm.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from tradeterm.domain.fsm import StateMachine


class OrderEvent(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL = "cancel"
    REJECT = "reject"
    EXPIRE = "expire"


_S = OrderStatus
_E = OrderEvent

ORDER_TRANSITIONS: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (_S.NEW, _E.SUBMIT): _S.SUBMITTED,
    (_S.NEW, _E.REJECT): _S.REJECTED,
    (_S.NEW, _E.CANCEL): _S.CANCELLED,
    (_S.SUBMITTED, _E.ACCEPT): _S.SUBMITTED,
    (_S.SUBMITTED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.SUBMITTED, _E.FILL): _S.FILLED,
    (_S.SUBMITTED, _E.CANCEL): _S.CANCELLED,
    (_S.SUBMITTED, _E.REJECT): _S.REJECTED,
    (_S.SUBMITTED, _E.EXPIRE): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.FILL): _S.FILLED,
    (_S.PARTIALLY_FILLED, _E.CANCEL): _S.CANCELLED,
    (_S.PARTIALLY_FILLED, _E.EXPIRE): _S.EXPIRED,
}

ORDER_FSM: StateMachine[OrderStatus, OrderEvent] = StateMachine("order", ORDER_TRANSITIONS)


class OrderPurpose(StrEnum):
    """Why an order exists: opening a position, protecting it, or closing it."""

    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    EXIT = "exit"
    FLATTEN = "flatten"


@dataclass(frozen=True, slots=True)
class Order:
    """An order as tradeterm tracks it. Changes produce new values (`with_status`, `with_fill`)."""

    client_order_id: str
    wallet_id: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: float
    created_ms: int
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    purpose: OrderPurpose = OrderPurpose.ENTRY
    signal_id: str = ""
    status: OrderStatus = OrderStatus.NEW
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    fees: float = 0.0
    venue_order_id: str = ""
    reason: str = ""
    updated_ms: int = 0
    ref_price: float = 0.0
    """The ideal price this order was meant to get (the mid when a market order was sent, the
    level of a stop or a take profit): slippage and spread are measured from it."""
    trail_callback_pct: float = 0.0
    """A trailing stop's callback, in percent of the best price since activation (1.0 = 1%);
    0 for other orders. Its activation price, if any, is `stop_price`."""

    @property
    def remaining_qty(self) -> float:
        return max(0.0, self.qty - self.filled_qty)

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    def transition(self, event: OrderEvent, ts_ms: int, reason: str = "") -> Order:
        """The order after `event` (InvalidTransition if the table forbids it)."""
        status = ORDER_FSM.next_state(self.status, event)
        return replace(self, status=status, updated_ms=ts_ms, reason=reason or self.reason)

    def with_fill(
        self, qty: float, price: float, fee: float, ts_ms: int, *, last: bool = False
    ) -> Order:
        """The order after a fill of `qty` at `price` (partial or complete; `last`: the venue
        says it completes the order, and the filled quantity is what it filled)."""
        new_filled = self.filled_qty + qty
        avg = (
            (self.avg_fill_price * self.filled_qty + price * qty) / new_filled
            if new_filled
            else 0.0
        )
        complete = last or new_filled >= self.qty - 1e-12
        event = OrderEvent.FILL if complete else OrderEvent.PARTIAL_FILL
        status = ORDER_FSM.next_state(self.status, event)
        return replace(
            self,
            status=status,
            filled_qty=new_filled
            if last
            else min(new_filled, self.qty)
            if complete
            else new_filled,
            avg_fill_price=avg,
            fees=self.fees + fee,
            updated_ms=ts_ms,
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution against an order."""

    fill_id: str
    client_order_id: str
    wallet_id: str
    venue: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    ts_ms: int
    liquidity: Liquidity = Liquidity.TAKER
    last: bool = False
    """The venue says this fill completes its order, whatever its quantity (a Deriv contract's
    quantity is its stake x multiplier / entry spot, known only once it is open)."""
    venue_ref: str = ""
    """The venue's id of what this fill opened (a Deriv contract id), shown with the position."""

    @property
    def notional(self) -> float:
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """What an entry order is for: the protective levels and provenance the position inherits.

    Stored with the order (orders.plan), so a restart rebuilds positions with their stops.
    """

    stop_loss: float
    take_profit: float
    strategy: str
    arm: str
    signal_id: str
    timeframe: str
    explore: bool = False
    atr: float = 0.0
    max_hold_ms: int = 0
    decision_id: str = ""
    risk_per_unit: float = 0.0
    """Money the gate planned to lose per unit at the stop, net of costs (R per unit)."""
    ideal_entry: float = 0.0
    """The mid price when the gate decided (the entry's ideal price)."""
