"""Deriv multipliers behind the ExecClient protocol, so the node's live wallets can trade them.

An entry (a market order that is not reduce-only) becomes one multiplier contract: MULTUP for a
buy, MULTDOWN for a sell, at the symbol's smallest allowed multiplier, with the stake that gives
the order's notional (qty x spot / multiplier, at least the venue's minimum stake). Its fill is
reported at the contract's entry spot with the commission as the fee. A reduce-only market order
sells the symbol's contracts on the other side. Exits are the node's: the venue declares market
orders only, so stops and targets are watched by the position monitor, not rested.

Idempotent by client order id: a known id returns its state and never buys twice. A buy whose
reply is lost is found again through `portfolio` (MultiplierTrader.buy). `positions()` reads the
account's open contracts (portfolio + proposal_open_contract), which is what reconciliation uses
after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tradeterm.clock import Clock
from tradeterm.config.models import DerivVenueConfig
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.multipliers import MultiplierDirection
from tradeterm.domain.orders import Fill, Order
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


@dataclass
class _Held:
    """Contracts opened for one symbol: their ids and the quantity each stands for."""

    side: Side
    contracts: dict[int, float] = field(default_factory=dict)


class DerivExecClient:
    """One Deriv account's multiplier contracts as orders and fills (implements ExecClient)."""

    def __init__(
        self, name: str, account: str, cfg: DerivVenueConfig, token: str, clock: Clock
    ) -> None:
        self.name = name
        self.account = account
        self.capabilities = deriv_capabilities()
        self.trader = MultiplierTrader(name, cfg, token)
        self._clock = clock
        self._offers: dict[str, MultiplierOffer] = {}
        self._known: dict[str, OrderUpdate] = {}
        self._held: dict[str, _Held] = {}
        self._events: asyncio.Queue[ExecEvent | None] = asyncio.Queue()

    async def connect(self) -> None:
        await self.trader.conn.ensure_open()

    async def close(self) -> None:
        await self.trader.conn.close()
        self._events.put_nowait(None)

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
        return update

    async def submit(self, order: Order) -> OrderUpdate:
        known = self._known.get(order.client_order_id)
        if known is not None:
            return known
        if order.order_type is not OrderType.MARKET:
            return self._update(
                order, OrderStatus.REJECTED, reason="Deriv takes market orders only"
            )
        # known as working from now on: reconciliation may ask while the buy is on the wire
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
        _, currency = parse_balance(await conn.request({"balance": 1}))
        way = MultiplierDirection.UP if order.side is Side.BUY else MultiplierDirection.DOWN
        params = {
            "contract_type": way.value,
            "currency": currency,
            "symbol": order.symbol,
            "amount": stake,
            "basis": "stake",
            "multiplier": multiplier,
        }
        contract_id = await self.trader.buy(params)
        ack = self._update(order, OrderStatus.SUBMITTED, venue_id=str(contract_id))
        opened = await self.trader.wait_open(contract_id)
        held = self._held.setdefault(order.symbol, _Held(order.side))
        held.contracts[contract_id] = order.qty
        self._emit_fill(order, order.qty, opened.entry_spot, opened.commission, contract_id)
        return ack

    async def _close(self, order: Order) -> OrderUpdate:
        held = self._held.get(order.symbol)
        if held is None or held.side is order.side or not held.contracts:
            return self._update(
                order, OrderStatus.REJECTED, reason="reduce-only: no contract to close"
            )
        ack = self._update(order, OrderStatus.SUBMITTED)
        remaining = order.qty
        for contract_id, qty in list(held.contracts.items()):
            if remaining <= 1e-12:
                break
            closed = await self.trader.sell(contract_id)
            del held.contracts[contract_id]
            self._emit_fill(order, qty, closed.current_spot or closed.entry_spot, 0.0, contract_id)
            remaining -= qty
        return ack

    def _emit_fill(
        self, order: Order, qty: float, price: float, fee: float, contract_id: int
    ) -> None:
        now = self._clock.now_ms()
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
            )
        )
        done = OrderUpdate(
            order.client_order_id,
            OrderStatus.FILLED,
            now,
            venue_order_id=str(contract_id),
            filled_qty=qty,
            avg_fill_price=price,
            fees=fee,
        )
        self._known[order.client_order_id] = done
        self._events.put_nowait(done)

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

    async def open_orders(self) -> list[Order]:
        return []  # market orders only: nothing rests at Deriv

    async def contracts(self) -> list[OpenContract]:
        """The account's open multiplier contracts (the positions pane and reconciliation)."""
        return await self.trader.open_contracts()

    async def positions(self) -> list[VenuePosition]:
        out = []
        for poc in await self.contracts():
            side = Side.BUY if poc.contract_type == "MULTUP" else Side.SELL
            entry = poc.entry_spot or 1.0
            qty = poc.buy_price * poc.multiplier / entry if poc.multiplier else 0.0
            out.append(VenuePosition(poc.symbol, side, qty, entry))
        return out

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
