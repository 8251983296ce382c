"""The operator's actions on reconciliation differences: adopt, close, ignore.

Each action looks at the venue again first (a difference that is gone is marked resolved and
the action refused), then:

adopt   orphan / size-different position: taken into the books through the same adoption path
        the "adopt" policy uses, which asks the risk gate (exposure, leverage, balance) and is
        refused with the gate's reason; then its resting stop and target are placed.
        orphan order: asks the gate as if the order filled, then enters the ledger as ours
        (its venue id kept, purpose entry, a conservative stop/target plan) and the venue
        client follows its fills; a reduce-only orphan order is refused (close it instead).
        missing position: the venue's word is taken (our record closed at the last mark).
        balance: the wallet's cash is set to the venue's.
close   orphan position: a reduce-only market order for the venue's size (for a size
        difference: the excess over what we hold), sent outside the books (we never held it).
        orphan order: cancelled at the venue.
        missing position / balance: nothing exists at the venue to close (refused: adopt or
        ignore).
ignore  kept and listed, no longer halting (the operator saw it).

Every change is stored in the difference's row (status, by whom, the outcome) and published;
control.py writes the audit journal around each call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tradeterm.clock import Clock
from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.ids import stable_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.orders import EntryPlan, Order, OrderPurpose
from tradeterm.domain.reconcile import Difference
from tradeterm.errors import ControlError, UserError, VenueError
from tradeterm.execution.differences import DifferenceBook
from tradeterm.execution.executors import Executor, LiveExecutor
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.execution.reconcile import ADOPT_STOP_FRACTION, AdoptionCheck, Reconciler
from tradeterm.execution.router import OrderRouter
from tradeterm.portfolio.book import Portfolio
from tradeterm.venues.base import VenuePosition

_QTY = 1e-9


class ReconcileActions:
    """adopt / close / ignore one difference by id (see the module docstring)."""

    def __init__(
        self,
        reconciler: Reconciler,
        book: DifferenceBook,
        executors: Mapping[str, Executor],
        ledger: OrderLedger,
        portfolio: Portfolio,
        adoption_check: AdoptionCheck,
        clock: Clock,
        router: OrderRouter,
        instruments: Mapping[str, Instrument],
    ) -> None:
        self._reconciler = reconciler
        self._book = book
        self._executors = executors
        self._ledger = ledger
        self._portfolio = portfolio
        self._check = adoption_check
        self._clock = clock
        self._router = router
        self._instruments = instruments

    # ---- lookups ---------------------------------------------------------------------------
    def find(self, diff_id: str) -> Difference:
        diff = self._book.get(diff_id)
        if diff is None:
            known = ", ".join(d.id for d in self._book.active()) or "none open"
            raise UserError(f"no reconciliation difference '{diff_id[:64]}' (open: {known})")
        return diff

    def _active(self, diff_id: str) -> Difference:
        diff = self.find(diff_id)
        if not diff.active:
            raise ControlError(f"difference {diff.id} is already {diff.status} ({diff.note})")
        return diff

    def _executor(self, diff: Difference) -> LiveExecutor:
        executor = self._executors.get(diff.wallet_id)
        if not isinstance(executor, LiveExecutor):
            raise ControlError(f"wallet {diff.wallet_id} is not a running live wallet")
        return executor

    def _name(self, diff: Difference) -> str:
        inst = self._instruments.get(f"{diff.venue}:{diff.symbol}")
        if inst is not None and "/" in inst.display_name:
            return inst.display_name  # ccxt's unified name: BTC/USDT:USDT
        return diff.symbol

    async def _gone(self, diff: Difference) -> ControlError:
        await self._book.set_status(diff, "resolved", by="venue", note="gone from the venue")
        return ControlError(f"difference {diff.id} is gone from the venue: nothing to do")

    async def _venue_position(self, diff: Difference) -> VenuePosition:
        executor = self._executor(diff)
        held = {p.symbol: p for p in await executor.venue_positions()}.get(diff.symbol)
        if held is None:
            raise await self._gone(diff)
        return held

    async def _venue_order(self, diff: Difference) -> Order:
        executor = self._executor(diff)
        orders = {o.client_order_id: o for o in await executor.venue_open_orders()}
        order = orders.get(diff.client_order_id)
        if order is None:
            raise await self._gone(diff)
        return order

    # ---- what will be sent (the console's confirm modal) ------------------------------------
    def preview(self, diff_id: str, action: str) -> str:
        d = self.find(diff_id)
        name = self._name(d)
        if action == "ignore":
            return f"ignore {d.what} {name}".rstrip() + ": kept in the list, no longer halting"
        if action == "adopt":
            if d.kind in ("orphan_position", "size"):
                return (
                    f"adopt {d.side} {d.qty:g} {name} @ {d.price:g} into {d.wallet_id} (stop "
                    f"{ADOPT_STOP_FRACTION:.0%} away) if the risk gate allows it"
                )
            if d.kind == "orphan_order":
                return (
                    f"take order {d.client_order_id} ({d.at_venue.split(' (')[0]}) into "
                    f"{d.wallet_id}'s ledger as ours, if the risk gate allows it"
                )
            if d.kind == "missing_position":
                return f"close our record of {d.local} {name} at its last mark (venue is flat)"
            return f"set {d.wallet_id}'s cash to the venue's {d.at_venue}"
        if action == "close":
            if d.kind == "orphan_order":
                return f"cancel order {d.client_order_id} {name} at the venue"
            if d.kind in ("orphan_position", "size"):
                return f"reduce-only close {self._close_qty(d):g} {name} at market"
            return f"nothing to close at the venue for a {d.what} (adopt or ignore it)"
        raise UserError(f"unknown action '{action}' (adopt, close, ignore)")

    def _close_qty(self, d: Difference) -> float:
        if d.kind != "size":
            return d.qty
        mine = self._portfolio.position(d.wallet_id, f"{d.venue}:{d.symbol}")
        if mine is None or mine.side.value != d.side:
            return d.qty
        return max(0.0, d.qty - mine.qty)

    # ---- actions ---------------------------------------------------------------------------
    async def ignore(self, diff_id: str, *, by: str) -> Difference:
        d = self._active(diff_id)
        if d.status == "ignored":
            raise ControlError(f"difference {d.id} is already ignored (by {d.by})")
        return await self._book.set_status(d, "ignored", by=by, note=f"ignored by {by}")

    async def adopt(self, diff_id: str, *, by: str) -> Difference:
        d = self._active(diff_id)
        key = f"{d.venue}:{d.symbol}"
        if d.kind in ("orphan_position", "size"):
            held = await self._venue_position(d)
            mine = self._portfolio.position(d.wallet_id, key)
            refusal = await self._reconciler.adopt_position(d.wallet_id, d.venue, held, mine)
            if refusal is not None:
                await self._book.set_status(d, d.status, by=by, note=f"adopt refused: {refusal}")
                raise ControlError(f"adopting {key} refused by the risk gate: {refusal}")
            await self._router.protect(d.wallet_id, key)
            note = f"adopted {held.side.value} {held.qty:g} @ {held.entry_price:g} by {by}"
            return await self._book.set_status(d, "adopted", by=by, note=note)
        if d.kind == "orphan_order":
            return await self._adopt_order(d, by)
        if d.kind == "missing_position":
            mine = self._portfolio.position(d.wallet_id, key)
            if mine is None:
                raise await self._gone(d)
            at_venue = {p.symbol for p in await self._executor(d).venue_positions()}
            if d.symbol in at_venue:
                raise await self._gone(d)
            text = await self._reconciler.close_missing(d.wallet_id, mine)
            return await self._book.set_status(d, "adopted", by=by, note=text or "closed")
        if d.kind == "balance":
            total = (await self._executor(d).venue_balance()).total
            text = await self._reconciler.adopt_balance(d.wallet_id, total)
            return await self._book.set_status(d, "adopted", by=by, note=text)
        raise ControlError(f"cannot adopt a {d.what}")

    async def _adopt_order(self, d: Difference, by: str) -> Difference:
        executor = self._executor(d)
        found = await self._venue_order(d)
        key = f"{d.venue}:{d.symbol}"
        if found.reduce_only:
            raise ControlError(
                f"order {d.client_order_id} is reduce-only for a position we do not hold: close"
                " (cancel) it, or adopt the position first"
            )
        if not executor.can_track:
            raise ControlError(f"{d.venue} cannot follow an order placed elsewhere: close it")
        price = found.price or found.stop_price or self._portfolio.mark(key) or 0.0
        refusal = self._check(d.wallet_id, key, found.side, found.remaining_qty, price)
        if refusal is not None:
            await self._book.set_status(d, d.status, by=by, note=f"adopt refused: {refusal}")
            raise ControlError(
                f"adopting order {d.client_order_id} refused by the risk gate: {refusal}"
            )
        now = self._clock.now_ms()
        sign = found.side.sign
        inst = self._instruments.get(key)
        stop = price * (1.0 - sign * ADOPT_STOP_FRACTION)
        target = price * (1.0 + sign * 3 * ADOPT_STOP_FRACTION)
        if inst is not None:
            stop = inst.stop_price_away(stop, sign)
            target = inst.round_price(target)
        signal = "adopt-" + stable_id(d.wallet_id, found.client_order_id, now)
        plan = EntryPlan(
            stop_loss=stop,
            take_profit=target,
            strategy="adopted",
            arm="adopted",
            signal_id=signal,
            timeframe="",
            risk_per_unit=abs(price - stop) * (inst.contract_size if inst else 1.0),
            ideal_entry=price,
        )
        order = replace(
            found,
            wallet_id=d.wallet_id,
            purpose=OrderPurpose.ENTRY,
            signal_id=signal,
            status=OrderStatus.SUBMITTED,
            updated_ms=now,
            ref_price=price,
        )
        order = self._ledger.create(order, plan, note=f"orphan order adopted by {by}")
        executor.adopt(order)
        await self._router.publish(topics.ORDER, order)
        note = f"order {found.client_order_id} ({found.venue_order_id}) adopted by {by}"
        return await self._book.set_status(d, "adopted", by=by, note=note)

    async def close(self, diff_id: str, *, by: str) -> Difference:
        d = self._active(diff_id)
        executor = self._executor(d)
        if d.kind == "orphan_order":
            await self._venue_order(d)
            try:
                events = await executor.cancel(d.client_order_id)
            except VenueError as exc:
                raise ControlError(f"cancel of {d.client_order_id} failed: {exc}") from None
            status = next((e.status for e in events if hasattr(e, "status")), None)
            if status is not None and status is not OrderStatus.CANCELLED:
                raise ControlError(f"cancel of {d.client_order_id}: the venue says {status.value}")
            note = f"cancelled {d.client_order_id} at the venue by {by}"
            return await self._book.set_status(d, "closed", by=by, note=note)
        if d.kind in ("orphan_position", "size"):
            held = await self._venue_position(d)
            d = replace(d, qty=held.qty, side=held.side.value)
            qty = self._close_qty(d)
            if qty <= _QTY:
                raise ControlError(
                    f"the venue holds no more of {d.symbol} than our books: nothing to close"
                    " (adopt takes the venue's word)"
                )
            order = Order(
                client_order_id="tt-rc-" + stable_id(d.id, d.first_seen_ms, qty, length=20),
                wallet_id=d.wallet_id,
                venue=d.venue,
                symbol=d.symbol,
                side=Side.SELL if held.side is Side.BUY else Side.BUY,
                order_type=OrderType.MARKET,
                qty=qty,
                created_ms=self._clock.now_ms(),
                reduce_only=True,
                purpose=OrderPurpose.FLATTEN,
                ref_price=self._portfolio.mark(f"{d.venue}:{d.symbol}") or held.entry_price,
            )
            events = await executor.submit_outside_books(order)
            refused = [e for e in events if getattr(e, "status", None) is OrderStatus.REJECTED]
            if refused:
                reason = getattr(refused[0], "reason", "") or "rejected"
                raise ControlError(f"reduce-only close of {d.symbol} refused: {reason}")
            note = f"reduce-only close {qty:g} {self._name(d)} sent at market by {by}"
            return await self._book.set_status(d, "closed", by=by, note=note)
        raise ControlError(
            f"nothing to close at the venue for a {d.what}: `reconcile adopt {d.id}` takes the"
            f" venue's word, `reconcile ignore {d.id}` keeps ours"
        )
