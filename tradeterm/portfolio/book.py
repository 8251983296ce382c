"""The Portfolio: every wallet's cash, its open positions, their marks, PnL and exposure.

One Portfolio serves the node; each wallet's rows live in its own database file (paper or live,
through `Stores.for_wallet`), and no wallet ever spends another's cash. Prices arrive by
`on_tick` (O(1): a mark per market); fills by `apply_fill`, which the execution engine calls
inside the same `atomic()` block that stores the fill and the order, so a fill, its order and
the position and wallet it changed are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from tradeterm.clock import Clock
from tradeterm.domain.enums import Domain, OrderType, WalletMode
from tradeterm.domain.events import ClosedTrade, PositionUpdate, WalletSnapshot
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.domain.wallets import Wallet, wallet_id
from tradeterm.portfolio import positions as netting
from tradeterm.portfolio import wallets as cash
from tradeterm.storage.db import Storage
from tradeterm.storage.router import Stores

_PosKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """What a fill changed: the position (or its closing), the round trip if one ended, and the
    wallet marked to market right after."""

    update: PositionUpdate
    closed: ClosedTrade | None
    snapshot: WalletSnapshot


@dataclass(frozen=True, slots=True)
class _Saved:
    """A slot's state before a change, to put back if the write fails."""

    wallet: Wallet
    position: Position | None
    plan: EntryPlan | None
    exits: tuple[float, float] | None


class Portfolio:
    """Wallets per domain and mode, net positions per wallet and market, marks, PnL, exposure."""

    def __init__(
        self,
        stores: Stores,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        *,
        currency: str = "USD",
    ) -> None:
        self._stores = stores
        self._clock = clock
        self._instruments = instruments
        self._currency = currency
        self._wallets: dict[str, Wallet] = {}
        self._by_wallet: dict[str, dict[str, Position]] = {}
        self._by_key: dict[str, dict[str, Position]] = {}
        self._plans: dict[_PosKey, EntryPlan] = {}
        self._exits: dict[_PosKey, tuple[float, float]] = {}
        self._marks: dict[str, float] = {}
        self._quotes: dict[str, Tick] = {}

    # ---- start-up --------------------------------------------------------------------------
    def restore(self) -> None:
        """Wallets, open positions and their entry plans from every open database."""
        for store in self._stores.all():
            for wallet in store.load_wallets():
                self._wallets[wallet.id] = wallet
            for position in store.load_positions():
                self._put(position)
                plan = netting.entry_plan(store, position.wallet_id, position.signal_id)
                if plan is not None:
                    self._plans[(position.wallet_id, position.key)] = plan

    def activate_wallet(
        self,
        mode: WalletMode,
        domain: Domain,
        balance: float,
        *,
        venue: str = "",
        account: str = "",
    ) -> Wallet:
        """Fund a wallet the first time its domain is used; an existing wallet comes back as it
        is (activation never re-funds)."""
        wid = wallet_id(mode, domain)
        existing = self._wallets.get(wid)
        if existing is not None:
            return existing
        wallet = cash.open_wallet(
            mode,
            domain,
            balance,
            currency=self._currency,
            now_ms=self._clock.now_ms(),
            venue=venue,
            account=account,
        )
        self._stores.for_wallet(wid).save_wallet(wallet)
        self._wallets[wid] = wallet
        return wallet

    # ---- queries ---------------------------------------------------------------------------
    def wallet(self, wallet_id: str) -> Wallet | None:
        return self._wallets.get(wallet_id)

    def wallets(self) -> list[Wallet]:
        return [self._wallets[k] for k in sorted(self._wallets)]

    def positions(self, wallet_id: str | None = None) -> list[Position]:
        """Open positions of one wallet (or of all), ordered by wallet and market."""
        if wallet_id is not None:
            held = self._by_wallet.get(wallet_id, {})
            return [held[k] for k in sorted(held)]
        return [p for wid in sorted(self._by_wallet) for p in self.positions(wid)]

    def positions_on(self, key: str) -> tuple[Position, ...]:
        """Open positions on one market across wallets (the monitor's per-tick view)."""
        held = self._by_key.get(key)
        return tuple(held.values()) if held else ()

    def position(self, wallet_id: str, key: str) -> Position | None:
        return self._by_wallet.get(wallet_id, {}).get(key)

    def plan(self, wallet_id: str, key: str) -> EntryPlan | None:
        """The entry plan of an open position (timeframe, ATR, arm...), if known."""
        return self._plans.get((wallet_id, key))

    def open_count(self, key: str) -> int:
        """Open positions on a market across wallets."""
        return len(self._by_key.get(key, ()))

    def mark(self, key: str) -> float | None:
        """The last price seen for a market."""
        return self._marks.get(key)

    def quote(self, key: str) -> Tick | None:
        """The last quote (price, bid, ask) seen for a market."""
        return self._quotes.get(key)

    def on_tick(self, tick: Tick) -> None:
        self._marks[tick.key] = tick.price
        self._quotes[tick.key] = tick

    def equity(self, wallet_id: str) -> float:
        """Balance plus the cash held by open positions (multiplier stakes) plus their
        unrealised PnL at their marks."""
        wallet = self._require(wallet_id)
        return wallet.balance + sum(
            p.margin + p.unrealized_pnl(self._marks.get(p.key, p.entry_price))
            for p in self._by_wallet.get(wallet_id, {}).values()
        )

    def snapshot(self, wallet_id: str) -> WalletSnapshot:
        """The wallet marked to market: equity, unrealised PnL, exposure (total and per market),
        drawdown from peak equity and PnL since UTC midnight. Carries the peak up and rolls the
        day start (a rolled day is persisted at once)."""
        wallet = self._require(wallet_id)
        unrealized = 0.0
        in_positions = 0.0
        by_symbol: dict[str, float] = {}
        held = self._by_wallet.get(wallet_id, {})
        for key, pos in held.items():
            mark = self._marks.get(key, pos.entry_price)
            unrealized += pos.unrealized_pnl(mark)
            in_positions += pos.margin
            by_symbol[key] = abs(pos.qty * mark * pos.contract_size)
        equity = wallet.balance + in_positions + unrealized
        now = self._clock.now_ms()
        marked, rolled = cash.mark_equity(wallet, equity, now)
        if marked is not wallet:
            self._wallets[wallet_id] = marked
            if rolled:
                self._stores.for_wallet(wallet_id).save_wallet(marked)
        return WalletSnapshot(
            wallet=marked,
            equity=equity,
            unrealized_pnl=unrealized,
            exposure=sum(by_symbol.values()),
            exposure_by_symbol=by_symbol,
            open_positions=len(held),
            drawdown=cash.drawdown(marked, equity),
            daily_pnl=equity - marked.day_start_equity,
            ts_ms=now,
        )

    def snapshots(self) -> list[WalletSnapshot]:
        return [self.snapshot(wid) for wid in sorted(self._wallets)]

    def record_equity(self) -> list[WalletSnapshot]:
        """Append a point to every wallet's equity curve and persist its peak and day start."""
        snaps = self.snapshots()
        for snap in snaps:
            store = self._stores.for_wallet(snap.wallet.id)
            with store.atomic():
                store.save_wallet(snap.wallet)
                store.save_equity(
                    snap.wallet.id,
                    snap.ts_ms,
                    snap.equity,
                    snap.wallet.balance,
                    snap.unrealized_pnl,
                )
        return snaps

    # ---- changes ---------------------------------------------------------------------------
    def apply_fill(self, fill: Fill, order: Order, plan: EntryPlan | None) -> FillOutcome:
        """Book a fill: position opened, added to, reduced, closed or reversed; fee paid; PnL
        realised; a ClosedTrade when a position closes. Persists the position, trade and wallet
        rows (the caller wraps this in the atomic block that stores the fill and the order)."""
        wid = fill.wallet_id
        wallet = self._require(wid)
        key = f"{fill.venue}:{fill.symbol}"
        slot = (wid, key)
        current = self.position(wid, key)
        saved = _Saved(wallet, current, self._plans.get(slot), self._exits.get(slot))
        effect = netting.apply_fill(
            current,
            fill,
            contract_size=self._contract_size(key),
            plan=plan,
            signal_id=order.signal_id,
            multiplier=self._multiplier(key),
        )
        trade = self._closed_trade(effect, fill, order, slot)
        self._marks.setdefault(key, fill.price)
        self._wallets[wid] = cash.book_fill(
            wallet, effect.realized, fill.fee, fill.ts_ms, effect.held
        )
        self._place(slot, effect.position, plan, new=current is None or trade is not None)
        try:
            snap = self.snapshot(wid)
            store = self._stores.for_wallet(wid)
            with store.atomic():
                self._save_position(store, fill.venue, fill.symbol, wid, effect.position)
                if trade is not None:
                    store.save_trade(trade)
                store.save_wallet(snap.wallet)
        except Exception:
            self._restore_slot(slot, saved)
            raise
        update = PositionUpdate(
            wid, fill.venue, fill.symbol, effect.position, fill.ts_ms, self._marks[key]
        )
        return FillOutcome(update, trade, snap)

    def apply_funding(
        self, wallet_id: str, key: str, paid: float, ts_ms: int
    ) -> tuple[PositionUpdate, WalletSnapshot] | None:
        """Book a funding payment on an open perpetual position (`paid` > 0 leaves the wallet).
        None when the wallet holds nothing on that market."""
        pos = self.position(wallet_id, key)
        if pos is None or ts_ms <= pos.last_funding_ms:
            return None
        wallet = cash.book_funding(self._require(wallet_id), paid, ts_ms)
        moved = replace(pos, funding=pos.funding + paid, updated_ms=ts_ms, last_funding_ms=ts_ms)
        store = self._stores.for_wallet(wallet_id)
        with store.atomic():
            store.save_position(moved)
            store.save_wallet(wallet)
        self._wallets[wallet_id] = wallet
        self._put(moved)
        mark = self._marks.get(key, pos.entry_price)
        return PositionUpdate(wallet_id, pos.venue, pos.symbol, moved, ts_ms, mark), self.snapshot(
            wallet_id
        )

    def tighten_stop(self, wallet_id: str, key: str, new_stop: float) -> Position:
        """Move a position's stop in its favour and persist it. ValueError if there is no such
        position or the new stop would widen the risk."""
        pos = self.position(wallet_id, key)
        if pos is None:
            raise ValueError(f"no open position on {key} in {wallet_id}")
        if not pos.is_tighter_stop(new_stop):
            raise ValueError(
                f"stop {new_stop} would widen the {pos.side.value} stop {pos.stop_loss} on {key}"
            )
        moved = replace(pos, stop_loss=new_stop, updated_ms=self._clock.now_ms())
        self._stores.for_wallet(wallet_id).save_position(moved)
        self._put(moved)
        return moved

    def set_target(self, wallet_id: str, key: str, new_target: float) -> Position:
        """Move a position's take profit (operator action) and persist it. ValueError if there is
        no such position or the target is not a price."""
        pos = self.position(wallet_id, key)
        if pos is None:
            raise ValueError(f"no open position on {key} in {wallet_id}")
        if new_target <= 0.0:
            raise ValueError(f"target {new_target:g} is not a price")
        moved = replace(pos, take_profit=new_target, updated_ms=self._clock.now_ms())
        self._stores.for_wallet(wallet_id).save_position(moved)
        self._put(moved)
        return moved

    def adopt_position(self, position: Position, plan: EntryPlan | None = None) -> PositionUpdate:
        """Take over a position found on a venue (reconciliation 'adopt'): store and track it."""
        self._require(position.wallet_id)
        self._stores.for_wallet(position.wallet_id).save_position(position)
        self._put(position)
        if plan is not None:
            self._plans[(position.wallet_id, position.key)] = plan
        mark = self._marks.get(position.key, position.entry_price)
        return PositionUpdate(
            position.wallet_id, position.venue, position.symbol, position, position.updated_ms, mark
        )

    def close_missing(
        self, wallet_id: str, key: str, price: float, reason: str
    ) -> FillOutcome | None:
        """Close a stored position the venue no longer holds (reconciliation): its PnL is
        realised at `price` (the last mark) with no fee, a closed trade is recorded with
        `reason`, and the wallet and position rows change in one commit. None when there is no
        such position."""
        pos = self.position(wallet_id, key)
        if pos is None:
            return None
        now = self._clock.now_ms()
        fill = Fill(
            fill_id=f"reconcile-{pos.signal_id or key}-{now}",
            client_order_id="",
            wallet_id=wallet_id,
            venue=pos.venue,
            symbol=pos.symbol,
            side=pos.side.opposite,
            qty=pos.qty,
            price=price,
            fee=0.0,
            ts_ms=now,
        )
        order = Order(
            client_order_id=fill.fill_id,
            wallet_id=wallet_id,
            venue=pos.venue,
            symbol=pos.symbol,
            side=fill.side,
            order_type=OrderType.MARKET,
            qty=pos.qty,
            created_ms=now,
            reduce_only=True,
            purpose=OrderPurpose.EXIT,
            signal_id=pos.signal_id,
            reason=reason,
            ref_price=price,
        )
        return self.apply_fill(fill, order, None)

    def fund_from_venue(self, wallet_id: str, balance: float) -> Wallet:
        """A live wallet that has never traded starts with its venue account's cash: its
        balance, starting balance, peak and day start become `balance` (persisted). A wallet
        that has traded or holds anything is left as it is."""
        wallet = self._require(wallet_id)
        traded = wallet.realized_pnl or wallet.fees_paid or self._by_wallet.get(wallet_id)
        if traded or wallet.balance == balance:
            return wallet
        moved = replace(
            wallet,
            starting_balance=balance,
            balance=balance,
            peak_equity=balance,
            day_start_equity=balance,
            updated_ms=self._clock.now_ms(),
        )
        self._stores.for_wallet(wallet_id).save_wallet(moved)
        self._wallets[wallet_id] = moved
        return moved

    def adjust_balance(self, wallet_id: str, balance: float, reason: str) -> WalletSnapshot:
        """Set a live wallet's cash to the venue's figure (reconciliation 'adopt'); the
        difference is booked as a fee-like adjustment and persisted at once."""
        wallet = self._require(wallet_id)
        now = self._clock.now_ms()
        moved = replace(
            wallet,
            balance=balance,
            fees_paid=wallet.fees_paid + (wallet.balance - balance),
            updated_ms=now,
        )
        self._stores.for_wallet(wallet_id).save_wallet(moved)
        self._wallets[wallet_id] = moved
        return self.snapshot(wallet_id)

    # ---- internals -------------------------------------------------------------------------
    def _require(self, wallet_id: str) -> Wallet:
        wallet = self._wallets.get(wallet_id)
        if wallet is None:
            raise ValueError(f"unknown wallet '{wallet_id}' (not activated)")
        return wallet

    def contract_size(self, key: str) -> float:
        """Units of the underlying per contract of a market (1 when unknown)."""
        return self._contract_size(key)

    def _contract_size(self, key: str) -> float:
        instrument = self._instruments.get(key)
        return instrument.contract_size if instrument is not None else 1.0

    def _multiplier(self, key: str) -> float:
        """The multiplier of a multiplier market (its positions hold their stake), else 0."""
        instrument = self._instruments.get(key)
        return instrument.multiplier if instrument is not None and instrument.is_multiplier else 0.0

    def _closed_trade(
        self, effect: netting.FillEffect, fill: Fill, order: Order, slot: _PosKey
    ) -> ClosedTrade | None:
        """The round trip ended by this fill, its exit price averaged over every reducing fill
        of the position seen by this process (after a restart: over the later ones only)."""
        if effect.reduced_qty <= 0:
            return None
        qty, notional = self._exits.get(slot, (0.0, 0.0))
        qty += effect.reduced_qty
        notional += effect.reduced_qty * fill.price
        if effect.closed is None:
            self._exits[slot] = (qty, notional)
            return None
        self._exits.pop(slot, None)
        return netting.closed_trade(
            effect.closed,
            fill,
            order,
            self._plans.get(slot),
            exit_qty=qty,
            exit_price=notional / qty,
        )

    def _place(
        self, slot: _PosKey, position: Position | None, plan: EntryPlan | None, *, new: bool
    ) -> None:
        """Hold `position` in `slot` (None: flat). A new position takes the entry's plan."""
        if new:
            self._plans.pop(slot, None)
            self._exits.pop(slot, None)
        if position is None:
            self._drop(*slot)
            return
        if new and plan is not None:
            self._plans[slot] = plan
        self._put(position)

    def _restore_slot(self, slot: _PosKey, saved: _Saved) -> None:
        """Undo an in-memory change whose database write failed."""
        self._wallets[slot[0]] = saved.wallet
        if saved.position is None:
            self._drop(*slot)
        else:
            self._put(saved.position)
        self._plans.pop(slot, None)
        self._exits.pop(slot, None)
        if saved.plan is not None:
            self._plans[slot] = saved.plan
        if saved.exits is not None:
            self._exits[slot] = saved.exits

    @staticmethod
    def _save_position(
        store: Storage, venue: str, symbol: str, wid: str, position: Position | None
    ) -> None:
        if position is None:
            store.delete_position(wid, venue, symbol)
        else:
            store.save_position(position)

    def _put(self, position: Position) -> None:
        self._by_wallet.setdefault(position.wallet_id, {})[position.key] = position
        self._by_key.setdefault(position.key, {})[position.wallet_id] = position

    def _drop(self, wallet_id: str, key: str) -> None:
        self._by_wallet.get(wallet_id, {}).pop(key, None)
        held = self._by_key.get(key)
        if held is not None:
            held.pop(wallet_id, None)
            if not held:
                del self._by_key[key]
