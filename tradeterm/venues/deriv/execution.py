"""Deriv multipliers behind the ExecClient protocol: what the node's live Deriv wallets trade.

An entry (a market order that is not reduce-only) becomes one multiplier contract: MULTUP for a
buy, MULTDOWN for a sell, at the symbol's smallest allowed multiplier, with the stake that gives
the order's notional (qty x spot / multiplier, at least the venue's minimum stake). The entry's
stop and target (its EntryPlan, looked up through `plans`) rest on the contract as its
`limit_order` stop loss and take profit in currency, so a stop does not depend on the node;
when the node moves them (a trailing stop, the operator), `rest_limits` sends contract_update.

The fill is booked as Deriv books the contract (domain/multipliers.py): quantity = stake x
multiplier / entry spot at the entry spot, the commission as its fee; the Portfolio holds the
stake less the commission as the position's cash, so the wallet's balance is the account's. A
reduce-only market order sells the symbol's contracts; its fill price is the one at which the
position realises exactly the sell price the venue paid (0 on a stop-out), also when a TP/SL
closed the contract first.

Idempotent by client order id: a known id returns its state and never buys twice. A buy whose
reply is lost is found again through `portfolio` (MultiplierTrader.buy). While an order is in
flight (from `submit` until its terminal update has been consumed from `events()`, i.e. booked)
`in_flight()` names it, so a periodic reconcile racing a buy does not call its contract an
orphan. `positions()` reads the account's open contracts (portfolio + proposal_open_contract),
which is what reconciliation uses after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Set
from dataclasses import dataclass

from tradeterm.clock import Clock
from tradeterm.config.models import DerivVenueConfig
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.multipliers import (
    MultiplierDirection,
    commission_for,
    contract_qty,
    held_terms,
    payout_price,
    tp_sl_amounts,
)
from tradeterm.domain.orders import EntryPlan, Fill, Order
from tradeterm.domain.positions import Position
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import ExecEvent, OrderUpdate, VenueBalance, VenuePosition
from tradeterm.venues.deriv.data import deriv_capabilities
from tradeterm.venues.deriv.protocol import (
    MultiplierOffer,
    OpenContract,
    parse_balance,
    parse_contracts_for,
    parse_tick,
)
from tradeterm.venues.deriv.trader import MultiplierTrader

log = logging.getLogger(__name__)


RECOVERY_SLACK_MS = 60_000
"""How much earlier than the order (by our clock) its recovered contract may say it was bought."""

RECOVERY_QTY_TOLERANCE = 0.05
"""A recovered contract's size may differ from its order's by this fraction."""

PlanLookup = Callable[[str], EntryPlan | None]
"""The stored plan (stop, target) of an entry order, by client order id."""


@dataclass(frozen=True, slots=True)
class ContractLimits:
    """The stop loss and take profit (currency) a contract is bought with (None: not set)."""

    stop_loss: float | None
    take_profit: float | None


def contract_limits(
    plan: EntryPlan | None, stake: float, multiplier: float, spot: float, commission: float
) -> ContractLimits:
    """The contract's limit_order for an entry's plan: amounts whose trigger prices are the
    plan's stop and target at `spot` (domain/multipliers.py: SL includes the commission, TP is
    net of it). A stop loss at or beyond the stake is left to the stop-out; Deriv wants
    commission < stop loss < stake."""
    if plan is None or plan.stop_loss <= 0.0 or plan.take_profit <= 0.0:
        return ContractLimits(None, None)
    loss, gain = tp_sl_amounts(stake, multiplier, spot, plan.stop_loss, plan.take_profit)
    sl: float | None = round(loss + commission, 2)
    if sl is not None and sl >= stake:
        sl = None
    elif sl is not None and sl <= commission:
        sl = round(commission + 0.01, 2)
    tp: float | None = round(gain - commission, 2)
    if tp is not None and tp <= 0.0:
        tp = None
    return ContractLimits(sl, tp)


def contract_side(contract: OpenContract) -> Side:
    return Side.BUY if contract.contract_type == MultiplierDirection.UP.value else Side.SELL


def contract_position_qty(contract: OpenContract) -> float:
    """A contract as the node books it (stake x multiplier / entry spot)."""
    if not contract.multiplier or not contract.entry_spot:
        return 0.0
    return contract_qty(contract.buy_price, contract.multiplier, contract.entry_spot)


class DerivExecClient:
    """One Deriv account's multiplier contracts as orders and fills (implements ExecClient)."""

    def __init__(
        self,
        name: str,
        account: str,
        cfg: DerivVenueConfig,
        token: str,
        clock: Clock,
        *,
        plans: PlanLookup | None = None,
    ) -> None:
        self.name = name
        self.account = account
        self.capabilities = deriv_capabilities()
        self.trader = MultiplierTrader(name, cfg, token)
        self.plans = plans
        """Where an entry's stop and target are found (the node's order ledger)."""
        self._cfg = cfg
        self._clock = clock
        self._offers: dict[str, MultiplierOffer] = {}
        self._known: dict[str, OrderUpdate] = {}
        self._in_flight: dict[str, str] = {}
        self._contract_of: dict[str, int] = {}
        self._seen: dict[int, str] = {}
        """Contracts of this account seen open (id -> symbol): one a TP/SL closed at the venue
        is still found when the node comes to close its position."""
        self._booked_closed: set[int] = set()
        self._limits: dict[int, tuple[float | None, float | None]] = {}
        """The stop loss and take profit (currency) each contract holds, as last sent."""
        self._events: asyncio.Queue[ExecEvent | None] = asyncio.Queue()

    async def connect(self) -> None:
        await self.trader.conn.ensure_open()

    async def close(self) -> None:
        await self.trader.conn.close()
        self._events.put_nowait(None)

    def in_flight(self) -> Mapping[str, str]:
        """Orders sent whose outcome is not booked yet (client order id -> symbol)."""
        return dict(self._in_flight)

    def contract_of(self, client_order_id: str) -> int | None:
        """The contract an entry bought, known as soon as the buy reply arrives."""
        return self._contract_of.get(client_order_id)

    async def _offer(self, symbol: str) -> MultiplierOffer:
        offer = self._offers.get(symbol)
        if offer is None:
            reply = await self.trader.conn.request({"contracts_for": symbol, "currency": "USD"})
            found = parse_contracts_for(reply, symbol)
            if found is None:
                raise PermanentVenueError(
                    f"{self.name}: {symbol} offers no multipliers", venue=self.name
                )
            self._offers[symbol] = offer = found
        return offer

    def _update(
        self, order: Order, status: OrderStatus, *, reason: str = "", venue_id: str = ""
    ) -> OrderUpdate:
        update = OrderUpdate(
            order.client_order_id,
            status,
            self._clock.now_ms(),
            venue_order_id=venue_id,
            reason=reason,
        )
        self._known[order.client_order_id] = update
        if status.is_terminal:
            self._in_flight.pop(order.client_order_id, None)
        return update

    async def submit(self, order: Order) -> OrderUpdate:
        known = self._known.get(order.client_order_id)
        if known is not None:
            return known
        if order.order_type is not OrderType.MARKET:
            return self._update(
                order, OrderStatus.REJECTED, reason="Deriv takes market orders only"
            )
        # in flight from now on: reconciliation may ask while the buy is on the wire
        self._in_flight[order.client_order_id] = order.symbol
        self._update(order, OrderStatus.SUBMITTED)
        try:
            await self.connect()
            if order.reduce_only:
                return await self._close(order)
            return await self._open(order)
        except TemporaryVenueError:
            known = self._known[order.client_order_id]
            if known.status is OrderStatus.SUBMITTED and not known.venue_order_id:
                del self._known[order.client_order_id]  # nothing bought: a retry may send it
                if order.client_order_id not in self._contract_of:
                    self._in_flight.pop(order.client_order_id, None)
            raise
        except PermanentVenueError as exc:
            return self._update(order, OrderStatus.REJECTED, reason=str(exc))

    async def _open(self, order: Order) -> OrderUpdate:
        offer = await self._offer(order.symbol)
        conn = self.trader.conn
        spot = parse_tick(await conn.request({"ticks": order.symbol})).quote
        multiplier = offer.multipliers[0]
        stake = round(order.qty * spot / multiplier, 2)
        if stake < offer.min_stake:
            return self._update(
                order,
                OrderStatus.REJECTED,
                reason=f"stake {stake:.2f} is below the minimum {offer.min_stake:g}",
            )
        stake = min(stake, offer.max_stake)
        commission = commission_for(stake, multiplier, self._cfg.commission_rate)
        plan = self.plans(order.client_order_id) if self.plans is not None else None
        limits = contract_limits(plan, stake, multiplier, spot, commission)
        _, currency = parse_balance(await conn.request({"balance": 1}))
        way = MultiplierDirection.UP if order.side is Side.BUY else MultiplierDirection.DOWN
        params: dict[str, object] = {
            "contract_type": way.value,
            "currency": currency,
            "symbol": order.symbol,
            "amount": stake,
            "basis": "stake",
            "multiplier": multiplier,
        }
        limit_order = {
            k: v
            for k, v in (("stop_loss", limits.stop_loss), ("take_profit", limits.take_profit))
            if v is not None
        }
        if limit_order:
            params["limit_order"] = limit_order
        contract_id = await self.trader.buy(params)
        self._contract_of[order.client_order_id] = contract_id
        self._limits[contract_id] = (limits.stop_loss, limits.take_profit)
        self._seen[contract_id] = order.symbol
        self._update(order, OrderStatus.SUBMITTED, venue_id=str(contract_id))
        opened = await self.trader.wait_open(contract_id)
        qty = contract_qty(stake, float(multiplier), opened.entry_spot or spot)
        fee = opened.commission or commission
        return self._emit_fills(order, [(contract_id, qty, opened.entry_spot or spot, fee)])

    async def _close(self, order: Order) -> OrderUpdate:
        """Sell the symbol's contracts held on the other side (those a TP/SL or stop-out has
        closed already are reported at the price they paid)."""
        held = order.side.opposite
        candidates: dict[int, OpenContract] = {
            c.contract_id: c
            for c in await self.contracts()
            if c.symbol == order.symbol and contract_side(c) is held
        }
        for cid, symbol in self._seen.items():
            if symbol != order.symbol or cid in candidates or cid in self._booked_closed:
                continue
            poc = await self.trader.contract(cid)
            if poc is not None and contract_side(poc) is held:
                candidates[cid] = poc
        if not candidates:
            return self._update(
                order, OrderStatus.REJECTED, reason="reduce-only: no contract to close"
            )
        remaining = order.qty
        fills = []
        for cid, poc in sorted(candidates.items()):
            if remaining <= 1e-12:
                break
            closed = await self.trader.sell(cid)
            self._booked_closed.add(cid)
            qty = contract_position_qty(closed) or contract_position_qty(poc)
            price = payout_price(
                contract_side(closed).sign,
                closed.buy_price,
                closed.multiplier,
                closed.entry_spot,
                closed.commission,
                closed.sell_price,
            )
            fills.append((cid, qty, price, 0.0))
            remaining -= qty
        return self._emit_fills(order, fills)

    def _emit_fills(
        self, order: Order, fills: list[tuple[int, float, float, float]]
    ) -> OrderUpdate:
        """Queue the fills (contract id, qty, price, fee) of an order and its FILLED update;
        the last fill completes the order."""
        now = self._clock.now_ms()
        total = paid = fees = 0.0
        # acknowledged first (with the contract id), so the fill books against a sent order
        self._events.put_nowait(
            OrderUpdate(
                order.client_order_id, OrderStatus.SUBMITTED, now, venue_order_id=str(fills[0][0])
            )
        )
        for n, (contract_id, qty, price, fee) in enumerate(fills, 1):
            self._events.put_nowait(
                Fill(
                    f"{contract_id}:{order.client_order_id}",
                    order.client_order_id,
                    order.wallet_id,
                    order.venue,
                    order.symbol,
                    order.side,
                    qty,
                    price,
                    fee,
                    now,
                    last=n == len(fills),
                    venue_ref=str(contract_id),
                )
            )
            total, paid, fees = total + qty, paid + qty * price, fees + fee
        done = OrderUpdate(
            order.client_order_id,
            OrderStatus.FILLED,
            now,
            venue_order_id=str(fills[0][0]),
            filled_qty=total,
            avg_fill_price=paid / total if total else 0.0,
            fees=fees,
        )
        self._known[order.client_order_id] = done  # in flight until the stream hands it over
        self._events.put_nowait(done)
        return done

    async def rest_limits(self, position: Position) -> None:
        """Put the position's stop and target on its contract (contract_update) when they
        changed: amounts whose trigger prices are the levels at the contract's entry spot. Only
        a position that is one contract (what the node opens) is updated."""
        held = [
            cid
            for cid, symbol in self._seen.items()
            if symbol == position.symbol and cid not in self._booked_closed
        ]
        if len(held) != 1 or position.margin <= 0:
            return
        (cid,) = held
        offer = await self._offer(position.symbol)
        terms = held_terms(
            position.side.sign,
            position.entry_price,
            float(offer.multipliers[0]),
            position.margin,
            position.fees,
            position.stop_loss,
            position.take_profit,
        )
        if terms is None:
            return
        sl = terms.stop_loss
        if sl is not None and not terms.commission < sl < terms.stake:
            sl = None  # at or beyond the stake: the stop-out protects
        tp = terms.take_profit if terms.take_profit and terms.take_profit > 0 else None
        wanted = (sl, tp)
        if self._limits.get(cid) == wanted or wanted == (None, None):
            return
        limit = {k: v for k, v in (("stop_loss", sl), ("take_profit", tp)) if v is not None}
        try:
            await self.trader.conn.request(
                {"contract_update": 1, "contract_id": cid, "limit_order": limit}
            )
        except PermanentVenueError as exc:  # sold meanwhile: the exit books what it paid
            log.info("%s: contract %s not updated: %s", self.name, cid, exc)
            return
        self._limits[cid] = wanted

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        known = self._known.get(client_order_id)
        if known is not None:
            return known
        return OrderUpdate(
            client_order_id, OrderStatus.REJECTED, self._clock.now_ms(), reason="unknown order"
        )

    async def order_status(self, client_order_id: str) -> OrderUpdate | None:
        """The account's word on one order (OrderQuery, for reconciliation); None if unseen."""
        return self._known.get(client_order_id)

    async def recover_order(self, order: Order, claimed: Set[str]) -> OrderUpdate | None:
        """The venue's word on an entry whose buy was on the wire when the node died (stored,
        never acknowledged): Deriv has no client order id, so the contract is the one open
        contract of the account that no booked order claims (`claimed`: contract ids), on the
        order's symbol and side, at the multiplier this client buys, bought no earlier than the
        order was made (RECOVERY_SLACK_MS of clock skew allowed), whose size is the order's
        within RECOVERY_QTY_TOLERANCE (the stake is rounded to cents at the spot of the buy).
        Exactly one such contract: it is the order's, FILLED as bought (entry spot, commission).
        None or several: None, and reconciliation says what it cannot tell (an orphan for the
        operator; never a guess between two)."""
        if order.reduce_only or order.venue_order_id:
            return None
        await self.connect()
        offer = await self._offer(order.symbol)
        found = [
            poc
            for poc in await self.contracts()
            if str(poc.contract_id) not in claimed
            and poc.symbol == order.symbol
            and contract_side(poc) is order.side
            and poc.multiplier == float(offer.multipliers[0])
            and (
                not poc.purchase_time
                or poc.purchase_time * 1000 >= order.created_ms - RECOVERY_SLACK_MS
            )
            and abs(contract_position_qty(poc) - order.qty) <= RECOVERY_QTY_TOLERANCE * order.qty
        ]
        if len(found) != 1:
            if found:
                log.warning(
                    "%s: %s matches %d open contracts (%s): left to the operator",
                    self.name,
                    order.client_order_id,
                    len(found),
                    ", ".join(str(c.contract_id) for c in found),
                )
            return None
        (poc,) = found
        cid = poc.contract_id
        self._contract_of[order.client_order_id] = cid
        self._seen[cid] = poc.symbol
        self._limits[cid] = (poc.stop_loss, poc.take_profit)
        self.trader.audit("recovered", contract_id=cid, client_order_id=order.client_order_id)
        update = OrderUpdate(
            order.client_order_id,
            OrderStatus.FILLED,
            self._clock.now_ms(),
            venue_order_id=str(cid),
            filled_qty=contract_position_qty(poc),
            avg_fill_price=poc.entry_spot,
            fees=poc.commission,
            reason=f"contract {cid} bought while the node was down mid-buy",
        )
        self._known[order.client_order_id] = update
        return update

    async def open_orders(self) -> list[Order]:
        return []  # market orders only: TP/SL rest on the contracts, not as orders

    async def contracts(self) -> list[OpenContract]:
        """The account's open multiplier contracts (the positions pane and reconciliation)."""
        found = await self.trader.open_contracts()
        for poc in found:
            self._seen.setdefault(poc.contract_id, poc.symbol)
        return found

    async def positions(self) -> list[VenuePosition]:
        """Open contracts netted per symbol and side, as the node books them."""
        net: dict[tuple[str, Side], tuple[float, float]] = {}
        for poc in await self.contracts():
            key = (poc.symbol, contract_side(poc))
            qty, paid = net.get(key, (0.0, 0.0))
            units = contract_position_qty(poc)
            net[key] = (qty + units, paid + units * poc.entry_spot)
        return [
            VenuePosition(symbol, side, qty, paid / qty if qty else 0.0)
            for (symbol, side), (qty, paid) in sorted(net.items())
        ]

    async def balance(self) -> VenueBalance:
        await self.connect()
        total, currency = parse_balance(await self.trader.conn.request({"balance": 1}))
        return VenueBalance(currency, total, total)

    def events(self) -> AsyncIterator[ExecEvent]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[ExecEvent]:
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event
            # the consumer asks for the next event once it has booked this one
            if isinstance(event, OrderUpdate) and event.status.is_terminal:
                self._in_flight.pop(event.client_order_id, None)
