"""The staged rollout: which domains trade, on paper or live, and when a stage may be left.

Stages come from config (the default five: crypto paper -> crypto live with exploration on paper ->
perps and forex paper -> crypto and forex live, options paper -> full). The current stage is a
state of the shared FSM (states 1..N): `promote` (i -> i+1, operator only, gates passed or forced),
`demote:j` (i -> j < i) and `set:j` (operator jump; forward only past passed gates or forced).
A live wallet's kill switch demotes its DOMAIN only (live -> paper within the stage, stored as a
`demote:<domain>` record), never the whole stage.
Every transition is stored with a KPI snapshot, together with the stage index, in one commit;
the event is published after.

Safety:
- A domain trades live only when its stage says live AND live trading is enabled for this run
  (`wallets.live.approved` and `--confirm`); otherwise `domain_mode` says paper. Moving to a stage
  with live domains without live enabled is refused; the node refuses to start on one
  (`needs_live`).
- Forex and options start OFF at every boot whatever the stage says; the operator turns them on
  for the session (toggles are not stored).
- Canary: a live wallet is a canary (smaller risk per trade) until its domain has been live for
  `canary_days` AND has closed `canary_trades` live trades, both counted from the latest
  transition that made the domain live (a demotion and a new promotion start a new canary).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import RolloutConfig, StageConfig
from tradeterm.domain.enums import Domain, WalletMode
from tradeterm.domain.events import (
    DOMAIN_TOGGLE,
    KILL_SWITCH,
    STAGE,
    TRADE_CLOSED,
    ClosedTrade,
    DomainToggled,
    KillSwitchTripped,
    StageChanged,
)
from tradeterm.domain.fsm import StateMachine
from tradeterm.domain.wallets import wallet_id
from tradeterm.errors import ConfigError, ControlError
from tradeterm.rollout.kpis import EquityCurve, GateReport, build_report, domain_kpis
from tradeterm.storage.db import Storage

Mode = Literal["off", "paper", "live"]
_RANK: dict[str, int] = {"off": 0, "paper": 1, "live": 2}
META_KEY = "rollout.stage"
DEMOTED_KEY = "rollout.demoted"
BOOT_OFF = frozenset({Domain.FOREX, Domain.OPTIONS})
MACHINE = "rollout"
DAY_MS = 86_400_000


def live_domain(wallet: str) -> Domain | None:
    """The domain of a live wallet id (`live:crypto_spot`); None for paper or unknown ids."""
    mode, _, name = wallet.partition(":")
    if mode != "live":
        return None
    try:
        return Domain(name)
    except ValueError:
        return None


class CanaryBook:
    """Live spells per domain and the live trades closed in each (see the module docstring).

    A live wallet whose domain has no live spell on record counts as a canary (the safe answer).
    """

    def __init__(self, canary_trades: int, canary_days: float) -> None:
        self.canary_trades = canary_trades
        self.canary_days = canary_days
        self._since: dict[Domain, int | None] = {}
        self._trades: dict[Domain, dict[str, int]] = {}
        self._graduated: set[Domain] = set()

    def reset(self) -> None:
        self._since = {}
        self._trades = {}
        self._graduated = set()

    def set_spells(self, since: Mapping[Domain, int | None]) -> None:
        """Start of each domain's current live spell (None: not live)."""
        self._since = dict(since)
        self._graduated = set()

    def count(self, trade: ClosedTrade) -> None:
        """Remember a closed live trade (each trade id once)."""
        domain = live_domain(trade.wallet_id)
        if domain is not None:
            self._trades.setdefault(domain, {})[trade.id] = trade.closed_ms

    def trades_in_spell(self, domain: Domain) -> int:
        """Live trades the domain closed since its current live spell began."""
        since = self._since.get(domain)
        if since is None:
            return 0
        return sum(1 for closed in self._trades.get(domain, {}).values() if closed >= since)

    def is_canary(self, wallet: str, now_ms: int) -> bool:
        """True while a live wallet's domain is young or short of trades in its live spell."""
        if not wallet.startswith("live:"):
            return False
        domain = live_domain(wallet)
        since = self._since.get(domain) if domain is not None else None
        if domain is None or since is None:
            return True
        if domain in self._graduated:
            return False
        if now_ms - since < self.canary_days * DAY_MS:
            return True
        if self.trades_in_spell(domain) < self.canary_trades:
            return True
        self._graduated.add(domain)
        return False


def stage_machine(count: int) -> StateMachine[int, str]:
    """The stage lifecycle over stages 1..count: promote, demote:j (j lower), set:j (any other)."""
    table: dict[tuple[int, str], int] = {}
    for i in range(1, count + 1):
        if i < count:
            table[(i, "promote")] = i + 1
        for j in range(1, count + 1):
            if j < i:
                table[(i, f"demote:{j}")] = j
            if j != i:
                table[(i, f"set:{j}")] = j
    return StateMachine(MACHINE, table)


class Rollout:
    """The current rollout stage, domain toggles, wallet routing and canary status."""

    def __init__(
        self,
        config: RolloutConfig,
        clock: Clock,
        store: Storage,
        *,
        live_enabled: bool,
        paper_only: bool = False,
        canary_trades: int = 50,
        canary_days: float = 7.0,
        live_store: Storage | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.live_store = live_store
        self.live_enabled = live_enabled
        self.paper_only = paper_only
        """--paper-only: live stages run on paper wallets, so moving to one is allowed."""
        self.stages: list[StageConfig] = list(config.stages)
        self.machine = stage_machine(len(self.stages))
        self.index = config.initial_stage
        self.history: list[StageChanged] = []
        self._enabled = {d: d not in BOOT_OFF for d in Domain}
        self._demoted: dict[Domain, Mode] = {}
        self.canary = CanaryBook(canary_trades, canary_days)
        self._bus: Bus | None = None

    # ---- stage facts ---------------------------------------------------------------------------
    @property
    def stage(self) -> StageConfig:
        return self.stages[self.index - 1]

    def stage_at(self, index: int) -> StageConfig:
        if not 1 <= index <= len(self.stages):
            raise ControlError(f"no stage {index}: stages are 1..{len(self.stages)}")
        return self.stages[index - 1]

    def stage_mode(self, index: int, domain: Domain) -> Mode:
        """What stage `index` configures for `domain`, before the live-enabled check."""
        return self.stage_at(index).domains.get(domain, "off")

    def needs_live(self, index: int | None = None) -> bool:
        """True when the stage (default: current) trades some domain live."""
        stage = self.stage if index is None else self.stage_at(index)
        return any(mode == "live" for mode in stage.domains.values())

    def domain_mode(self, domain: Domain) -> Mode:
        """The domain's mode now: "live" only when live trading is enabled for this run, and
        never above a kill-switch demotion of the domain within this stage."""
        mode = self.stage.domains.get(domain, "off")
        demoted = self._demoted.get(domain)
        if demoted is not None and _RANK[demoted] < _RANK[mode]:
            mode = demoted
        return "paper" if mode == "live" and not self.live_enabled else mode

    def demotions(self) -> dict[Domain, Mode]:
        """Domains a kill switch demoted within the current stage -> their mode now."""
        return dict(self._demoted)

    def domain_enabled(self, domain: Domain) -> bool:
        return self._enabled[domain]

    def toggle_domain(self, domain: Domain, enabled: bool, *, source: str = "") -> DomainToggled:
        """Turn a domain on or off for this session (not stored: forex and options boot OFF)."""
        self._enabled[domain] = bool(enabled)
        return DomainToggled(domain, bool(enabled), self.clock.now_ms(), source)

    def route(self, domain: Domain, explore: bool) -> str | None:
        """The wallet for an intent in `domain`, or None when the domain is off or disabled."""
        mode = self.domain_mode(domain)
        if mode == "off" or not self._enabled[domain]:
            return None
        if mode == "paper" or (explore and self.stage.explore_on_paper):
            return wallet_id(WalletMode.PAPER, domain)
        return wallet_id(WalletMode.LIVE, domain)

    def active_wallets(self) -> list[tuple[WalletMode, Domain]]:
        """Wallets the current stage can route to (toggled-off domains included)."""
        wallets: list[tuple[WalletMode, Domain]] = []
        for domain in Domain:
            mode = self.domain_mode(domain)
            if mode == "live":
                wallets.append((WalletMode.LIVE, domain))
            if mode == "paper" or (mode == "live" and self.stage.explore_on_paper):
                wallets.append((WalletMode.PAPER, domain))
        return wallets

    @property
    def stage_since_ms(self) -> int:
        """When the current stage began (0 before the first stored transition)."""
        return self.history[-1].ts_ms if self.history else 0

    # ---- restore -------------------------------------------------------------------------------
    def restore(self) -> None:
        """Stage and history from the store (first start: the configured initial stage, stored),
        then the canary trade counts from the stored live trades."""
        self.history = self.store.stage_history()
        self._demoted = {
            Domain(d): mode
            for d, mode in dict(self.store.get_meta(DEMOTED_KEY, {}) or {}).items()
            if d in Domain._value2member_map_ and mode in _RANK
        }
        stored = self.store.get_meta(META_KEY)
        if stored is None:
            self._first_start()
        elif isinstance(stored, int) and 1 <= stored <= len(self.stages):
            self.index = stored
        else:
            raise ConfigError(
                f"rollout.stages: the stored stage {stored!r} is not one of the "
                f"{len(self.stages)} configured stages"
            )
        self.canary.reset()
        self._refresh_canary()
        source = self.live_store if self.live_store is not None else self.store
        for trade in source.load_trades():
            self.on_trade_closed(trade)

    def _first_start(self) -> None:
        now = self.clock.now_ms()
        index = self.config.initial_stage
        change = StageChanged(0, index, self.stages[index - 1].name, "init", "first start", now)
        with self.store.atomic():
            self.store.save_stage_transition(change)
            self.store.put_meta(META_KEY, index, now)
        self.index = index
        self.history.append(change)

    # ---- canary --------------------------------------------------------------------------------
    def live_since(self, domain: Domain) -> int | None:
        """Start of the domain's current live spell (from stage history); None when not live."""
        since: int | None = None
        for change in self.history:
            live = self._stored_mode(change.to_index, domain) == "live"
            if change.event == f"demote:{domain.value}" or not live:
                since = None
            elif since is None:
                since = change.ts_ms
        return since if self.domain_mode(domain) == "live" else None

    def _stored_mode(self, index: int, domain: Domain) -> Mode:
        if not 1 <= index <= len(self.stages):
            return "off"
        return self.stages[index - 1].domains.get(domain, "off")

    def _refresh_canary(self) -> None:
        self.canary.set_spells({d: self.live_since(d) for d in Domain})

    def is_canary(self, wallet_id: str) -> bool:
        """True for a live wallet whose domain is still proving itself live."""
        return self.canary.is_canary(wallet_id, self.clock.now_ms())

    def on_trade_closed(self, trade: ClosedTrade) -> None:
        """Count a live trade toward its domain's canary (each trade once)."""
        self.canary.count(trade)

    # ---- gates and KPIs ------------------------------------------------------------------------
    def _gate_wallet(self, domain: Domain) -> str:
        mode = WalletMode.LIVE if self.domain_mode(domain) == "live" else WalletMode.PAPER
        return wallet_id(mode, domain)

    def gate_report(
        self, trades: Sequence[ClosedTrade], equity: Mapping[str, EquityCurve]
    ) -> GateReport:
        """Each gated domain of the current stage: KPIs since the stage began vs its gates."""
        since = self.stage_since_ms
        gated = {d: (self._gate_wallet(d), gate) for d, gate in self.stage.gates.items()}
        wallets = {wallet for wallet, _ in gated.values()}
        by_wallet: dict[str, list[ClosedTrade]] = {w: [] for w in wallets}
        for trade in trades:
            if trade.wallet_id in by_wallet and trade.closed_ms >= since:
                by_wallet[trade.wallet_id].append(trade)
        curves = {w: [p for p in equity.get(w, ()) if p[0] >= since] for w in wallets}
        nxt = self.stages[self.index].name if self.index < len(self.stages) else ""
        return build_report(
            self.index, self.stage.name, nxt, gated, by_wallet, curves, self.clock.now_ms()
        )

    def _store_for(self, wallet: str) -> Storage:
        """Live wallets' rows live in live.db (the home store when no live store was given)."""
        if wallet.startswith("live:") and self.live_store is not None:
            return self.live_store
        return self.store

    def _stored_data(
        self, wallets: Sequence[str]
    ) -> tuple[list[ClosedTrade], dict[str, EquityCurve]]:
        since = self.stage_since_ms
        trades: list[ClosedTrade] = []
        equity: dict[str, EquityCurve] = {}
        for wallet in wallets:
            store = self._store_for(wallet)
            trades.extend(store.load_trades(wallet, since))
            equity[wallet] = store.equity_curve(wallet, since)
        return trades, equity

    def stored_gate_report(self) -> GateReport:
        """The gate report from the stored trades and equity curves."""
        wallets = [self._gate_wallet(d) for d in self.stage.gates]
        return self.gate_report(*self._stored_data(wallets))

    def kpi_snapshot(self) -> dict[str, dict[str, float]]:
        """KPIs since the stage began of every domain the stage trades, keyed by domain."""
        domains = [d for d in Domain if self.domain_mode(d) != "off"]
        wallets = {d: self._gate_wallet(d) for d in domains}
        trades, equity = self._stored_data(list(wallets.values()))
        snapshot: dict[str, dict[str, float]] = {}
        for domain, wallet in wallets.items():
            mine = [t for t in trades if t.wallet_id == wallet]
            snapshot[domain.value] = domain_kpis(mine, equity.get(wallet, ())).as_dict()
        return snapshot

    # ---- transitions ---------------------------------------------------------------------------
    def _require_live_ok(self, index: int) -> None:
        if self.needs_live(index) and not self.live_enabled and not self.paper_only:
            name = self.stage_at(index).name
            raise ControlError(
                f"stage {index} '{name}' trades live: needs wallets.live.approved = true and --confirm"
                " (or run with --paper-only to trade it on paper)"
            )

    def _transition(
        self, event: str, kind: str, reason: str, kpis: dict[str, dict[str, float]]
    ) -> StageChanged:
        now = self.clock.now_ms()
        step = self.machine.apply("stage", self.index, event, now)
        target = step.target
        change = StageChanged(
            self.index, target, self.stages[target - 1].name, kind, reason, now, kpis
        )
        with self.store.atomic():
            self.store.save_stage_transition(change)
            self.store.put_meta(META_KEY, target, now)
            self.store.put_meta(DEMOTED_KEY, {}, now)
        self.index = target
        self._demoted = {}
        self.history.append(change)
        self._refresh_canary()
        return change

    def promote(self, report: GateReport, *, by: str, force: bool = False) -> StageChanged:
        """Move to the next stage: the operator's call, with the current stage's gates passed
        (or `force`). InvalidTransition at the last stage; ControlError if not ready or if the
        next stage trades live and live trading is not enabled."""
        self.machine.next_state(self.index, "promote")
        if report.stage_index != self.index:
            raise ControlError(
                f"the gate report is for stage {report.stage_index}; the rollout is at stage "
                f"{self.index}"
            )
        if not report.ready and not force:
            failed = "; ".join(report.failures())
            raise ControlError(f"stage {self.index} '{self.stage.name}' gates not passed: {failed}")
        self._require_live_ok(self.index + 1)
        if report.ready:
            reason = f"gates passed; by {by}"
        else:
            reason = f"forced past failed gates ({'; '.join(report.failures())}); by {by}"
        return self._transition("promote", "promote", reason, report.kpis)

    def set_stage(
        self,
        index: int,
        *,
        by: str,
        reason: str,
        report: GateReport | None = None,
        force: bool = False,
    ) -> StageChanged:
        """The operator's jump to any other stage (live stages need live enabled). Going back
        is always allowed; going forward skips gates, so it needs the current stage's gates
        passed (`report`) or `force`, and says so in the record."""
        stage = self.stage_at(index)
        text = f"{reason}; by {by}" if reason else f"by {by}"
        if index == self.index:
            if self._demoted:
                return self._reinstate(text)
            raise ControlError(f"already at stage {index} '{stage.name}'")
        self._require_live_ok(index)
        if index > self.index:
            ready = report is not None and report.stage_index == self.index and report.ready
            if not ready and not force:
                failed = "; ".join(report.failures()) if report is not None else "no gate report"
                raise ControlError(
                    f"stage {index} is ahead of stage {self.index} '{self.stage.name}', whose "
                    f"gates have not passed ({failed}): use force to jump anyway"
                )
            if not ready:
                text = f"forced past failed gates; {text}"
        return self._transition(f"set:{index}", "set", text, self.kpi_snapshot())

    def _reinstate(self, text: str) -> StageChanged:
        """Lift the kill-switch demotions of the current stage (the operator set the stage it is
        at again): every domain takes the stage's modes back."""
        now = self.clock.now_ms()
        names = ", ".join(sorted(d.value for d in self._demoted))
        change = StageChanged(
            self.index,
            self.index,
            self.stage.name,
            "reinstate",
            f"{names} back to the stage's modes; {text}",
            now,
            self.kpi_snapshot(),
        )
        with self.store.atomic():
            self.store.save_stage_transition(change)
            self.store.put_meta(DEMOTED_KEY, {}, now)
        self._demoted = {}
        self.history.append(change)
        self._refresh_canary()
        return change

    def demote_domain(self, domain: Domain, reason: str) -> StageChanged | None:
        """A kill switch demotes its domain one step within this stage, and nothing else: live
        -> paper (the domain's paper wallet takes over; every other domain keeps its mode). The
        demotion is stored with the stage history and lasts until the operator moves the stage
        (promote or set). None when the domain is not live now."""
        if self.domain_mode(domain) != "live":
            return None
        now = self.clock.now_ms()
        demoted = {**self._demoted, domain: "paper"}
        change = StageChanged(
            self.index,
            self.index,
            self.stage.name,
            f"demote:{domain.value}",
            f"{domain.value} demoted to paper: {reason}",
            now,
            self.kpi_snapshot(),
        )
        with self.store.atomic():
            self.store.save_stage_transition(change)
            self.store.put_meta(DEMOTED_KEY, {d.value: m for d, m in demoted.items()}, now)
        self._demoted = demoted
        self.history.append(change)
        self._refresh_canary()
        return change

    # ---- bus -----------------------------------------------------------------------------------
    async def announce(self, change: StageChanged) -> None:
        """Publish a stage change made by the operator (after it was stored)."""
        if self._bus is not None:
            await self._bus.publish(STAGE, change)

    async def toggle_and_publish(
        self, domain: Domain, enabled: bool, *, source: str = ""
    ) -> DomainToggled:
        """`toggle_domain`, then DOMAIN_TOGGLE on the bus."""
        toggled = self.toggle_domain(domain, enabled, source=source)
        if self._bus is not None:
            await self._bus.publish(DOMAIN_TOGGLE, toggled)
        return toggled

    async def attach(self, bus: Bus) -> None:
        """KILL_SWITCH on a live wallet -> demote that domain -> STAGE; TRADE_CLOSED -> canary."""
        self._bus = bus

        async def on_kill(_topic: str, event: KillSwitchTripped) -> None:
            if not event.wallet_id.startswith("live:"):
                return
            reason = (
                f"kill switch: {event.wallet_id} drawdown {event.drawdown:.1%} >= {event.limit:.1%}"
            )
            change = self.demote_domain(event.domain, reason)
            if change is not None:
                await bus.publish(STAGE, change)

        def on_trade(_topic: str, trade: ClosedTrade) -> None:
            self.on_trade_closed(trade)

        bus.subscribe(KILL_SWITCH, on_kill, inline=True, name="rollout.kill")
        bus.subscribe(TRADE_CLOSED, on_trade, inline=True, name="rollout.trade")
