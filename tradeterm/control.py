"""The operator facade: the only way the console, Telegram and the CLI change a running node.

One place, so the interfaces cannot drift. Every call that changes something lands in the audit
journal (source console/telegram/cli, what, when, arguments with their types, result): the row is
written as "requested" BEFORE the action runs and completed with the outcome after it, refusals
included (an approval the risk re-check turns into a rejection is recorded as not ok). Requests
that never reach an action (arguments that do not validate) are recorded with `audit_refused`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tradeterm import indicators
from tradeterm.allocator.engine import AllocatorState
from tradeterm.config.models import StageConfig
from tradeterm.domain import events as ev
from tradeterm.domain.enums import ConfirmationStatus, Domain, TradingState
from tradeterm.domain.ids import new_id
from tradeterm.domain.perps import PerpMargin
from tradeterm.domain.positions import Position
from tradeterm.domain.reconcile import Difference
from tradeterm.errors import ControlError, StorageError, TradetermError, UserError
from tradeterm.execution.flatten import FlattenPreview, FlattenReport
from tradeterm.execution.reconcile import ReconcileReport
from tradeterm.node import Node
from tradeterm.risk.gauges import RiskGauges
from tradeterm.rollout.kpis import GateReport
from tradeterm.storage.health import HealthChange
from tradeterm.telemetry.logging import route_log_failures
from tradeterm.venues.base import VenueHealth

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DomainStatus:
    domain: Domain
    mode: str
    enabled: bool
    available: bool = True
    """False when the config has no [domains] entry for it: nothing can trade there."""

    @property
    def text(self) -> str:
        if not self.available:
            return f"{self.domain.value}=unavailable"
        return f"{self.domain.value}={self.mode}{'' if self.enabled else '(off)'}"


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything the header and the panes show, as one value."""

    ts_ms: int
    live_enabled: bool
    stage_index: int
    stage_name: str
    stage_count: int
    trading_state: TradingState
    trading_reason: str
    wallets: tuple[ev.WalletSnapshot, ...]
    positions: tuple[Position, ...]
    pending: tuple[ev.PendingConfirmation, ...]
    venues: tuple[VenueHealth, ...]
    domains: tuple[DomainStatus, ...]
    exploration: float
    learning: bool
    halted_wallets: dict[str, str] = field(default_factory=dict)
    """Wallets their own kill switch halted -> why (the node-wide state may still be ACTIVE)."""
    resting_stops: bool = False
    """True when every open position's stop and target rest at its venue (they survive the node
    stopping); False when some are guarded by the running node's monitor only."""
    storage: str = ""
    """Empty when state can be written; otherwise why not (status shows DEGRADED)."""
    calibration: tuple[str, ...] = ()
    """Drift of promoted arms and scheduled re-calibration (issue 15 item 7), one line each."""

    @property
    def degraded(self) -> bool:
        return bool(self.storage)

    def text(self) -> str:
        """A plain-text rendering for `tradeterm status`."""
        mode = "LIVE enabled" if self.live_enabled else "paper only"
        lines = [
            f"stage {self.stage_index}/{self.stage_count} '{self.stage_name}'  trading {self.trading_state.value.upper()}"
            f"{f' ({self.trading_reason})' if self.trading_reason else ''}  {mode}",
            *(
                [f"DEGRADED: {self.storage}; new entries are refused until writes work"]
                if self.storage
                else []
            ),
            f"exploration {self.exploration:.0%}  learning {'on' if self.learning else 'off'}",
            "domains: " + ", ".join(d.text for d in self.domains),
        ]
        for wallet_id, why in sorted(self.halted_wallets.items()):
            lines.append(f"wallet {wallet_id} HALTED: {why}")
        for w in self.wallets:
            lines.append(
                f"wallet {w.wallet.id:<22} equity {w.equity:>11.2f} {w.wallet.currency}  "
                f"day {w.daily_pnl:+.2f}  dd {w.drawdown:.1%}  exposure {w.exposure:.2f}  open {w.open_positions}"
            )
        for p in self.positions:
            lines.append(
                f"position {p.wallet_id} {p.key} {p.side.value} {p.qty:g} @ {p.entry_price:g}"
                f" sl {p.stop_loss:g} tp {p.take_profit:g}"
            )
        for c in self.pending:
            s = c.intent.signal
            lines.append(
                f"pending {c.id} {s.side.value} {c.decision.qty:g} {s.symbol} @ {s.entry:g}"
                f" ({c.intent.wallet_id}) expires in {c.seconds_left(self.ts_ms):.0f} s"
            )
        for v in self.venues:
            age = (self.ts_ms - v.last_message_ms) / 1000 if v.last_message_ms else float("nan")
            lines.append(
                f"venue {v.venue}: {'up' if v.connected else 'DOWN'}  last message {age:.1f} s ago"
                f"  reconnects {v.reconnects}{f'  {v.detail}' if v.detail else ''}"
            )
        lines.extend(self.calibration)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """A traded market as the universe pane lists it."""

    key: str
    venue: str
    symbol: str
    domain: Domain
    decimals: int
    arms: int


ATR_PERIOD = 14
"""The universe pane's ATR period (on the regime timeframe's bars)."""


class Control:
    """Operator actions on one node. `source` names the interface: console, telegram, cli."""

    def __init__(self, node: Node) -> None:
        self.node = node
        health = node.stores.health
        health.listen(self._on_health)
        route_log_failures(health.failed, health.succeeded)  # a full disk stops the log file too

    def _on_health(self, change: HealthChange) -> None:
        """Storage DEGRADED or OK again: one alert for every interface (console toast, log)."""
        if change.degraded:
            text = f"storage DEGRADED: {change.reason}; new entries are refused until writes work"
        else:
            text = "storage OK again: state can be written; entries allowed"
        alert = ev.Alert(
            "critical" if change.degraded else "info", text, self.node.clock.now_ms(), "storage"
        )
        self.node.bus.publish_nowait(ev.ALERT, alert)

    # ---- reads (not audited) -------------------------------------------------------------------
    def _health(self, venue: str) -> VenueHealth:
        """A venue's health; before the node has attached its feed, 'starting'."""
        if venue in self.node.streams.venues():
            return self.node.streams.health(venue)
        return VenueHealth(venue, detail="starting")

    def unprotected_positions(self) -> list[str]:
        """Open positions ("wallet key") with no stop resting at their venue: only the running
        node's monitor guards them, so they are unprotected while the node is down."""
        n = self.node
        resting = n.execution.config.resting_stops
        return [
            f"{p.wallet_id} {p.key}"
            for p in n.portfolio.positions()
            if not (resting and n.execution.router.is_protected((p.wallet_id, p.key)))
        ]

    def status(self) -> StatusReport:
        n = self.node
        return StatusReport(
            ts_ms=n.clock.now_ms(),
            live_enabled=n.live,
            stage_index=n.rollout.index,
            stage_name=n.rollout.stage.name,
            stage_count=len(n.rollout.stages),
            trading_state=n.risk.state,
            trading_reason=n.risk.state_reason,
            wallets=tuple(n.portfolio.snapshots()),
            positions=tuple(n.portfolio.positions()),
            pending=tuple(n.execution.pending()),
            venues=tuple(self._health(v) for v in n.venues),
            domains=tuple(
                DomainStatus(
                    d,
                    n.rollout.domain_mode(d),
                    n.rollout.domain_enabled(d),
                    available=d in n.config.domains,
                )
                for d in Domain
            ),
            exploration=n.allocator.exploration,
            learning=n.allocator.learning,
            halted_wallets=n.risk.halted_wallets(),
            resting_stops=n.execution.all_protected(),
            storage=n.stores.health.reason,
            calibration=tuple(x for p in (n.drift, n.recal) if p for x in p.status_lines()),
        )

    def gauges(self) -> list[RiskGauges]:
        return [self.node.risk.gauges(w.id) for w in self.node.portfolio.wallets()]

    def allocator_state(self) -> AllocatorState:
        return self.node.allocator.state()

    def gate_report(self) -> GateReport:
        return self.node.rollout.stored_gate_report()

    def flatten_preview(self) -> FlattenPreview:
        return self.node.execution.flatten_preview()

    def markets(self) -> list[MarketInfo]:
        n = self.node
        arms: dict[str, int] = {}
        for runner in n.strategies.runners:
            key = f"{runner.venue}:{runner.symbol}"
            arms[key] = arms.get(key, 0) + 1
        out = []
        for key, market in sorted(n.markets.items()):
            inst = n.instruments.get(key)
            decimals = inst.price_decimals if inst else 2
            out.append(
                MarketInfo(
                    key, market.venue, market.symbol, market.domain, decimals, arms.get(key, 0)
                )
            )
        return out

    def mark(self, key: str) -> float | None:
        return self.node.portfolio.mark(key)

    def perp_margin(self, position: Position) -> PerpMargin | None:
        """Leverage, margin mode, liquidation price and funding of a perpetual position: paper
        ones computed with domain/margin.py; None for other positions."""
        return self.node.execution.perp_margin(position)

    def regime_label(self, key: str) -> str:
        regime = self.node.allocator.regime(key)
        return regime.label if regime.known else ""

    def closed_trades(
        self, *, wallet: str = "", strategy: str = "", symbol: str = ""
    ) -> list[ev.ClosedTrade]:
        """Closed round trips of every wallet, newest first, filtered by wallet id, strategy
        and symbol (exact, when given)."""
        trades = [t for store in self.node.stores.all() for t in store.load_trades()]
        return sorted(
            (
                t
                for t in trades
                if (not wallet or t.wallet_id == wallet)
                and (not strategy or t.strategy == strategy)
                and (not symbol or symbol in (t.symbol, f"{t.venue}:{t.symbol}"))
            ),
            key=lambda t: t.closed_ms,
            reverse=True,
        )

    def starting_balances(self) -> dict[str, float]:
        """Each active wallet's starting balance (where its equity curve begins)."""
        return {w.id: w.starting_balance for w in self.node.portfolio.wallets()}

    @property
    def regime_timeframe(self) -> str:
        """The bars the regime classifier (and the universe's ATR) read: one per market."""
        return self.node.allocator.regime_timeframe

    def market_atr(self, key: str, period: int = ATR_PERIOD) -> tuple[float, int]:
        """(ATR(period) of the market's closed regime-timeframe bars, bars available); the ATR
        is nan until period + 1 bars have closed."""
        window = self.node.streams.windows.find(key, self.regime_timeframe)
        if window is None or len(window) == 0:
            return math.nan, 0
        bars = window.series(period * 8)
        if len(bars) <= period:
            return math.nan, len(bars)
        values = indicators.atr(bars.high, bars.low, bars.close, period)
        return float(values[-1]), len(window)

    def stages(self) -> list[StageConfig]:
        return list(self.node.rollout.stages)

    def cooldowns(self) -> dict[str, int]:
        return self.node.risk.cooldowns()

    def chop_exploration(self) -> float:
        return self.node.config.allocator.chop_exploration

    @property
    def flatten_on_shutdown(self) -> bool:
        return self.node.config.execution.flatten_on_shutdown

    # ---- actions (audited) ---------------------------------------------------------------------
    async def _audited(
        self,
        source: str,
        action: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[T]],
        *,
        ok_of: Callable[[T], bool] | None = None,
    ) -> T:
        """Write the audit row ("requested"), run the action, complete the row with the outcome.

        When the row cannot be written (storage degraded) only actions that reduce risk run
        (flatten, pause, reject, turning a domain off): anything else is refused, because the
        journal must hold it before it happens."""
        entry = ev.AuditEntry(
            new_id("audit"),
            self.node.clock.now_ms(),
            source,
            action,
            _plain(args),
            False,
            "requested",
            phase="requested",
        )
        try:
            self.node.stores.home.save_audit(entry)
        except StorageError as exc:
            if not _reduces_risk(action, args):
                raise ControlError(
                    f"{action} refused: the audit journal cannot be written ({exc})"
                ) from None
            log.error("audit: %s by %s runs unrecorded: %s", action, source, exc)
        try:
            result = await call()
        except TradetermError as exc:
            await self._complete(entry, ok=False, result=str(exc))
            raise
        except Exception as exc:
            await self._complete(entry, ok=False, result=f"internal error: {type(exc).__name__}")
            raise
        ok = ok_of(result) if ok_of is not None else True
        await self._complete(entry, ok=ok, result=_summary(result))
        return result

    async def _complete(self, entry: ev.AuditEntry, *, ok: bool, result: str) -> None:
        done = ev.AuditEntry(
            entry.id, entry.ts_ms, entry.source, entry.action, entry.args, ok, result
        )
        try:
            self.node.stores.home.save_audit(done)
        except StorageError as exc:
            log.error("audit: cannot record the outcome of %s: %s", entry.action, exc)
        await self.node.bus.publish(ev.AUDIT, done)

    async def audit_refused(
        self, source: str, action: str, args: dict[str, Any], reason: str
    ) -> None:
        """Record a change request refused before it reached an action (bad arguments)."""
        entry = ev.AuditEntry(
            new_id("audit"), self.node.clock.now_ms(), source, action, _plain(args), False, reason
        )
        await self._complete(entry, ok=False, result=reason)

    def _known_confirmation(self, confirmation_id: str) -> None:
        if self.node.execution.confirmations.get(confirmation_id) is None:
            raise UserError(
                f"no confirmation '{confirmation_id[:64]}' (ids as `tradeterm status` shows them)"
            )

    async def approve(self, confirmation_id: str, *, source: str) -> ev.PendingConfirmation:
        """Approve a pending confirmation. The risk engine re-checks it first: an approval it
        turns into a rejection returns the rejected confirmation and is audited as not ok."""

        async def run() -> ev.PendingConfirmation:
            self._known_confirmation(confirmation_id)
            return await self.node.execution.approve(confirmation_id, by=source)

        return await self._audited(
            source,
            "approve",
            {"id": confirmation_id},
            run,
            ok_of=lambda conf: conf.status is ConfirmationStatus.APPROVED,
        )

    async def reject(
        self, confirmation_id: str, *, source: str, reason: str = ""
    ) -> ev.PendingConfirmation:
        async def run() -> ev.PendingConfirmation:
            self._known_confirmation(confirmation_id)
            return await self.node.execution.reject(
                confirmation_id, by=source, reason=reason or f"rejected by {source}"
            )

        return await self._audited(source, "reject", {"id": confirmation_id, "reason": reason}, run)

    async def flatten_all(self, *, source: str) -> FlattenReport:
        return await self._audited(
            source,
            "flatten_all",
            {},
            lambda: self.node.execution.flatten_all(by=source),
            ok_of=lambda report: report.ok,
        )

    # ---- one position --------------------------------------------------------------------------
    def find_position(self, ref: str) -> Position:
        """The open position `ref` names: "wallet/venue:symbol", "venue:symbol" or a symbol,
        as long as it names exactly one (ControlError saying which otherwise)."""
        wallet, _, market = ref.rpartition("/")
        found = [
            p
            for p in self.node.portfolio.positions()
            if (not wallet or p.wallet_id == wallet) and market in (p.key, p.symbol)
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            held = ", ".join(f"{p.wallet_id}/{p.key}" for p in self.node.portfolio.positions())
            raise UserError(f"no open position '{ref}' (open: {held or 'none'})")
        names = ", ".join(f"{p.wallet_id}/{p.key}" for p in found)
        raise UserError(f"'{ref}' names {len(found)} positions: say which ({names})")

    async def close_position(self, ref: str, *, source: str) -> str:
        """Close one position at market with a reduce-only order (its resting stop and target
        are cancelled first)."""

        async def run() -> str:
            p = self.find_position(ref)
            await self.node.execution.close_position(p.wallet_id, p.key, f"closed by {source}")
            return f"closing {p.side.value} {p.qty:g} {p.wallet_id}/{p.key} at market"

        return await self._audited(source, "close_position", {"position": ref}, run)

    async def move_stop(self, ref: str, price: float, *, source: str) -> Position:
        """Tighten one position's stop; a widening is refused with the risk engine's reason."""

        async def run() -> Position:
            p = self.find_position(ref)
            return await self.node.execution.move_stop(p.wallet_id, p.key, price)

        args = {"position": ref, "price": price}
        return await self._audited(source, "move_stop", args, run)

    async def move_target(self, ref: str, price: float, *, source: str) -> Position:
        """Move one position's take profit (on the profit side of the current price)."""

        async def run() -> Position:
            p = self.find_position(ref)
            return await self.node.execution.move_target(p.wallet_id, p.key, price)

        args = {"position": ref, "price": price}
        return await self._audited(source, "move_target", args, run)

    async def pause(self, *, source: str) -> ev.TradingStateChanged | None:
        """No new entries (REDUCING); exits and stops keep working."""
        return await self._audited(
            source,
            "pause",
            {},
            lambda: self._change_state(TradingState.REDUCING, f"paused by {source}", source),
        )

    async def resume(self, *, source: str) -> ev.TradingStateChanged | None:
        """Back to ACTIVE: node-wide and every wallet a kill switch halted (the only way out of
        HALTED; the kill switch re-arms from each wallet's equity now)."""

        async def run() -> ev.TradingStateChanged | None:
            changes = await self.node.risk.resume(source)
            self.node.persist_state()
            node_wide = [c for c in changes if not c.scope]
            chosen = node_wide or changes
            return chosen[0] if chosen else None

        return await self._audited(source, "resume", {}, run)

    async def _change_state(
        self, state: TradingState, reason: str, source: str
    ) -> ev.TradingStateChanged | None:
        change = await self.node.risk.change_state(state, reason, source)
        self.node.persist_state()
        return change

    async def promote(
        self, *, source: str, force: bool = False, from_stage: int | None = None
    ) -> ev.StageChanged:
        """Promote to the next stage. `from_stage` is the stage the operator looked at when they
        confirmed: if another interface moved the stage meanwhile, nothing happens."""

        async def run() -> ev.StageChanged:
            current = self.node.rollout.index
            if from_stage is not None and from_stage != current:
                raise ControlError(
                    f"the stage changed to {current} while you were deciding on stage {from_stage}; look again"
                )
            change = self.node.rollout.promote(self.gate_report(), by=source, force=force)
            await self.node.rollout.announce(change)
            return change

        args: dict[str, Any] = {"force": force, "from_stage": from_stage}
        return await self._audited(source, "promote", args, run)

    async def set_stage(
        self, index: int, *, source: str, reason: str = "", force: bool = False
    ) -> ev.StageChanged:
        """Jump to stage `index`. Back is always allowed; forward needs the current stage's
        gates passed, or `force` (audited like a forced promotion)."""

        async def run() -> ev.StageChanged:
            count = len(self.node.rollout.stages)
            if not 1 <= index <= count:
                raise UserError(f"no stage {index}: stages are 1..{count}")
            change = self.node.rollout.set_stage(
                index, by=source, reason=reason, report=self.gate_report(), force=force
            )
            await self.node.rollout.announce(change)
            return change

        args: dict[str, Any] = {"index": index, "reason": reason, "force": force}
        return await self._audited(source, "set_stage", args, run)

    async def toggle_domain(
        self, domain: Domain, enabled: bool, *, source: str
    ) -> ev.DomainToggled:
        async def run() -> ev.DomainToggled:
            if enabled and domain not in self.node.config.domains:
                raise ControlError(
                    f"domain {domain.value} is unavailable: the config has no [domains.{domain.value}]"
                )
            return await self.node.rollout.toggle_and_publish(domain, enabled, source=source)

        return await self._audited(
            source, "toggle_domain", {"domain": domain.value, "enabled": enabled}, run
        )

    async def set_exploration(self, rate: float, *, source: str) -> float:
        async def run() -> float:
            applied = self.node.allocator.set_exploration(rate)
            self.node.persist_state()
            await self.node.bus.publish(ev.ALLOCATOR_STATE, self.node.allocator.state())
            return applied

        return await self._audited(source, "set_exploration", {"rate": rate}, run)

    async def set_learning(self, enabled: bool, *, source: str) -> bool:
        async def run() -> bool:
            self.node.allocator.set_learning(enabled)
            self.node.persist_state()
            await self.node.bus.publish(ev.ALLOCATOR_STATE, self.node.allocator.state())
            return enabled

        return await self._audited(source, "set_learning", {"enabled": enabled}, run)

    async def reload_active_configs(self, *, source: str) -> list[str]:
        """Trade the promoted active configs (state/research.db) from the next bar on; returns
        the runners whose parameters changed (audited, and shown as an alert)."""

        async def run() -> list[str]:
            changed = self.node.reload_active_configs()
            text = f"active configs reloaded by {source}: " + (", ".join(changed) or "no change")
            await self.node.bus.publish(
                ev.ALERT, ev.Alert("info", text, self.node.clock.now_ms(), topic="reload")
            )
            return changed

        return await self._audited(source, "reload", {}, run)

    # ---- reconciliation differences (issue 13) ------------------------------------------------
    def reconcile_list(self) -> list[Difference]:
        """Open and ignored differences first, then recent history (read, not audited)."""
        return self.node.execution.differences.all()

    def reconcile_preview(self, diff_id: str, action: str) -> str:
        """What `action` on a difference will send (the console's confirm modal shows it)."""
        return self.node.execution.reconcile_actions().preview(diff_id, action)

    async def reconcile_now(self, *, source: str) -> ReconcileReport:
        """Run reconciliation now; under the "halt" policy an open difference halts trading."""

        async def run() -> ReconcileReport:
            report = await self.node.execution.reconcile()
            if report.halt:
                await self.node.risk.change_state(
                    TradingState.HALTED, f"reconcile ({source}): {report.reason}", "reconcile"
                )
            return report

        return await self._audited(source, "reconcile_run", {}, run)

    async def reconcile_adopt(self, diff_id: str, *, source: str) -> Difference:
        """Take the venue's side of one difference (through the risk gate where it adds
        exposure; refused with the gate's reason)."""
        return await self._reconcile_action("adopt", diff_id, source)

    async def reconcile_close(self, diff_id: str, *, source: str) -> Difference:
        """Orphan position: reduce-only close at the venue; orphan order: cancel it there."""
        return await self._reconcile_action("close", diff_id, source)

    async def reconcile_ignore(self, diff_id: str, *, source: str) -> Difference:
        """Keep the difference listed but stop it halting (audited with who)."""
        return await self._reconcile_action("ignore", diff_id, source)

    async def _reconcile_action(self, action: str, diff_id: str, source: str) -> Difference:
        async def run() -> Difference:
            actions = self.node.execution.reconcile_actions()
            if action == "adopt":
                done = await actions.adopt(diff_id, by=source)
            elif action == "close":
                done = await actions.close(diff_id, by=source)
            else:
                done = await actions.ignore(diff_id, by=source)
            await self._settled_hint()
            return done

        return await self._audited(source, f"reconcile_{action}", {"id": diff_id}, run)

    async def _settled_hint(self) -> None:
        """When trading is HALTED by reconciliation and no difference halts any more, say so:
        the operator resumes (the existing rule: only `resume` leaves HALTED)."""
        n = self.node
        if n.risk.state is not TradingState.HALTED or "reconcile" not in n.risk.state_reason:
            return
        if any(d.halts for d in n.execution.differences.active()):
            return
        text = (
            "every reconciliation difference is settled or ignored; trading stays HALTED until"
            " the operator resumes"
        )
        await n.bus.publish(ev.ALERT, ev.Alert("info", text, n.clock.now_ms(), "reconcile"))


_RISK_REDUCING = frozenset(
    {"flatten_all", "pause", "reject", "close_position", "move_stop", "reconcile_close"}
)


def _reduces_risk(action: str, args: dict[str, Any]) -> bool:
    """Actions that may run even when the journal cannot be written: they only take risk off."""
    return action in _RISK_REDUCING or (action == "toggle_domain" and args.get("enabled") is False)


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as JSON values that keep their types (enums as their words, long text cut)."""
    out: dict[str, Any] = {}
    for key, value in list(args.items())[:20]:
        name = str(key)[:64]
        if isinstance(value, Domain | TradingState):
            out[name] = value.value
        elif value is None or isinstance(value, bool | int | float):
            out[name] = value
        elif isinstance(value, str):
            out[name] = value if len(value) <= 200 else f"{value[:200]}... ({len(value)} chars)"
        elif isinstance(value, list | tuple | dict):
            out[name] = f"a {type(value).__name__} of {len(value)} items"
        else:
            out[name] = str(value)[:200]
    return out


def _summary(result: Any) -> str:
    if result is None:
        return "no change"
    if isinstance(result, ev.PendingConfirmation):
        return f"{result.id} {result.status.value} {result.reason}".strip()
    if isinstance(result, ev.TradingStateChanged):
        return f"{result.previous.value} -> {result.state.value}"
    if isinstance(result, ev.StageChanged):
        return f"stage {result.from_index} -> {result.to_index} ({result.name})"
    if isinstance(result, FlattenReport):
        return result.summary()
    if isinstance(result, Difference):
        return f"{result.id} {result.status}: {result.note}"
    if isinstance(result, ReconcileReport):
        halt = ", halt" if result.halt else ""
        return f"{len(result.differences)} differences{halt}"
    if isinstance(result, Position):
        return f"{result.wallet_id}/{result.key} stop {result.stop_loss:g} target {result.take_profit:g}"
    return str(result)


def parse_domain(text: str) -> Domain:
    try:
        return Domain(text)
    except ValueError:
        raise ControlError(
            f"unknown domain '{text}' (known: {', '.join(d.value for d in Domain)})"
        ) from None
