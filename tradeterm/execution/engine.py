"""The execution engine: approved risk decisions become orders, fills become positions, and
every open position is watched until it closes.

    RISK_DECISION -> (confirmation when a human must say yes) -> entry order -> executor
    executor events -> order lifecycle + fill + position + wallet, one commit -> ORDER, FILL,
    POSITION, WALLET, TRADE_CLOSED
    TICK -> paper matching, funding, position monitor (SL / TP / trailing / time / max hold /
    weekend) -> exit orders

Client order ids are derived (entry: intent, wallet, purpose; exit: the position's signal, the
exit kind and an attempt number), and an order row is stored before it is sent, so a restart
or a replayed decision never sends a second order. Every change is committed before its event
is published.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from tradeterm.aio import reap
from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import ExecutionConfig, RiskConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import (
    ConfirmationStatus,
    ContractKind,
    OrderStatus,
    Side,
    TradingState,
)
from tradeterm.domain.events import (
    KillSwitchTripped,
    OrderIntent,
    PendingConfirmation,
    PositionUpdate,
    RiskDecision,
    TradingStateChanged,
)
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.multipliers import CloseReason, held_terms
from tradeterm.domain.orders import Order, OrderEvent, OrderPurpose
from tradeterm.domain.perps import (
    CrossLeg,
    PerpMargin,
    cross_liquidated,
    cross_liquidation_price,
    isolated_liquidated,
    isolated_liquidation_price,
    paper_leverage,
)
from tradeterm.domain.positions import Position
from tradeterm.errors import ControlError, StorageError, VenueError
from tradeterm.execution import flatten as fl
from tradeterm.execution.confirmations import (
    ConfirmationEvent,
    ConfirmationQueue,
    describe_closed,
)
from tradeterm.execution.differences import DifferenceBook
from tradeterm.execution.executors import Executor, ExecutorEvent, LiveExecutor
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.execution.monitor import ExitCall, PositionMonitor, StopMove
from tradeterm.execution.reconcile import Reconciler, ReconcileReport
from tradeterm.execution.reconcile_actions import ReconcileActions
from tradeterm.execution.router import PROTECTIVE, OrderRouter, entry_order
from tradeterm.portfolio.book import Portfolio
from tradeterm.storage.router import Stores

log = logging.getLogger(__name__)


class WalletState(Protocol):
    """A wallet's effective trading state (risk.state.EffectiveState satisfies it)."""

    @property
    def state(self) -> TradingState: ...

    @property
    def reason(self) -> str: ...


class RiskGate(Protocol):
    """What execution asks the risk engine (RiskEngine satisfies it)."""

    @property
    def state(self) -> TradingState: ...

    def state_for(self, wallet_id: str) -> WalletState: ...

    def recheck(self, decision: RiskDecision) -> RiskDecision: ...

    def redecide(self, intent: OrderIntent, previous_id: str, salt: str = ...) -> RiskDecision: ...

    def check_stop_change(self, position: Position, new_stop: float) -> str | None: ...

    def check_adoption(
        self, wallet_id: str, key: str, side: Side, qty: float, price: float
    ) -> str | None: ...

    async def change_state(
        self, state: TradingState, reason: str, source: str
    ) -> TradingStateChanged | None: ...


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a start-up rebuilt: working orders re-armed (exits and resting stops; entries wait
    for `resume_entries` after reconciliation), confirmations still pending, and those that
    expired while the process was down."""

    working_orders: int
    resumed: int
    pending_confirmations: int
    expired: tuple[str, ...]
    open_positions: int
    held_entries: int = 0


@dataclass(frozen=True, slots=True)
class CommittedEntry:
    """Exposure promised but not yet held (satisfies risk.Commitment): a working entry order or
    a pending confirmation."""

    key: str
    notional: float
    margin: float
    decision_id: str


class ExecutionEngine:
    """Orders, confirmations, fills, the position monitor, flatten-all, restore and reconcile."""

    def __init__(
        self,
        config: ExecutionConfig,
        clock: Clock,
        stores: Stores,
        portfolio: Portfolio,
        risk: RiskGate,
        instruments: Mapping[str, Instrument],
        executors: Mapping[str, Executor],
        *,
        risk_config: RiskConfig | None = None,
        require_confirmation: Callable[[str], bool] | None = None,
        flatten_wait_s: float = 10.0,
        snapshot_every_s: float = 5.0,
        equity_every_s: float = 60.0,
        reconcile_every_s: float = 300.0,
        background: bool = True,
    ) -> None:
        self.config = config
        self._clock = clock
        self._portfolio = portfolio
        self._risk = risk
        self._instruments = instruments
        self._executors = dict(executors)
        self._require_confirmation = require_confirmation
        self._flatten_wait_ms = round(flatten_wait_s * 1000)
        self._every_ms = (
            round(snapshot_every_s * 1000),
            round(equity_every_s * 1000),
            round(reconcile_every_s * 1000),
        )
        self._max_hold_ms = round(risk_config.max_hold_minutes * 60_000) if risk_config else 0
        self._max_leverage = (risk_config or RiskConfig()).max_leverage
        self._venue_margin: dict[tuple[str, str], PerpMargin] = {}
        """(wallet, market) -> what a live venue last reported of a perpetual position."""
        self.ledger = OrderLedger(stores, clock)
        self.differences = DifferenceBook(clock, self.ledger.store, stores.all(), self.publish)
        """Reconciliation differences, kept and published (RECONCILE)."""
        self.confirmations = ConfirmationQueue(clock, stores, config.confirmation_ttl_s)
        self.monitor = PositionMonitor(config, risk_config, instruments)
        self.router = OrderRouter(
            clock,
            self.ledger,
            portfolio,
            self._executors,
            self.monitor,
            self.publish,
            resting_stops=config.resting_stops,
        )
        self._held: list[Order] = []
        self._ticks: dict[str, Tick] = {}
        self._bus: Bus | None = None
        self._task: asyncio.Task[None] | None = None
        self._background = background
        """Run the housekeeping task (off in the event backtest: its driver marks wallets after
        every tick; backtests have no confirmations to expire and nothing to reconcile)."""

    # ---- wallets -----------------------------------------------------------------------------
    def has_executor(self, wallet_id: str) -> bool:
        return wallet_id in self._executors

    def executor(self, wallet_id: str) -> Executor | None:
        return self._executors.get(wallet_id)

    def add_executor(self, executor: Executor) -> None:
        """Attach a newly activated wallet's executor (at start, or when a stage adds wallets).
        The router shares this mapping, so orders route to it at once."""
        self._executors[executor.wallet_id] = executor
        if self._bus is not None and isinstance(executor, LiveExecutor):
            executor.start(self.book)

    # ---- start-up --------------------------------------------------------------------------
    async def restore(self) -> RestoreReport:
        """Rebuild working orders and plans, expire confirmations that ran out while down, and
        re-arm exits and resting stops and targets (they only reduce: paper ones go to a fresh
        matching model with the same ids; live ones are at the venue). Working ENTRY orders are
        held: nothing new is sent before reconciliation, and `resume_entries` decides them again."""
        working = self.ledger.restore()
        self.confirmations.restore()
        expired = await self.expire_due()
        resumed = 0
        self._held = []
        for order in working:
            if await self._settle_stray_exit(order):
                continue
            slot = (order.wallet_id, order.key)
            if order.purpose is OrderPurpose.ENTRY:
                self._held.append(order)
                continue
            if order.purpose in PROTECTIVE:
                self.router.protection.setdefault(slot, {})[order.purpose] = order.client_order_id
            else:
                self.router.exits[slot] = order.client_order_id
            executor = self._executors.get(order.wallet_id)
            if executor is None:
                continue
            prior = len(self.ledger.store(order.wallet_id).load_fills(order.client_order_id))
            await self.book(order.wallet_id, await executor.resume(order, prior))
            resumed += 1
        return RestoreReport(
            working_orders=len(working),
            resumed=resumed,
            pending_confirmations=len(self.confirmations.pending()),
            expired=tuple(c.id for c in expired),
            open_positions=len(self._portfolio.positions()),
            held_entries=len(self._held),
        )

    def idle(self) -> bool:
        """Nothing to watch: no open position, working order, resting order, exit in flight or
        pending confirmation (the event backtest skips the bars where this holds and no signal
        comes; a tick then changes nothing but marks of a flat book)."""
        return not (
            self._portfolio.positions()
            or self.ledger.working()
            or self.router.exits
            or self.confirmations.pending()
            or any(executor.open_orders() for executor in self._executors.values())
        )

    def all_protected(self) -> bool:
        """True when every open position has its stop resting at its venue (or nothing is
        open): a node that stops now leaves protected positions."""
        return (
            all(
                self.router.is_protected((p.wallet_id, p.key)) or p.stop_loss <= 0
                for p in self._portfolio.positions()
            )
            and self.config.resting_stops
        )

    async def protect_open_positions(self) -> int:
        """Re-attach missing resting stops and targets (a crash between a fill and its
        protection); returns how many positions were checked."""
        positions = self._portfolio.positions()
        for position in positions:
            await self.router.protect(position.wallet_id, position.key)
        return len(positions)

    async def resume_entries(self) -> list[str]:
        """After reconciliation: each entry held by `restore` is decided again at current prices
        under the restored state (the risk gate, as for a new intent), or cancelled when trading
        is not ACTIVE, the intent is stale, or the gate now says no. Live entries the venue
        already holds stay with the venue (cancelled there when they may not stand). Returns
        one line per entry saying what happened."""
        held, self._held = self._held, []
        outcomes: list[str] = []
        for stored in held:
            order = self.ledger.get(stored.client_order_id, stored.wallet_id)
            if order is None or order.status.is_terminal:
                continue
            outcomes.append(await self._resume_entry(order))
        return outcomes

    async def _resume_entry(self, order: Order) -> str:
        executor = self._executors.get(order.wallet_id)
        coid = order.client_order_id
        if executor is None:
            await self.router.forget(order, "restart: no executor for the wallet")
            return f"{coid}: cancelled (no executor)"
        refusal = self._restart_refusal(order)
        at_venue = executor.is_live and order.status is not OrderStatus.NEW
        if at_venue:
            await executor.resume(order, 0)  # track it: the venue holds it
            if refusal is None:
                return f"{coid}: kept at the venue"
            why = await self.router.cancel(order, f"restart: {refusal}")
            return f"{coid}: cancelled at the venue ({refusal})" + (f"; {why}" if why else "")
        if refusal is not None:
            await self.router.forget(order, f"restart: {refusal}")
            return f"{coid}: cancelled ({refusal})"
        decision = self._redecide(order)
        if decision is None or not decision.approved:
            text = decision.reason_text if decision is not None else "no stored decision"
            if decision is not None:
                await self.publish(topics.RISK_RECHECK, decision)
            await self.router.forget(order, f"restart re-decision: {text}")
            return f"{coid}: cancelled by the re-decision ({text})"
        await self.publish(topics.RISK_RECHECK, decision)
        instrument = self._instruments.get(order.key)
        qty = min(order.remaining_qty, decision.qty)
        qty = instrument.floor_qty(qty) if instrument is not None else qty
        if qty < order.remaining_qty:
            order = self.ledger.resize(order, order.filled_qty + qty, f"re-decided: {decision.id}")
        prior = len(self.ledger.store(order.wallet_id).load_fills(coid))
        await self.book(order.wallet_id, await executor.resume(order, prior))
        return f"{coid}: re-decided {decision.id}, resumed {qty:g}"

    def _restart_refusal(self, order: Order) -> str | None:
        state = self._risk.state_for(order.wallet_id)
        if state.state is not TradingState.ACTIVE:
            return f"trading is {state.state.value}: {state.reason}".rstrip(": ")
        age_ms = self._clock.now_ms() - order.created_ms
        if age_ms > self.config.stale_entry_s * 1000:
            return f"stale: {age_ms / 1000:.0f} s old (limit {self.config.stale_entry_s:g} s)"
        return None

    def _redecide(self, order: Order) -> RiskDecision | None:
        plan = self.ledger.plan(order.client_order_id, order.wallet_id)
        if plan is None or not plan.decision_id:
            return None
        stored = self.ledger.store(order.wallet_id).load_risk_decision(plan.decision_id)
        if stored is None:
            return None
        return self._risk.redecide(stored.intent, stored.id)

    # ---- exits left in flight by the last run (issue 9) ---------------------------------------
    async def _settle_stray_exit(self, order: Order) -> bool:
        """An exit order stored as working that cannot be worked in this run is closed out
        instead of staying `submitted` for ever (where it would also block the position monitor
        from sending a fresh exit): its position is gone, or it is a paper order (paper orders
        live only in the process that made them) whose wallet is not active now. Live orders of
        an inactive wallet stay: the venue holds them and reconciliation settles them."""
        if order.purpose is OrderPurpose.ENTRY:
            return False
        if self._portfolio.position(order.wallet_id, order.key) is None:
            reason = "position already closed at restart"
        elif order.wallet_id not in self._executors and order.wallet_id.startswith("paper:"):
            reason = f"not re-armed at restart: wallet {order.wallet_id} is not active in this run"
        else:
            return False
        if order.wallet_id.startswith("paper:"):  # nothing outside this process knows it
            moved = self.ledger.move(order, OrderEvent.CANCEL, reason)
            why = None if moved is not None else f"cannot cancel an order {order.status.value}"
            if moved is not None:
                await self.publish(topics.ORDER, moved)
        else:
            why = await self.router.cancel(order, reason)
        log.warning(
            "restore: exit %s on %s %s: %s",
            order.client_order_id,
            order.key,
            "cancelled" if why is None else "not cancelled",
            reason if why is None else why,
        )
        return why is None

    async def reconcile(self) -> ReconcileReport:
        """Compare every live wallet with its venue (see reconcile.py); orphans are alerted
        and kept as differences (self.differences)."""
        return await self._reconciler().run(self._executors)

    def reconcile_actions(self) -> ReconcileActions:
        """The operator's actions on reconciliation differences (adopt / close / ignore)."""
        return ReconcileActions(
            self._reconciler(),
            self.differences,
            self._executors,
            self.ledger,
            self._portfolio,
            self._risk.check_adoption,
            self._clock,
            self.router,
            self._instruments,
        )

    def _reconciler(self) -> Reconciler:
        return Reconciler(
            self.config.reconcile,
            self._clock,
            self.ledger,
            self._portfolio,
            self._instruments,
            self,
            max_hold_ms=self._max_hold_ms,
            adoption_check=self._risk.check_adoption,
            fee_rate=self._fee_rate,
            book=self.differences,
        )

    def _fee_rate(self, wallet_id: str) -> float:
        executor = self._executors.get(wallet_id)
        return executor.fee_rate if isinstance(executor, LiveExecutor) else 0.0

    # ---- decisions and confirmations -------------------------------------------------------
    async def on_decision(self, decision: RiskDecision) -> None:
        """An approved decision becomes a pending confirmation (when a human must confirm for
        its wallet) or an entry order; denials are ignored here."""
        if not decision.approved:
            return
        if self._needs_human(decision.intent.wallet_id):
            conf, created = self.confirmations.open(decision)
            if created:
                await self.publish(topics.CONFIRMATION, conf)
            return
        await self._enter(decision)

    def pending(self) -> list[PendingConfirmation]:
        return self.confirmations.pending()

    async def approve(self, confirmation_id: str, *, by: str) -> PendingConfirmation:
        """Approve: risk re-checks against current prices and state (the re-check is recorded);
        a stale or now-denied intent is REJECTED with the reason, otherwise the entry is sent
        with the re-checked size and costs."""
        conf = await self._still_pending(confirmation_id)
        rechecked = self._risk.recheck(conf.decision)
        await self.publish(topics.RISK_RECHECK, rechecked)
        if not rechecked.approved:
            reason = rechecked.reason_text
            done = self.confirmations.decide(
                conf.id, ConfirmationEvent.REJECT, by=by, reason=reason
            )
            await self.publish(topics.CONFIRMATION, done)
            await self.router.alert(
                "warning",
                f"confirmation {conf.id} rejected on approval: {reason}",
                topics.CONFIRMATION,
            )
            return done
        done = self.confirmations.decide(conf.id, ConfirmationEvent.APPROVE, by=by)
        await self.publish(topics.CONFIRMATION, done)
        await self._enter(rechecked)
        return done

    async def reject(
        self, confirmation_id: str, *, by: str, reason: str = ""
    ) -> PendingConfirmation:
        conf = await self._still_pending(confirmation_id)
        done = self.confirmations.decide(conf.id, ConfirmationEvent.REJECT, by=by, reason=reason)
        await self.publish(topics.CONFIRMATION, done)
        return done

    async def expire_due(self) -> list[PendingConfirmation]:
        """Expire every pending confirmation whose TTL has run out."""
        expired = []
        ttl = f"not confirmed within {self.confirmations.ttl_s:g} s"
        for conf_id in self.confirmations.due():
            done = self.confirmations.decide(
                conf_id, ConfirmationEvent.EXPIRE, by="ttl", reason=ttl
            )
            await self.publish(topics.CONFIRMATION, done)
            expired.append(done)
        return expired

    async def _still_pending(self, confirmation_id: str) -> PendingConfirmation:
        conf = self.confirmations.get(confirmation_id)
        if conf is None:
            raise ControlError(f"no confirmation '{confirmation_id}'")
        now = self._clock.now_ms()
        if conf.status is ConfirmationStatus.PENDING and conf.expires_ms <= now:
            await self.expire_due()
            raise ControlError(
                f"confirmation {conf.id} expired {round((now - conf.expires_ms) / 1000)} s ago"
            )
        if conf.status is not ConfirmationStatus.PENDING:
            raise ControlError(describe_closed(conf, now))
        return conf

    def _needs_human(self, wallet_id: str) -> bool:
        mode = self.config.confirm
        if mode == "always" or (mode == "live" and wallet_id.startswith("live:")):
            return True
        return self._require_confirmation is not None and self._require_confirmation(wallet_id)

    # ---- orders ----------------------------------------------------------------------------
    async def _enter(self, decision: RiskDecision) -> Order | None:
        """Send the entry of an approved decision, once: a known client order id is skipped."""
        intent = decision.intent
        instrument = self._instruments.get(intent.signal.key)
        order, plan = entry_order(
            decision,
            self.config,
            instrument,
            now_ms=self._clock.now_ms(),
            max_hold_ms=self._max_hold_ms,
        )
        if self.ledger.get(order.client_order_id, order.wallet_id) is not None:
            return None
        state = self._risk.state_for(intent.wallet_id).state
        if state is not TradingState.ACTIVE:
            await self.router.alert(
                "warning",
                f"entry {intent.signal.key} skipped: trading is {state.value}",
                topics.RISK_DECISION,
            )
            return None
        return await self.router.enter(order, plan)

    # ---- commitments (the risk gate counts them as exposure) --------------------------------
    def commitments(self, wallet_id: str) -> list[CommittedEntry]:
        """Working entry orders and pending confirmations of a wallet, as notional and margin
        the exposure caps count as if they had filled."""
        out: list[CommittedEntry] = []
        for order in self.ledger.working(wallet_id, purpose=OrderPurpose.ENTRY):
            instrument = self._instruments.get(order.key)
            size = instrument.contract_size if instrument is not None else 1.0
            price = order.price or self._portfolio.mark(order.key) or order.ref_price
            notional = order.remaining_qty * price * size
            plan = self.ledger.plan(order.client_order_id, order.wallet_id)
            decision = plan.decision_id if plan is not None else ""
            out.append(
                CommittedEntry(order.key, notional, notional / _leverage(instrument), decision)
            )
        for conf in self.confirmations.pending():
            if conf.intent.wallet_id != wallet_id:
                continue
            waiting = conf.decision
            key = waiting.intent.signal.key
            lev = _leverage(self._instruments.get(key))
            out.append(CommittedEntry(key, waiting.notional, waiting.notional / lev, waiting.id))
        return out

    async def close_position(self, wallet_id: str, key: str, reason: str) -> None:
        """Close one position at market (operator action)."""
        position = self._portfolio.position(wallet_id, key)
        if position is None:
            raise ControlError(f"no open position on {key} in {wallet_id}")
        if (wallet_id, key) in self.router.exits:
            raise ControlError(f"an exit order is already working for {key} in {wallet_id}")
        call = ExitCall(OrderPurpose.EXIT, "manual", reason or "manual close")
        await self.router.exit(position, call)

    def _open_for_change(self, wallet_id: str, key: str) -> Position:
        position = self._portfolio.position(wallet_id, key)
        if position is None:
            raise ControlError(f"no open position on {key} in {wallet_id}")
        if (wallet_id, key) in self.router.exits:
            raise ControlError(f"an exit order is already working for {key} in {wallet_id}")
        return position

    async def move_stop(self, wallet_id: str, key: str, price: float) -> Position:
        """Move a position's stop (operator action): tighten only -- the risk engine refuses a
        widening with its reason -- and never through the current price (that is a close).
        The resting reduce-only stop at the venue is amended to match."""
        position = self._open_for_change(wallet_id, key)
        refusal = self._risk.check_stop_change(position, price)
        if refusal:
            raise ControlError(f"stop on {key} refused by the risk engine: {refusal}")
        if price == position.stop_loss:
            raise ControlError(f"the stop on {key} is already at {price:g}")
        mark = self._portfolio.mark(key)
        if mark is not None and position.side.sign * (mark - price) <= 0:
            raise ControlError(
                f"stop {price:g} is at or through the price now ({mark:g}) on {key}: "
                "it would close the position; close it instead"
            )
        return await self._changed_levels(self._portfolio.tighten_stop(wallet_id, key, price))

    async def move_target(self, wallet_id: str, key: str, price: float) -> Position:
        """Move a position's take profit (operator action), on the profit side of the current
        price; the resting reduce-only target at the venue is amended to match."""
        position = self._open_for_change(wallet_id, key)
        if price <= 0.0:
            raise ControlError(f"target {price:g} is not a price")
        if position.stop_loss > 0 and position.side.sign * (price - position.stop_loss) <= 0:
            raise ControlError(
                f"target {price:g} is on the wrong side of the stop {position.stop_loss:g} on {key}"
            )
        mark = self._portfolio.mark(key)
        if mark is not None and position.side.sign * (price - mark) <= 0:
            raise ControlError(
                f"target {price:g} is at or through the price now ({mark:g}) on {key}: "
                "it would close the position; close it instead"
            )
        return await self._changed_levels(self._portfolio.set_target(wallet_id, key, price))

    async def _changed_levels(self, moved: Position) -> Position:
        now = self._clock.now_ms()
        mark = self._portfolio.mark(moved.key) or moved.entry_price
        update = PositionUpdate(moved.wallet_id, moved.venue, moved.symbol, moved, now, mark)
        await self.publish(topics.POSITION, update)
        await self.router.protect(moved.wallet_id, moved.key)  # the resting orders follow
        return self._portfolio.position(moved.wallet_id, moved.key) or moved

    async def book(self, wallet_id: str, events: Sequence[ExecutorEvent]) -> None:
        """Book what an executor reported (order updates, fills, funding)."""
        await self.router.book(wallet_id, events)

    # ---- prices and the position monitor ---------------------------------------------------
    async def on_tick(self, tick: Tick) -> None:
        """Marks, paper matching and funding, then the monitor for positions on this market."""
        key = tick.key
        self._ticks[key] = tick
        self._portfolio.on_tick(tick)
        for wid, executor in self._executors.items():
            events = executor.on_tick(tick)
            if events:
                await self.book(wid, events)
        for position in self._portfolio.positions_on(key):
            slot = (position.wallet_id, key)
            if slot in self.router.exits:
                continue
            liquidation = self._paper_liquidation(position, tick) or self._paper_stop_out(
                position, tick
            )
            if liquidation is not None:
                await self.router.exit(position, liquidation)
                if self._is_cross(position) and liquidation.tag == "liquidation":
                    await self._liquidate_wallet(position, liquidation)
                continue
            action = self.monitor.check(
                position,
                self._portfolio.plan(position.wallet_id, key),
                tick,
                protected=self.router.is_protected(slot),
            )
            if isinstance(action, ExitCall):
                await self.router.exit(position, action)
            elif isinstance(action, StopMove):
                await self._trail(position, action.new_stop, tick)

    def perp_margin(self, position: Position) -> PerpMargin | None:
        """Leverage, margin mode, liquidation price and funding of a perpetual position: paper
        ones computed here, live ones as the venue last reported them (`refresh_venue_margin`);
        None for other positions and live ones not reported yet."""
        instrument = self._instruments.get(position.key)
        executor = self._executors.get(position.wallet_id)
        if instrument is None or instrument.kind is not ContractKind.PERPETUAL:
            return None
        if executor is None:
            return None
        if executor.is_live:
            known = self._venue_margin.get((position.wallet_id, position.key))
            return replace(known, funding=position.funding) if known is not None else None
        leverage = paper_leverage(self._max_leverage, instrument.max_leverage)
        units = position.qty * position.contract_size
        if self.config.paper_margin_mode == "cross":
            wallet = self._portfolio.wallet(position.wallet_id)
            balance = wallet.balance if wallet is not None else 0.0
            liq = cross_liquidation_price(
                position.side.sign,
                units,
                position.entry_price,
                balance,
                self._cross_others(position),
            )
            return PerpMargin(leverage, "cross", liq, position.funding)
        liq = isolated_liquidation_price(position.side.sign, units, position.entry_price, leverage)
        return PerpMargin(leverage, "isolated", liq, position.funding)

    def _is_cross(self, position: Position) -> bool:
        instrument = self._instruments.get(position.key)
        executor = self._executors.get(position.wallet_id)
        return (
            self.config.paper_margin_mode == "cross"
            and instrument is not None
            and instrument.kind is ContractKind.PERPETUAL
            and executor is not None
            and not executor.is_live
        )

    def _cross_others(self, position: Position) -> list[CrossLeg]:
        """The wallet's other open perpetual positions at their last marks (entry until a tick
        arrives), the TMM1 / UPNL1 side of the cross formula."""
        legs = []
        for other in self._portfolio.positions(position.wallet_id):
            instrument = self._instruments.get(other.key)
            if other.key == position.key or instrument is None:
                continue
            if instrument.kind is not ContractKind.PERPETUAL:
                continue
            mark = self._portfolio.mark(other.key) or other.entry_price
            units = other.qty * other.contract_size
            legs.append(CrossLeg(other.side.sign, units, other.entry_price, mark))
        return legs

    async def _liquidate_wallet(self, trigger: Position, call: ExitCall) -> None:
        """A cross liquidation closes every position of the wallet at market, as the vector
        backtester does (nb.py `tick_nb`, cross branch), each with the exit reason
        `liquidation`."""
        for other in self._portfolio.positions(trigger.wallet_id):
            if other.key == trigger.key or (other.wallet_id, other.key) in self.router.exits:
                continue
            await self.router.exit(other, call)

    async def refresh_venue_margin(self) -> None:
        """Ask each live account holding perpetual positions for its leverage, margin mode and
        liquidation prices (ExecClients with `position_details()`, the crypto adapters)."""
        for wid, executor in self._executors.items():
            details = getattr(executor, "client", None)
            details = getattr(details, "position_details", None) if executor.is_live else None
            if details is None:
                continue
            held = [
                p
                for p in self._portfolio.positions()
                if p.wallet_id == wid
                and (inst := self._instruments.get(p.key)) is not None
                and inst.kind is ContractKind.PERPETUAL
            ]
            for slot in [s for s in self._venue_margin if s[0] == wid]:
                if slot[1] not in {p.key for p in held}:
                    del self._venue_margin[slot]
            if not held:
                continue
            try:
                rows = await details()
            except VenueError as exc:
                log.debug("position details of %s unavailable: %s", wid, exc)
                continue
            reported = {str(r.get("symbol")): r for r in rows}
            for p in held:
                row = reported.get(p.symbol)
                if row is None:
                    continue
                liq = float(row.get("liquidation_price") or 0.0)
                self._venue_margin[(wid, p.key)] = PerpMargin(
                    float(row.get("leverage") or 0.0),
                    str(row.get("margin_mode") or ""),
                    liq if liq > 0 else math.nan,
                    p.funding,
                )

    def _paper_liquidation(self, position: Position, tick: Tick) -> ExitCall | None:
        """An isolated paper perpetual whose margin balance at this mark fell to its maintenance
        margin is closed at market, as the venue would (same test as the vector backtester)."""
        executor = self._executors.get(position.wallet_id)
        view = self.perp_margin(position)
        if view is None or executor is None or executor.is_live:
            return None  # a live venue liquidates its own positions
        units = position.qty * position.contract_size
        if view.margin_mode == "cross":
            wallet = self._portfolio.wallet(position.wallet_id)
            balance = wallet.balance if wallet is not None else 0.0
            if not cross_liquidated(
                position.side.sign,
                units,
                position.entry_price,
                tick.price,
                balance,
                self._cross_others(position),
            ):
                return None
            return ExitCall(
                OrderPurpose.EXIT,
                "liquidation",
                f"cross wallet liquidated at mark {tick.price:g} of {position.key} "
                f"(liquidation price {view.liquidation_price:g}, balance {balance:g})",
            )
        if not isolated_liquidated(
            position.side.sign, units, position.entry_price, tick.price, view.leverage
        ):
            return None
        return ExitCall(
            OrderPurpose.EXIT,
            "liquidation",
            f"liquidated at mark {tick.price:g} (isolated {view.leverage:g}x, "
            f"liquidation price {view.liquidation_price:g})",
        )

    def _paper_stop_out(self, position: Position, tick: Tick) -> ExitCall | None:
        """A paper multiplier (Deriv) whose loss at this mark reaches its stake is closed, as
        the venue's stop-out would (domain/multipliers.py, the simulator's own test); its loss
        is floored at the stake in the books."""
        executor = self._executors.get(position.wallet_id)
        instrument = self._instruments.get(position.key)
        if executor is None or executor.is_live or instrument is None:
            return None  # a live venue stops its own contracts out
        if not instrument.is_multiplier or position.margin <= 0:
            return None
        terms = held_terms(
            position.side.sign,
            position.entry_price,
            instrument.multiplier,
            position.margin,
            position.fees,
        )
        if terms is None or terms.close_reason(tick.price) is not CloseReason.STOP_OUT:
            return None
        return ExitCall(
            OrderPurpose.EXIT,
            "stop_out",
            f"stopped out at mark {tick.price:g} (x{instrument.multiplier:g}, stake "
            f"{terms.stake:.2f}, stop-out price {terms.stop_out_price():g})",
        )

    async def _trail(self, position: Position, new_stop: float, tick: Tick) -> None:
        refusal = self._risk.check_stop_change(position, new_stop)
        if refusal:
            log.debug("stop move on %s refused: %s", position.key, refusal)
            return
        try:
            moved = self._portfolio.tighten_stop(position.wallet_id, position.key, new_stop)
        except ValueError:
            return
        update = PositionUpdate(
            moved.wallet_id, moved.venue, moved.symbol, moved, tick.ts_ms, tick.price
        )
        await self.publish(topics.POSITION, update)
        await self.router.protect(moved.wallet_id, moved.key)  # the resting stop follows

    # ---- flatten ---------------------------------------------------------------------------
    def flatten_preview(self) -> fl.FlattenPreview:
        """Per wallet: positions to close, working orders to cancel, estimated closing cost."""
        now = self._clock.now_ms()
        return fl.build_preview(
            self._portfolio, self.ledger, self.pending(), self._executors, self._ticks, now
        )

    async def flatten_all(
        self, *, by: str, wallets: Collection[str] | None = None
    ) -> fl.FlattenReport:
        """Cancel pending confirmations and working orders, close every position at market
        (of `wallets`, default all), wait (bounded, on the clock) for the fills, and report
        per venue. Publishes FLATTEN with the report."""

        def chosen(wallet_id: str) -> bool:
            return wallets is None or wallet_id in wallets

        cancelled = await self._cancel_pending(f"flatten-all by {by}", by, chosen)
        tally = await fl.run_flatten(
            self.router,
            self._portfolio,
            self._clock,
            by=by,
            chosen=chosen,
            wait_ms=self._flatten_wait_ms,
        )
        tally.cancelled_confirmations = cancelled
        report = tally.report()
        await self.publish(topics.FLATTEN, report)
        return report

    async def _cancel_pending(self, reason: str, by: str, chosen: Callable[[str], bool]) -> int:
        count = 0
        for conf in self.pending():
            if chosen(conf.intent.wallet_id):
                done = self.confirmations.decide(
                    conf.id, ConfirmationEvent.CANCEL, by=by, reason=reason
                )
                await self.publish(topics.CONFIRMATION, done)
                count += 1
        return count

    # ---- lifecycle -------------------------------------------------------------------------
    async def shutdown(self, *, flatten: bool) -> None:
        """Safe stop: working entry orders are cancelled (exits, resting stops and targets and
        pending confirmations stay: the venue keeps its orders, restore re-arms paper ones and
        expires stale confirmations); with `flatten`, every position is closed first."""
        if flatten:
            await self.flatten_all(by="shutdown")
        for order in self.ledger.working(purpose=OrderPurpose.ENTRY):
            why = await self.router.cancel(order, "shutdown")
            if why is not None:
                log.warning("shutdown: %s", why)
        await self.stop()

    async def stop(self) -> None:
        """Stop the housekeeping task and the live event streams (no orders are touched)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await reap(task, errors=False)
        for executor in self._executors.values():
            if isinstance(executor, LiveExecutor):
                await executor.stop()

    async def attach(self, bus: Bus) -> None:
        """Subscribe (decisions and ticks inline), start the live event streams and the
        housekeeping task (confirmation expiry, wallet snapshots, equity curve, reconcile)."""
        self._bus = bus
        bus.subscribe(
            topics.RISK_DECISION, self._on_decision_msg, inline=True, name="execution.decision"
        )
        bus.subscribe(topics.TICK, self._on_tick_msg, inline=True, name="execution.tick")
        bus.subscribe(topics.KILL_SWITCH, self._on_kill_msg, name="execution.kill")
        bus.subscribe(topics.TRADING_STATE, self._on_state_msg, name="execution.trading_state")
        for executor in self._executors.values():
            if isinstance(executor, LiveExecutor):
                executor.start(self.book)
        if self._task is None and self._background:
            self._task = asyncio.get_running_loop().create_task(
                self._housekeeping(), name="execution:housekeeping"
            )

    async def _on_decision_msg(self, _topic: str, message: Any) -> None:
        await self.on_decision(message)

    async def _on_tick_msg(self, _topic: str, message: Any) -> None:
        await self.on_tick(message)

    async def _on_kill_msg(self, _topic: str, message: Any) -> None:
        if isinstance(message, KillSwitchTripped) and message.flatten:
            await self.flatten_all(by="kill-switch", wallets={message.wallet_id})

    async def _on_state_msg(self, _topic: str, message: Any) -> None:
        """HALTED: nothing new may happen, so pending confirmations and working entries go (of
        the halted wallet only, when the halt is one wallet's)."""
        if not isinstance(message, TradingStateChanged) or message.state is not TradingState.HALTED:
            return
        scope = message.scope

        def chosen(wallet_id: str) -> bool:
            return not scope or wallet_id == scope

        await self._cancel_pending(f"halted: {message.reason}", "risk", chosen)
        for order in self.ledger.working(purpose=OrderPurpose.ENTRY):
            if chosen(order.wallet_id):
                await self.router.cancel(order, f"halted: {message.reason}")

    async def _housekeeping(self) -> None:
        last = [self._clock.now_ms()] * 3
        while True:
            await self._clock.sleep(0.5)
            try:
                await self._housekeep(last)
            except StorageError:
                pass  # the storage health reports a failing disk once (issue 9)
            except Exception:
                log.exception("execution housekeeping failed")

    async def _housekeep(self, last: list[int]) -> None:
        await self.expire_due()
        now = self._clock.now_ms()
        snap_ms, equity_ms, reconcile_ms = self._every_ms
        if now - last[0] >= snap_ms:
            last[0] = now
            for wid in sorted({p.wallet_id for p in self._portfolio.positions()}):
                await self.publish(topics.WALLET, self._portfolio.snapshot(wid))
            await self.refresh_venue_margin()
        if now - last[1] >= equity_ms:
            last[1] = now
            self._portfolio.record_equity()
        live = any(isinstance(e, LiveExecutor) for e in self._executors.values())
        if live and now - last[2] >= reconcile_ms:
            last[2] = now
            report = await self.reconcile()
            if report.halt:
                why = "; ".join(o.text for o in report.orphans) or "orphans found"
                await self._risk.change_state(
                    TradingState.HALTED, f"periodic reconcile: {why}", "reconcile"
                )

    # ---- publishing ------------------------------------------------------------------------
    async def publish(self, topic: str, message: object) -> None:
        """Publish on the bus once attached (before that, state is only stored)."""
        if self._bus is not None:
            await self._bus.publish(topic, message)


def _leverage(instrument: Instrument | None) -> float:
    """Leverage an instrument allows (1 for spot, synthetics and unknown instruments)."""
    return max(1.0, instrument.max_leverage) if instrument is not None else 1.0
