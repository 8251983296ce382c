"""The paper fill model: how orders fill against a stream of quotes.

Shared by the sim venue and the paper executor (which feeds it any venue's live ticks). Rules:

- Orders become fillable `latency_ms` after submission.
- MARKET fills at the touch (ask for buys, bid for sells) moved `slippage_bps` against the trader;
  at once when a quote is known and latency is 0, else on the next tick.
- LIMIT buy fills once ask <= limit, at the limit (maker fee); if it was marketable when it
  arrived it takes the better touch price and pays the taker fee. Sells mirror this.
- STOP buy triggers once the last price >= stop and then fills like a market order at
  max(stop, ask) plus slippage: a gap through the stop fills at the gapped, worse price.
- Fees are notional times the fee rate; partial fills are drawn from a seeded RNG.
- IOC limits expire whatever they could not fill on arrival; FOK limits fill whole on arrival or
  expire.
- Everything is idempotent by client order id, and every state change goes through the order
  lifecycle table, so an illegal move becomes an update with a reason, never an exception.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from tradeterm.config.models import FillModelConfig
from tradeterm.domain import costs
from tradeterm.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import Fill, Order, OrderEvent
from tradeterm.errors import InvalidTransition
from tradeterm.venues.base import ExecEvent, OrderUpdate


@dataclass(slots=True)
class _Working:
    """A live order and what the engine knows about it."""

    order: Order
    active_ms: int
    arrived: bool = False
    triggered: bool = False
    fills: int = 0


def order_update(order: Order, ts_ms: int, reason: str = "") -> OrderUpdate:
    """The venue report of `order` as it stands."""
    return OrderUpdate(
        client_order_id=order.client_order_id,
        status=order.status,
        ts_ms=ts_ms,
        venue_order_id=order.venue_order_id,
        filled_qty=order.filled_qty,
        avg_fill_price=order.avg_fill_price,
        reason=reason or order.reason,
        fees=order.fees,
    )


def invalid_reason(order: Order) -> str:
    """Why the venue would refuse `order` outright ('' when it is well formed)."""
    if not (math.isfinite(order.qty) and order.qty > 0):
        return f"quantity must be positive, got {order.qty}"
    if order.order_type is OrderType.LIMIT and not _positive(order.price):
        return "limit order needs a positive limit price"
    if order.order_type is OrderType.STOP and not _positive(order.stop_price):
        return "stop order needs a positive stop price"
    return ""


# ---- the fill rules as plain functions of numbers (numba-compatible: the vector backtester
# compiles these same rules; `MatchingEngine` calls them) ---------------------------------------
def market_touch(sign: int, bid: float, ask: float) -> float:
    """The price a market order of `sign` (+1 buy, -1 sell) takes: the far touch."""
    return ask if sign > 0 else bid


def stop_touch(sign: int, bid: float, ask: float, stop: float) -> float:
    """A triggered stop's touch: the far touch, or its stop if that is worse for the trader (a
    gap through the stop fills at the gapped price)."""
    return max(stop, ask) if sign > 0 else min(stop, bid)


def stop_triggers(sign: int, price: float, stop: float) -> bool:
    """A stop of `sign` (a buy stop above, a sell stop below) triggers on the last price."""
    return (price - stop) * sign >= 0


def limit_fillable(sign: int, limit: float, bid: float, ask: float) -> bool:
    """A limit of `sign` can fill at this quote (ask at or below a buy limit, bid at or above a
    sell limit)."""
    return (limit - market_touch(sign, bid, ask)) * sign >= 0


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


class MatchingEngine:
    """Paper matching of orders against quotes, one engine per account.

    `lot_steps` (optional, by symbol) keeps partial fill sizes on the instrument's lot grid;
    `contract_sizes` (optional, by symbol, default 1) scale the fee to the fill's notional;
    `model_for` (optional) gives a symbol its own fees and slippage (the per-pair fitted
    slippage, the venue's fee tier), `model` where it returns None.
    """

    def __init__(
        self,
        model: FillModelConfig,
        *,
        seed: int = 0,
        lot_steps: Mapping[str, float] | None = None,
        contract_sizes: Mapping[str, float] | None = None,
        model_for: Callable[[str], FillModelConfig | None] | None = None,
    ) -> None:
        self._model = model
        self._model_for = model_for
        self._rng = random.Random(seed)
        self._lot_steps = dict(lot_steps or {})
        self._contract_sizes = dict(contract_sizes or {})
        self._orders: dict[str, Order] = {}
        self._working: dict[str, _Working] = {}
        self._by_symbol: dict[str, list[str]] = {}
        self._last: dict[str, Tick] = {}
        self._accepted = 0

    # ---- queries -------------------------------------------------------------------------
    def last_tick(self, symbol: str) -> Tick | None:
        """The latest quote seen for `symbol`."""
        return self._last.get(symbol)

    def open_orders(self) -> list[Order]:
        """Working orders (submitted or partially filled), in submission order."""
        return [w.order for w in self._working.values()]

    def order(self, client_order_id: str) -> Order | None:
        """Any order this engine has seen, in its current state."""
        return self._orders.get(client_order_id)

    def working_symbols(self) -> set[str]:
        """Symbols with at least one working order (the ones whose ticks matter)."""
        return {s for s, ids in self._by_symbol.items() if ids}

    # ---- commands ------------------------------------------------------------------------
    def submit(self, order: Order, now_ms: int) -> list[ExecEvent]:
        """Accept or reject `order`; may fill at once. A known client order id returns that
        order's current state and never creates a second order."""
        known = self._orders.get(order.client_order_id)
        if known is not None:
            return [order_update(known, now_ms)]
        if order.status is not OrderStatus.NEW:
            return [
                order_update(order, now_ms, f"cannot submit an order in state {order.status.value}")
            ]
        reason = invalid_reason(order)
        if reason:
            return self.reject(order, now_ms, reason)
        self._accepted += 1
        accepted = replace(
            order.transition(OrderEvent.SUBMIT, now_ms), venue_order_id=f"sim-{self._accepted}"
        )
        self._orders[order.client_order_id] = accepted
        working = _Working(accepted, now_ms + self._model.latency_ms)
        self._working[order.client_order_id] = working
        self._by_symbol.setdefault(order.symbol, []).append(order.client_order_id)
        events: list[ExecEvent] = [order_update(accepted, now_ms)]
        tick = self._last.get(order.symbol)
        if self._model.latency_ms == 0 and tick is not None:
            events.extend(self._evaluate(working, tick, now_ms))
        return events

    def reject(self, order: Order, now_ms: int, reason: str) -> list[ExecEvent]:
        """Refuse a new order with `reason` (remembered, so a resubmit is refused again)."""
        known = self._orders.get(order.client_order_id)
        if known is not None:
            return [order_update(known, now_ms)]
        rejected = order.transition(OrderEvent.REJECT, now_ms, reason)
        self._orders[order.client_order_id] = rejected
        return [order_update(rejected, now_ms)]

    def cancel(self, client_order_id: str, now_ms: int) -> list[ExecEvent]:
        """Cancel a working order. Unknown or finished orders get an update explaining why not."""
        order = self._orders.get(client_order_id)
        if order is None:
            return [
                OrderUpdate(client_order_id, OrderStatus.REJECTED, now_ms, reason="unknown order")
            ]
        try:
            cancelled = order.transition(OrderEvent.CANCEL, now_ms, "cancelled")
        except InvalidTransition:
            return [order_update(order, now_ms, f"cannot cancel: order is {order.status.value}")]
        self._finish(cancelled)
        return [order_update(cancelled, now_ms)]

    def on_tick(self, tick: Tick) -> list[ExecEvent]:
        """Match working orders of the tick's symbol against its quote."""
        self._last[tick.symbol] = tick
        ids = self._by_symbol.get(tick.symbol)
        if not ids:
            return []
        events: list[ExecEvent] = []
        for client_order_id in list(ids):
            working = self._working.get(client_order_id)
            if working is not None and tick.ts_ms >= working.active_ms:
                events.extend(self._evaluate(working, tick, tick.ts_ms))
        return events

    # ---- matching ------------------------------------------------------------------------
    def _evaluate(self, working: _Working, tick: Tick, ts_ms: int) -> list[ExecEvent]:
        order = working.order
        if order.order_type is OrderType.MARKET:
            quote: tuple[float, Liquidity] | None = (
                self._slipped(order.side, tick, None),
                Liquidity.TAKER,
            )
        elif order.order_type is OrderType.LIMIT:
            quote = self._limit_quote(working, tick)
        else:
            quote = self._stop_quote(working, tick)
        first_look = not working.arrived
        working.arrived = True
        if quote is None:
            if first_look and self._ioc(order):
                return self._expire(working, ts_ms)
            return []
        events = self._fill(working, quote[0], quote[1], ts_ms)
        if self._working.get(order.client_order_id) is working and self._ioc(order):
            events.extend(self._expire(working, ts_ms))
        return events

    @staticmethod
    def _ioc(order: Order) -> bool:
        return order.order_type is OrderType.LIMIT and order.time_in_force is not TimeInForce.GTC

    def _slipped(self, side: Side, tick: Tick, floor: float | None) -> float:
        """Market execution price: the touch (or `floor`, if worse for the trader) plus slippage
        (the cost model's rule, `costs.entry_fill_price` with the touch as the reference)."""
        slip = self._symbol_model(tick.symbol).slippage_bps / 10_000.0
        sign = side.sign
        bid, ask = tick.bid, tick.ask
        touch = market_touch(sign, bid, ask) if floor is None else stop_touch(sign, bid, ask, floor)
        return costs.entry_fill_price(sign, touch, 0.0, slip)

    @staticmethod
    def _limit_quote(working: _Working, tick: Tick) -> tuple[float, Liquidity] | None:
        order = working.order
        limit = float(order.price or 0.0)
        sign = order.side.sign
        if not limit_fillable(sign, limit, tick.bid, tick.ask):
            return None
        if not working.arrived:
            return market_touch(sign, tick.bid, tick.ask), Liquidity.TAKER
        return limit, Liquidity.MAKER

    def _stop_quote(self, working: _Working, tick: Tick) -> tuple[float, Liquidity] | None:
        order = working.order
        stop = float(order.stop_price or 0.0)
        if not working.triggered:
            if not stop_triggers(order.side.sign, tick.price, stop):
                return None
            working.triggered = True
        return self._slipped(order.side, tick, stop), Liquidity.TAKER

    def _fill_qty(self, order: Order) -> float:
        """All that remains, or (with partial_fill_prob) a seeded random part of it."""
        remaining = order.remaining_qty
        model = self._model
        if order.time_in_force is TimeInForce.FOK or model.partial_fill_prob <= 0:
            return remaining
        if self._rng.random() >= model.partial_fill_prob:
            return remaining
        part = remaining * self._rng.uniform(model.partial_fill_min_ratio, 1.0)
        lot = self._lot_steps.get(order.symbol, 0.0)
        if lot > 0:
            part = math.floor(part / lot + 1e-9) * lot
            if part <= 0 or remaining - part < lot - 1e-12:
                return remaining
        return part if part < remaining - 1e-12 else remaining

    def _fill(
        self, working: _Working, price: float, liquidity: Liquidity, ts_ms: int
    ) -> list[ExecEvent]:
        order = working.order
        qty = self._fill_qty(order)
        model = self._symbol_model(order.symbol)
        rate = model.maker_fee_rate if liquidity is Liquidity.MAKER else model.taker_fee_rate
        fee = costs.fee(price, qty, self._contract_sizes.get(order.symbol, 1.0), rate)
        filled = order.with_fill(qty, price, fee, ts_ms)
        working.fills += 1
        fill = Fill(
            fill_id=f"{order.client_order_id}-{working.fills}",
            client_order_id=order.client_order_id,
            wallet_id=order.wallet_id,
            venue=order.venue,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            ts_ms=ts_ms,
            liquidity=liquidity,
        )
        if filled.status is OrderStatus.FILLED:
            self._finish(filled)
        else:
            working.order = filled
            self._orders[order.client_order_id] = filled
        return [fill, order_update(filled, ts_ms)]

    def _symbol_model(self, symbol: str) -> FillModelConfig:
        own = self._model_for(symbol) if self._model_for is not None else None
        return own if own is not None else self._model

    def _expire(self, working: _Working, ts_ms: int) -> list[ExecEvent]:
        reason = f"{working.order.time_in_force.value} limit not filled on arrival"
        expired = working.order.transition(OrderEvent.EXPIRE, ts_ms, reason)
        self._finish(expired)
        return [order_update(expired, ts_ms)]

    def _finish(self, order: Order) -> None:
        """Record a terminal order and stop matching it."""
        self._orders[order.client_order_id] = order
        if self._working.pop(order.client_order_id, None) is not None:
            ids = self._by_symbol.get(order.symbol)
            if ids is not None and order.client_order_id in ids:
                ids.remove(order.client_order_id)
