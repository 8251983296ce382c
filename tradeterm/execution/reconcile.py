"""Reconciliation: the venue's view of each live wallet against ours, at start and periodically.

For every LIVE wallet (paper wallets are rebuilt from the database, so they always agree):
- a venue order we do not know is an orphan;
- a working order of ours the venue no longer lists is looked up (when the client can) and
  settled as the venue says: missed fills are booked with the fees the venue charged (or, when
  it does not say, the fee the cost model expects), cancels and expiries applied; an order the
  venue has never heard of is marked EXPIRED (REJECTED if it was never acknowledged); an entry
  that was on the wire when the node died, never acknowledged, on a venue without client order
  ids (Deriv: RecoversOrders) is matched to the one record no booked order claims, and booked
  as the venue filled it;
- a venue position we do not hold, or hold with another side or size, is an orphan; a position
  we hold that the venue does not is missing;
- the venue's balance is compared with the wallet's; a difference beyond the tolerance is an
  orphan too.

An order in flight (sent, its outcome not booked yet: `LiveExecutor.in_flight`, from clients
that know it, e.g. Deriv, whose contract exists at the venue before the buy's fill is booked)
is left alone with its market's position and the wallet's balance until the next run.

Policy (ExecutionConfig.reconcile): "halt" reports `halt=True` when anything is orphaned (the
node then sets HALTED, at start and on every periodic run); "adopt" takes the venue's word, but
only where the risk gate would allow it: an orphan position is adopted (with a conservative stop
ADOPT_STOP_FRACTION from the venue's entry and a 3R target) only when the exposure, leverage and
balance limits hold with it, otherwise it halts with the reason; orphan orders are cancelled
(their purpose is unknown); a position missing at the venue is closed in our books at its last
mark as a trade with its PnL ("flat at the venue"); the wallet's cash is set to the venue's
balance. Every orphan is published as an ALERT.

Each orphan is also a `Difference` (domain/reconcile.py) kept by the DifferenceBook
(differences.py): stored, published on RECONCILE, acted on by the operator through control.py
(`reconcile adopt|close|ignore`). An ignored difference is still reported but no longer halts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from tradeterm.clock import Clock
from tradeterm.domain.enums import OrderStatus, Side
from tradeterm.domain.events import ALERT, POSITION, TRADE_CLOSED, WALLET, Alert
from tradeterm.domain.ids import stable_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.positions import Position
from tradeterm.domain.reconcile import Difference
from tradeterm.errors import VenueError
from tradeterm.execution.differences import DifferenceBook, difference_id
from tradeterm.execution.executors import Executor, ExecutorEvent, LiveExecutor
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.portfolio.book import Portfolio
from tradeterm.venues.base import OrderUpdate, VenuePosition

ADOPT_STOP_FRACTION = 0.03
"""An adopted position's stop sits this far from its entry (its target three times as far)."""

BALANCE_TOLERANCE = 0.001
"""Venue and wallet cash may differ by this fraction of the balance (at least 0.01) unflagged."""

_QTY_TOLERANCE = 1e-9

AdoptionCheck = Callable[[str, str, Side, float, float], str | None]
"""(wallet, market key, side, qty, price) -> why the position may not be adopted, or None."""

FeeRate = Callable[[str], float]
"""Taker fee rate of a wallet's venue (for fills the venue reports without their fee)."""


@dataclass(frozen=True, slots=True)
class Orphan:
    """Something the venue and tradeterm disagree about."""

    wallet_id: str
    kind: Literal["order", "position", "missing_position", "balance"]
    symbol: str
    detail: str

    @property
    def text(self) -> str:
        what = self.kind.replace("_", " ")
        return f"reconcile {self.wallet_id}: orphan {what} {self.symbol}: {self.detail}".rstrip()


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What a reconciliation found and did. `halt` asks the node to set HALTED, with the
    reasons in `refusals` (adoptions the limits refused) and the orphans."""

    ts_ms: int
    policy: str
    wallets: tuple[str, ...]
    orphans: tuple[Orphan, ...] = ()
    resolved: tuple[str, ...] = ()
    adopted: tuple[str, ...] = ()
    halt: bool = False
    refusals: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    """The differences found, as the DifferenceBook stands after this run (ids, statuses)."""

    @property
    def clean(self) -> bool:
        return not self.orphans

    @property
    def reason(self) -> str:
        """Why this report asks to halt, in one line."""
        parts = list(self.refusals) or [o.text for o in self.orphans]
        return "; ".join(parts) or "nothing"


class ReconcileHost(Protocol):
    """What reconciliation needs from the execution engine."""

    async def book(self, wallet_id: str, events: Sequence[ExecutorEvent]) -> None: ...

    async def publish(self, topic: str, message: object) -> None: ...


def adopted_position(
    wallet_id: str,
    venue: str,
    held: VenuePosition,
    *,
    now_ms: int,
    instrument: Instrument | None,
    max_hold_ms: int = 0,
) -> Position:
    """A venue position taken over with a conservative stop and a 3R target."""
    sign = held.side.sign
    stop = held.entry_price * (1.0 - sign * ADOPT_STOP_FRACTION)
    target = held.entry_price * (1.0 + sign * 3 * ADOPT_STOP_FRACTION)
    if instrument is not None:
        stop = instrument.stop_price_away(stop, sign)
        target = instrument.round_price(target)
    return Position(
        wallet_id=wallet_id,
        venue=venue,
        symbol=held.symbol,
        side=held.side,
        qty=held.qty,
        entry_price=held.entry_price,
        opened_ms=now_ms,
        stop_loss=stop,
        take_profit=target,
        initial_stop=stop,
        strategy="adopted",
        signal_id="adopt-" + stable_id(wallet_id, venue, held.symbol, now_ms),
        contract_size=instrument.contract_size if instrument is not None else 1.0,
        high_water=held.entry_price,
        low_water=held.entry_price,
        max_hold_ms=max_hold_ms,
        updated_ms=now_ms,
        ideal_entry=held.entry_price,
        last_funding_ms=now_ms,
    )


@dataclass(slots=True)
class _Findings:
    wallets: list[str] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    diffs: list[Difference] = field(default_factory=list)
    """One per orphan, same order."""
    live: list[str] = field(default_factory=list)

    def add(self, orphan: Orphan, diff: Difference) -> int:
        self.orphans.append(orphan)
        self.diffs.append(diff)
        return len(self.diffs) - 1

    def settle(self, index: int, status: str, note: str) -> None:
        """The policy acted on difference `index` (adopted / closed)."""
        self.diffs[index] = replace(self.diffs[index], status=status, by="reconcile", note=note)


def _difference(
    wid: str,
    venue: str,
    kind: str,
    symbol: str,
    local: str,
    at_venue: str,
    *,
    side: str = "",
    qty: float = 0.0,
    price: float = 0.0,
    coid: str = "",
) -> Difference:
    return Difference(
        id=difference_id(wid, kind, symbol, coid),
        wallet_id=wid,
        venue=venue,
        kind=kind,
        symbol=symbol,
        local=local,
        at_venue=at_venue,
        first_seen_ms=0,
        last_seen_ms=0,
        side=side,
        qty=qty,
        price=price,
        client_order_id=coid,
    )


class Reconciler:
    """Compares live wallets with their venues and applies the configured policy."""

    def __init__(
        self,
        policy: Literal["halt", "adopt"],
        clock: Clock,
        ledger: OrderLedger,
        portfolio: Portfolio,
        instruments: Mapping[str, Instrument],
        host: ReconcileHost,
        *,
        max_hold_ms: int = 0,
        adoption_check: AdoptionCheck | None = None,
        fee_rate: FeeRate | None = None,
        book: DifferenceBook | None = None,
    ) -> None:
        self._book = book
        self._policy = policy
        self._clock = clock
        self._ledger = ledger
        self._portfolio = portfolio
        self._instruments = instruments
        self._host = host
        self._max_hold_ms = max_hold_ms
        self._adoption_check = adoption_check
        self._fee_rate = fee_rate

    async def run(self, executors: Mapping[str, Executor]) -> ReconcileReport:
        found = _Findings()
        for wid in sorted(executors):
            executor = executors[wid]
            found.wallets.append(wid)
            if isinstance(executor, LiveExecutor):
                found.live.append(wid)
                flying = executor.in_flight()
                for coid, symbol in sorted(flying.items()):
                    found.resolved.append(f"{wid}: {coid} on {symbol} in flight: checked later")
                await self._orders(wid, executor, found, flying)
                await self._positions(wid, executor, found, set(flying.values()))
                if flying:
                    found.resolved.append(f"{wid}: balance not checked while an order is in flight")
                else:
                    await self._balance(wid, executor, found)
        diffs = found.diffs
        if self._book is not None:
            diffs = await self._book.observe(found.live, found.diffs)
        for orphan, diff in zip(found.orphans, diffs, strict=True):
            if diff.status == "ignored":
                continue  # the operator saw it and chose to let it be
            text = f"{orphan.text} [{diff.id}]"
            await self._host.publish(
                ALERT, Alert("warning", text, self._clock.now_ms(), "reconcile")
            )
        halting = any(d.halts for d in diffs)
        halt = bool(found.refusals) or (self._policy == "halt" and halting)
        return ReconcileReport(
            ts_ms=self._clock.now_ms(),
            policy=self._policy,
            wallets=tuple(found.wallets),
            orphans=tuple(found.orphans),
            resolved=tuple(found.resolved),
            adopted=tuple(found.adopted),
            halt=halt,
            refusals=tuple(found.refusals),
            differences=tuple(diffs),
        )

    # ---- orders ----------------------------------------------------------------------------
    async def _orders(
        self,
        wid: str,
        executor: LiveExecutor,
        found: _Findings,
        flying: Mapping[str, str] | None = None,
    ) -> None:
        skip = flying or {}
        at_venue = {
            o.client_order_id: o
            for o in await executor.venue_open_orders()
            if o.client_order_id not in skip
        }
        ours = {
            o.client_order_id: o for o in self._ledger.working(wid) if o.client_order_id not in skip
        }
        for coid, order in at_venue.items():
            if coid in ours:
                continue
            detail = f"{order.side.value} {order.qty:g} ({coid}) is open on the venue, unknown here"
            price = order.price or order.stop_price or 0.0
            at = f"{order.order_type.value} {order.side.value} {order.qty:g}"
            at += f" @ {price:g}" if price else ""
            index = found.add(
                Orphan(wid, "order", order.symbol, detail),
                _difference(
                    wid,
                    executor.venue,
                    "orphan_order",
                    order.symbol,
                    "nothing",
                    f"{at} ({coid})",
                    side=order.side.value,
                    qty=order.remaining_qty,
                    price=price,
                    coid=coid,
                ),
            )
            if self._policy == "adopt":
                try:
                    await self._host.book(wid, await executor.cancel(coid))
                    found.adopted.append(f"cancelled orphan order {coid}")
                    found.settle(index, "closed", "cancelled at the venue (policy adopt)")
                except VenueError as exc:
                    found.resolved.append(f"{coid}: cancel failed: {exc}")
        claimed: set[str] | None = None
        for coid, order in ours.items():
            if coid not in at_venue:
                update = await executor.query(coid)
                if update is None and not order.venue_order_id and not order.reduce_only:
                    # sent as the node died, never acknowledged: a venue without client ids
                    # may still tell which of its records it is
                    if claimed is None:
                        claimed = self._claimed(wid)
                    update = await executor.recover(order, claimed)
                    if update is not None and update.venue_order_id:
                        claimed.add(update.venue_order_id)
                        text = f"{coid}: recovered as {update.venue_order_id} ({update.reason})"
                        found.resolved.append(text)
                        await self._host.publish(
                            ALERT,
                            Alert(
                                "info",
                                f"reconcile {wid}: {text}",
                                self._clock.now_ms(),
                                "reconcile",
                            ),
                        )
                found.resolved.append(await self._settle(wid, order, update))

    def _claimed(self, wid: str) -> set[str]:
        """Venue ids that booked orders and fills of a wallet already account for."""
        store = self._ledger.store(wid)
        ids = {o.venue_order_id for o in store.load_orders(wallet_id=wid) if o.venue_order_id}
        ids.update(f.venue_ref for f in store.load_fills() if f.wallet_id == wid and f.venue_ref)
        return ids

    async def _settle(self, wid: str, order: Order, update: OrderUpdate | None) -> str:
        """Bring a stored working order in line with the venue's word on it."""
        now = self._clock.now_ms()
        events: list[ExecutorEvent] = []
        if update is not None and update.filled_qty > order.filled_qty + _QTY_TOLERANCE:
            events.append(self._missed_fill(wid, order, update, now))
        if update is None:
            status = (
                OrderStatus.REJECTED if order.status is OrderStatus.NEW else OrderStatus.EXPIRED
            )
            update = OrderUpdate(
                order.client_order_id, status, now, reason="not found on the venue at reconcile"
            )
        if update.status.is_terminal and update.status is not OrderStatus.FILLED:
            events.append(update)
        await self._host.book(wid, events)
        settled = self._ledger.get(order.client_order_id, wid)
        state = settled.status.value if settled is not None else "unknown"
        return f"{order.client_order_id}: {state} ({update.reason or update.status.value})"

    def _missed_fill(self, wid: str, order: Order, update: OrderUpdate, now: int) -> Fill:
        """The fill the venue made while we were not listening, with its fee: the venue's own
        figure when it reports fees, else the taker fee the cost model expects. It completes
        the order when the venue says FILLED (a Deriv contract's size is the stake's, not
        exactly the order's) and names the venue's record (venue_ref)."""
        missing = update.filled_qty - order.filled_qty
        paid = update.avg_fill_price * update.filled_qty
        price = (paid - order.avg_fill_price * order.filled_qty) / missing
        instrument = self._instruments.get(order.key)
        size = instrument.contract_size if instrument is not None else 1.0
        if update.fees > order.fees:
            fee = update.fees - order.fees
        else:
            rate = self._fee_rate(wid) if self._fee_rate is not None else 0.0
            fee = missing * price * size * rate
        return Fill(
            fill_id=f"{order.client_order_id}-reconciled-{update.filled_qty:g}",
            client_order_id=order.client_order_id,
            wallet_id=wid,
            venue=order.venue,
            symbol=order.symbol,
            side=order.side,
            qty=missing,
            price=price,
            fee=fee,
            ts_ms=now,
            last=update.status is OrderStatus.FILLED,
            venue_ref=update.venue_order_id,
        )

    # ---- positions -------------------------------------------------------------------------
    async def _positions(
        self,
        wid: str,
        executor: LiveExecutor,
        found: _Findings,
        flying: set[str] | None = None,
    ) -> None:
        venue = executor.venue
        skip = flying or set()  # markets with an order in flight: their fill is on its way
        at_venue = {p.symbol: p for p in await executor.venue_positions() if p.symbol not in skip}
        ours = {
            p.symbol: p
            for p in self._portfolio.positions(wid)
            if p.venue == venue and p.symbol not in skip
        }
        for symbol, held in at_venue.items():
            mine = ours.get(symbol)
            if mine is not None and _same(mine, held):
                continue
            here = f"{mine.side.value} {mine.qty:g}" if mine is not None else "nothing"
            detail = (
                f"venue holds {held.side.value} {held.qty:g} @ {held.entry_price:g}; stored: {here}"
            )
            kind = "orphan_position" if mine is None else "size"
            index = found.add(
                Orphan(wid, "position", symbol, detail),
                _difference(
                    wid,
                    venue,
                    kind,
                    symbol,
                    here,
                    f"{held.side.value} {held.qty:g} @ {held.entry_price:g}",
                    side=held.side.value,
                    qty=held.qty,
                    price=held.entry_price,
                ),
            )
            if self._policy == "adopt" and await self._adopt(wid, venue, held, mine, found):
                found.settle(index, "adopted", "adopted (policy adopt)")
        for symbol, mine in ours.items():
            if symbol in at_venue:
                continue
            detail = f"stored {mine.side.value} {mine.qty:g} but the venue holds nothing"
            index = found.add(
                Orphan(wid, "missing_position", symbol, detail),
                _difference(
                    wid,
                    venue,
                    "missing_position",
                    symbol,
                    f"{mine.side.value} {mine.qty:g} @ {mine.entry_price:g}",
                    "nothing",
                    side=mine.side.value,
                    qty=mine.qty,
                    price=mine.entry_price,
                ),
            )
            if self._policy == "adopt":
                await self._close_missing(wid, mine, found)
                found.settle(index, "adopted", "closed in our books (policy adopt)")

    async def _adopt(
        self,
        wid: str,
        venue: str,
        held: VenuePosition,
        mine: Position | None,
        found: _Findings,
    ) -> bool:
        key = f"{venue}:{held.symbol}"
        refusal = await self.adopt_position(wid, venue, held, mine)
        if refusal is not None:
            found.refusals.append(f"reconcile {wid}: not adopting {key}: {refusal}")
            return False
        found.adopted.append(f"{wid} {key} {held.side.value} {held.qty:g}")
        return True

    async def adopt_position(
        self, wid: str, venue: str, held: VenuePosition, mine: Position | None
    ) -> str | None:
        """Take a venue position into our books when the risk gate allows it (exposure,
        leverage, balance); returns the gate's reason when it does not."""
        key = f"{venue}:{held.symbol}"
        if self._adoption_check is not None:
            refusal = self._adoption_check(wid, key, held.side, held.qty, held.entry_price)
            if refusal is not None:
                return refusal
        now = self._clock.now_ms()
        if mine is not None and mine.side is held.side:
            position = replace(mine, qty=held.qty, entry_price=held.entry_price, updated_ms=now)
        else:
            position = adopted_position(
                wid,
                venue,
                held,
                now_ms=now,
                instrument=self._instruments.get(key),
                max_hold_ms=self._max_hold_ms,
            )
        await self._host.publish(POSITION, self._portfolio.adopt_position(position))
        return None

    async def _close_missing(self, wid: str, mine: Position, found: _Findings) -> None:
        text = await self.close_missing(wid, mine)
        if text:
            found.adopted.append(text)

    async def close_missing(self, wid: str, mine: Position) -> str:
        """Close our record of a position the venue no longer holds, at its last mark, as a
        trade with its PnL (the venue closed it: a stop, a liquidation, a manual close)."""
        price = self._portfolio.mark(mine.key) or mine.entry_price
        outcome = self._portfolio.close_missing(
            wid, mine.key, price, "flat at the venue (reconcile)"
        )
        if outcome is None:
            return ""
        await self._host.publish(POSITION, outcome.update)
        await self._host.publish(WALLET, outcome.snapshot)
        if outcome.closed is not None:
            await self._host.publish(TRADE_CLOSED, outcome.closed)
        return f"{wid} {mine.key} closed at {price:g} (flat on the venue)"

    # ---- balance ---------------------------------------------------------------------------
    async def _balance(self, wid: str, executor: LiveExecutor, found: _Findings) -> None:
        wallet = self._portfolio.wallet(wid)
        if wallet is None:
            return
        try:
            venue = await executor.venue_balance()
        except VenueError as exc:
            found.resolved.append(f"{wid}: balance not checked: {exc}")
            return
        difference = venue.total - wallet.balance
        tolerance = max(0.01, BALANCE_TOLERANCE * abs(wallet.balance))
        if abs(difference) <= tolerance:
            return
        detail = (
            f"venue balance {venue.total:.2f} {venue.currency}, wallet {wallet.balance:.2f} "
            f"(difference {difference:+.2f})"
        )
        index = found.add(
            Orphan(wid, "balance", "", detail),
            _difference(
                wid,
                executor.venue,
                "balance",
                "",
                f"{wallet.balance:.2f} {wallet.currency}",
                f"{venue.total:.2f} {venue.currency}",
                price=venue.total,
            ),
        )
        if self._policy == "adopt":
            found.adopted.append(await self.adopt_balance(wid, venue.total))
            found.settle(index, "adopted", "wallet cash set to the venue's (policy adopt)")

    async def adopt_balance(self, wid: str, total: float) -> str:
        """Set a live wallet's cash to the venue's figure."""
        snapshot = self._portfolio.adjust_balance(wid, total, "reconcile")
        await self._host.publish(WALLET, snapshot)
        return f"{wid} balance set to the venue's {total:.2f}"


def _same(mine: Position, held: VenuePosition) -> bool:
    return mine.side is held.side and abs(mine.qty - held.qty) <= _QTY_TOLERANCE * max(
        1.0, held.qty
    )
