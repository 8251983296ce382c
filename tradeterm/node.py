"""build_node(config, clock): the one builder for paper, live and the event backtest.

The node composes venues, market data, strategies, the allocator, the risk engine, execution,
wallets, the rollout stages and storage, and wires them over one bus. Start-up order matters and
is the promise "nothing is lost": rebuild state from SQLite, expire stale confirmations,
reconcile with the venues, and only then let strategies run.

Inline subscription order on the trading path (a tick is one call chain up to the order):
  tick: portfolio marks -> execution (paper matching, position monitor)
  bar:  allocator regime -> strategies -> signal
  signal: recorder -> allocator -> intent -> risk -> risk.decision: recorder -> execution
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeterm.aio import reap
from tradeterm.allocator.engine import Allocator
from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import (
    FillModelConfig,
    SimVenueConfig,
    StrategyConfig,
    TradetermConfig,
)
from tradeterm.domain import events as ev
from tradeterm.domain.costs import CostModel
from tradeterm.domain.enums import Domain, TradingState, WalletMode
from tradeterm.domain.ids import new_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.domain.wallets import wallet_id
from tradeterm.errors import ConfigError, StorageError, UserError, VenueError
from tradeterm.execution.engine import ExecutionEngine
from tradeterm.execution.executors import (
    Executor,
    FundingRate,
    LiveExecutor,
    PaperExecutor,
    TakesPlans,
)
from tradeterm.execution.slippage import SlippageBook
from tradeterm.marketdata.store import CandleStore
from tradeterm.marketdata.streams import StreamManager
from tradeterm.portfolio.book import Portfolio
from tradeterm.recal.schedule import RecalSchedule
from tradeterm.recal.watch import DriftWatch
from tradeterm.risk.engine import EntryOrderStyle, RiskEngine, default_cost_model
from tradeterm.rollout.stages import Rollout
from tradeterm.statelock import StateLock
from tradeterm.storage.active_configs import RESEARCH_DB, load_active
from tradeterm.storage.recorder import EventRecorder
from tradeterm.storage.router import Stores
from tradeterm.strategies.engine import Market, StrategyEngine, build_runners
from tradeterm.strategies.registry import build_params
from tradeterm.telemetry.events_log import EventLogger
from tradeterm.telemetry.metrics import Metrics
from tradeterm.venues.factory import VenueHandle, build_venue

log = logging.getLogger(__name__)

WINDOW_MARGIN = 50
"""Extra bars kept beyond the deepest runner's need."""


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """How this run was started (command-line choices, not config)."""

    live_confirmed: bool = False
    """--confirm was given."""
    paper_only: bool = False
    """--paper-only: trade every domain of the stage on paper, even where the stage says live."""
    state_dir: str | None = None
    """Overrides storage.state_dir (tests, backtests)."""
    metrics_server: bool = True
    """Serve Prometheus when telemetry.prometheus is on (off in tests)."""
    config_overrides: tuple[str, ...] = ()
    """`--set dotted.key=value` overrides applied to the config file (logged at start)."""
    backtest: bool = False
    """Event backtest: no background timers (stream timer, housekeeping). The backtest driver
    feeds every tick with `Node.feed_tick` and marks the wallets with `Node.mark_wallets`; the
    trading path is the one that trades live."""


def live_enabled(config: TradetermConfig, options: NodeOptions) -> bool:
    """Live trading needs BOTH wallets.live.approved in the config and --confirm, and not --paper-only."""
    return config.wallets.live.approved and options.live_confirmed and not options.paper_only


@dataclass
class Node:
    """Every engine of one tradeterm process, wired over one bus."""

    config: TradetermConfig
    clock: Clock
    options: NodeOptions
    bus: Bus
    stores: Stores
    state_dir: Path
    venues: dict[str, VenueHandle]
    instruments: dict[str, Instrument]
    markets: dict[str, Market]
    streams: StreamManager
    portfolio: Portfolio
    risk: RiskEngine
    rollout: Rollout
    allocator: Allocator
    execution: ExecutionEngine
    strategies: StrategyEngine
    metrics: Metrics
    live: bool
    funding_rate: FundingRate | None = None
    """Funding rate per market and boundary for paper perpetuals (None: the default rate);
    the event backtest passes the recorded funding series."""
    drift: DriftWatch | None = None
    """Drift alerts of arms trading promoted configs (None in event backtests)."""
    recal: RecalSchedule | None = None
    """Scheduled re-calibration (None unless calibration.schedule.enabled)."""
    slippage: SlippageBook | None = None
    """Fitted per-pair slippage and venue fee tiers (config [costs]); refitted on a timer."""
    started: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _metrics_server: Any = None
    _lock: StateLock | None = None
    _fresh_live: list[str] = field(default_factory=list)
    """Live wallets opened this run on venues whose accounts say what cash they start with."""

    # ---- start-up ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore, reconcile, then stream and trade. Raises UserError when live is needed but
        not enabled (the refusal message says what to change)."""
        if self._lock is None:  # the daemon takes the lock before it touches anything (issue 11)
            self._lock = StateLock(self.state_dir)
            self._lock.acquire()
        await self.bus.start()
        await self._load_instruments()
        self._restore_state()
        self._check_live()
        await self._attach()
        self._activate_wallets()
        await self._fund_live_wallets()
        restore = await self.execution.restore()
        log.info(
            "restored %d working orders (%d re-armed), %d pending confirmations (%d expired while"
            " down), %d open positions",
            restore.working_orders,
            restore.resumed,
            restore.pending_confirmations,
            len(restore.expired),
            restore.open_positions,
        )
        report = await self.execution.reconcile()
        for line in report.resolved:
            log.info("reconcile: %s", line)
        if report.halt:
            found = "; ".join(o.text.removeprefix("reconcile ") for o in report.orphans[:3])
            more = f" (+{len(report.orphans) - 3} more)" if len(report.orphans) > 3 else ""
            await self.risk.change_state(
                TradingState.HALTED,
                "; ".join(report.refusals) or f"reconcile found orphans: {found}{more}",
                "reconcile",
            )
        await self.execution.protect_open_positions()
        for outcome in await self.execution.resume_entries():
            log.info("restart: entry %s", outcome)
        if self.options.backtest:
            await self._warm_market_data()
        else:
            await self._start_market_data()
        self.started = True
        await self._publish_status()
        if self.options.config_overrides:
            log.info("config overrides: %s", ", ".join(self.options.config_overrides))
        log.info(
            "node started: stage %d '%s', %s, %d markets, %d strategy runners",
            self.rollout.index,
            self.rollout.stage.name,
            "LIVE enabled" if self.live else "paper only",
            len(self.markets),
            len(self.strategies.runners),
        )

    async def _load_instruments(self) -> None:
        for name, handle in self.venues.items():
            await handle.data.connect()
            offered = {i.symbol: i for i in await handle.data.instruments()}
            for domain, dcfg in self.config.domains.items():
                if dcfg.venue != name:
                    continue
                for symbol in dcfg.symbols:
                    inst = offered.get(symbol)
                    if inst is None:
                        raise ConfigError(
                            f"domains.{domain.value}.symbols: '{symbol}' is not offered by venue '{name}'"
                        )
                    self.instruments[inst.key] = inst
                    self.markets[inst.key] = Market(name, symbol, domain)
            if self.config.costs.fees == "venue" and handle.load_fees is not None:
                try:  # the account's fee tier; the venue's market defaults when refused
                    mine = [m.symbol for m in self.markets.values() if m.venue == name]
                    count = await handle.load_fees(mine)
                    log.info("%s: fee tier of %d markets from the venue", name, count)
                except VenueError as exc:
                    log.warning("%s: fee tier not loaded (%s): market defaults", name, exc)

    def _restore_state(self) -> None:
        home = self.stores.home
        self.portfolio.restore()
        self.rollout.restore()
        allocator_state = home.get_meta("allocator.state")
        if allocator_state:
            self.allocator.import_state(allocator_state)
        risk_state = home.get_meta("risk.state")
        if risk_state:
            if risk_state.get("state") == TradingState.ACTIVE.value:
                # a new process is not "resumed by console": the reason belonged to the last run
                risk_state = {**risk_state, "state_reason": ""}
            self.risk.import_state(risk_state)

    def _check_live(self) -> None:
        if self.rollout.needs_live() and not self.live and not self.options.paper_only:
            stage = self.rollout.stage
            raise UserError(
                f"rollout stage {self.rollout.index} '{stage.name}' trades live: live trading needs "
                "wallets.live.approved = true in the config and --confirm on the command line "
                "(or start with --paper-only to run this stage on paper wallets)"
            )

    async def _attach(self) -> None:
        bus = self.bus
        await EventRecorder(self.stores).attach(bus)
        bus.subscribe(
            ev.TICK,
            lambda _t, tick: self.portfolio.on_tick(tick),
            inline=True,
            name="portfolio.marks",
        )
        await self.execution.attach(bus)
        await self.risk.attach(bus)
        await self.allocator.attach(bus)
        await self.strategies.attach(bus)
        await self.rollout.attach(bus)
        if not self.options.backtest:  # interfaces a replay has no use for (log, Prometheus)
            await EventLogger().attach(bus)
            await self.metrics.attach(bus)
        bus.subscribe(ev.STAGE, self._on_stage, name="node.stage")
        bus.subscribe(ev.TRADE_CLOSED, self._on_trade_closed, name="node.persist")
        for part in (self.drift, self.recal):  # issue 15 item 7: drift alerts, re-calibration
            if part is not None:
                await part.attach(bus)
        if self.recal is not None:
            self.tasks.append(asyncio.get_running_loop().create_task(self.recal.run()))
        if self.config.telemetry.prometheus and self.options.metrics_server:
            tel = self.config.telemetry
            self._metrics_server = self.metrics.serve(tel.prometheus_host, tel.prometheus_port)

    async def _fund_live_wallets(self) -> None:
        """A live wallet opened for the first time on a venue that keeps the account's cash
        (Deriv) starts with the account's balance, so the first reconcile agrees."""
        fresh, self._fresh_live = self._fresh_live, []
        for wid in fresh:
            executor = self.execution.executor(wid)
            if not isinstance(executor, LiveExecutor):
                continue
            try:
                venue = await executor.venue_balance()
            except VenueError as exc:
                log.warning("%s: opening balance not read from the venue: %s", wid, exc)
                continue
            self.portfolio.fund_from_venue(wid, venue.total)
            log.info("%s opened with the venue's balance %.2f %s", wid, venue.total, venue.currency)

    def _activate_wallets(self) -> None:
        for mode, domain in self.rollout.active_wallets():
            self._ensure_wallet(mode, domain)

    def _ensure_wallet(self, mode: WalletMode, domain: Domain) -> None:
        wid = wallet_id(mode, domain)
        if self.execution.has_executor(wid):
            return
        dcfg = self.config.domains.get(domain)
        if dcfg is None:
            return  # a stage may name a domain this config does not trade
        handle = self.venues[dcfg.venue]
        executor: Executor
        if mode is WalletMode.PAPER:
            self.portfolio.activate_wallet(
                mode, domain, self.config.wallets.paper_balance, venue=handle.name
            )
            portfolio = self.portfolio

            def funded_until(key: str, wallet: str = wid) -> int | None:
                held = portfolio.position(wallet, key)
                return held.last_funding_ms or held.opened_ms if held is not None else None

            executor = PaperExecutor(
                wid,
                handle.fill_model,
                self.clock,
                instruments=self.instruments,
                seed=_seed(self.config, wid),
                funding=self.config.execution.funding,
                funding_rate=self.funding_rate,
                funded_until=funded_until,
                model_for=self._paper_model,
            )
        else:
            account = self.config.wallets.live.accounts.get(domain)
            venue = self.venues[account.venue] if account else handle
            acct_name = account.account if account else "live"
            if venue.live_cash_from_venue and self.portfolio.wallet(wid) is None:
                self._fresh_live.append(wid)
            self.portfolio.activate_wallet(
                mode,
                domain,
                _sim_balance(self.config, venue.name),
                venue=venue.name,
                account=acct_name,
            )
            client = venue.exec_client(acct_name)
            if isinstance(client, TakesPlans):
                ledger = self.execution.ledger
                client.plans = lambda coid, w=wid: ledger.plan(coid, w)
            executor = LiveExecutor(
                wid,
                client,
                self.clock,
                max_retries=self.config.execution.max_retries,
                cost_rate=venue.fill_model.taker_fee_rate + venue.fill_model.slippage_bps / 1e4,
                fee_rate=venue.fill_model.taker_fee_rate,
            )
        self.execution.add_executor(executor)

    async def _start_market_data(self) -> None:
        """Warm every window a runner or the regime classifier reads, then stream."""
        need = self.strategies.required_bars()
        wanted = [
            tf
            for tf in sorted(self.streams.builder.timeframes, key=timeframe_ms)
            if tf in need or tf == self.allocator.regime_timeframe
        ]
        for name, handle in self.venues.items():
            self.streams.add_client(handle.data)
            symbols = [m.symbol for m in self.markets.values() if m.venue == name]
            if not symbols:
                continue
            for symbol in symbols:
                warmed = await self.streams.warm_up(name, symbol, wanted)
                regime_bars = warmed.get(self.allocator.regime_timeframe)
                if regime_bars is not None and len(regime_bars):
                    self.allocator.update_regime(f"{name}:{symbol}", regime_bars)
            await self.streams.subscribe(name, symbols)
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self.streams.run(), name="marketdata"))
        self.tasks.append(loop.create_task(self._housekeeping(), name="node:housekeeping"))
        if self.slippage is not None:
            self.tasks.append(loop.create_task(self.slippage.run(), name="node:slippage-refit"))

    async def _warm_market_data(self) -> list[str]:
        """Event backtest: warm the windows from the venues' history (as `_start_market_data`
        does) without subscribing or starting timers. Returns the market keys warmed."""
        need = self.strategies.required_bars()
        wanted = [
            tf
            for tf in sorted(self.streams.builder.timeframes, key=timeframe_ms)
            if tf in need or tf == self.allocator.regime_timeframe
        ]
        warmed: list[str] = []
        for name, handle in self.venues.items():
            self.streams.add_client(handle.data)
            for market in self.markets.values():
                if market.venue != name:
                    continue
                windows = await self.streams.warm_up(name, market.symbol, wanted)
                regime_bars = windows.get(self.allocator.regime_timeframe)
                if regime_bars is not None and len(regime_bars):
                    self.allocator.update_regime(market.key, regime_bars)
                warmed.append(market.key)
        return warmed

    # ---- the event backtest's steps ---------------------------------------------------------
    async def feed_tick(self, tick: Tick) -> None:
        """Event backtest: one tick through the trading path as the market data stream delivers
        it (marks, paper matching, the position monitor, the bars it closes, strategies,
        allocator, risk, execution), then every queued subscriber (a kill switch's flatten)."""
        await self.streams.ingest(tick)
        await self.bus.drain()

    async def mark_wallets(self) -> None:
        """Event backtest: what the live node's one-second housekeeping does between ticks:
        every wallet marked to market and published (peak equity, UTC day roll, kill switch)."""
        for snapshot in self.portfolio.snapshots():
            await self.bus.publish(ev.WALLET, snapshot)
        await self.bus.drain()

    # ---- running ------------------------------------------------------------------------------
    async def _housekeeping(self) -> None:
        """Once a second: wallet snapshots for the screens and the kill switch; every minute:
        allocator and risk state to the database."""
        last_persist = self.clock.now_ms()
        while True:
            await self.clock.sleep(1.0)
            try:
                for snapshot in self.portfolio.snapshots():
                    await self.bus.publish(ev.WALLET, snapshot)
                if self.clock.now_ms() - last_persist >= 60_000:
                    last_persist = self.clock.now_ms()
                    self.persist_state()
            except StorageError:
                pass  # the storage health reports a failing disk once (issue 9)
            except Exception:
                log.exception("node housekeeping failed")

    def _paper_model(self, venue: str, symbol: str) -> FillModelConfig | None:
        """A paper market's own fill model: fitted slippage / venue fees ([costs])."""
        handle = self.venues.get(venue)
        if self.slippage is None or handle is None:
            return None
        return self.slippage.fill_model(venue, symbol, handle.fill_model)

    def persist_state(self) -> None:
        home = self.stores.home
        now = self.clock.now_ms()
        with home.atomic():
            home.put_meta("allocator.state", self.allocator.export_state(), now)
            home.put_meta("risk.state", self.risk.export_state(), now)

    async def _on_trade_closed(self, _topic: str, _msg: Any) -> None:
        self.persist_state()

    async def _on_stage(self, _topic: str, msg: Any) -> None:
        if isinstance(msg, ev.StageChanged):
            self._activate_wallets()

    async def _publish_status(self) -> None:
        for snapshot in self.portfolio.snapshots():
            await self.bus.publish(ev.WALLET, snapshot)
        await self.bus.publish(
            ev.TRADING_STATE,
            ev.TradingStateChanged(
                self.risk.state,
                self.risk.state,
                self.risk.state_reason or "start",
                self.clock.now_ms(),
                "node",
            ),
        )

    # ---- shutdown ------------------------------------------------------------------------------
    def reload_active_configs(self) -> list[str]:
        """Re-read the promoted active configs and rebuild the strategy runners (from the next
        bar on). Returns the runners whose parameters changed. UserError, and nothing changed,
        when a runner would need a deeper window than this run keeps (restart to apply)."""
        configs = active_strategy_configs(self.config, self.state_dir, self.stores, self.clock)
        runners = build_runners(configs, self.markets.values())
        have = self.strategies.required_bars()
        for runner in runners:
            keeps = have.get(runner.timeframe, 0)
            if runner.required_bars > keeps:
                raise UserError(
                    f"reload: {runner.label} {runner.market} {runner.timeframe} needs "
                    f"{runner.required_bars} bars, this run keeps {keeps}; restart the node "
                    "to apply the promoted parameters"
                )
        before = {(r.label, r.market, r.timeframe): r.params for r in self.strategies.runners}
        changed = sorted(
            f"{r.label} {r.market} {r.timeframe}"
            for r in runners
            if before.get((r.label, r.market, r.timeframe)) != r.params
        )
        self.strategies.replace_runners(runners)
        if self.drift is not None:
            self.drift.refresh_soon()
        log.warning("reload: %d strategy runners, changed: %s", len(runners), changed or "none")
        return changed

    async def stop(self, *, flatten: bool | None = None) -> None:
        """Safe shutdown: no new entries, working entry orders cancelled, state persisted;
        positions closed only when asked (or execution.flatten_on_shutdown). Each step that
        waits on a venue or a task is bounded (STOP_STEP_TIMEOUT_S): one that does not answer
        is cancelled, named in the log, and the shutdown goes on, so a node always stops."""
        do_flatten = self.config.execution.flatten_on_shutdown if flatten is None else flatten
        self.strategies.enabled = False
        if self.started:
            await _bounded("market data streams", self.streams.stop(), quiet=True)
            await _bounded("execution shutdown", self.execution.shutdown(flatten=do_flatten))
            self.persist_state()
        await _bounded("execution streams", self.execution.stop())
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            await _bounded(f"task {task.get_name()}", reap(task))
        self.tasks.clear()
        await _bounded("event bus", self.bus.stop())
        for name, handle in self.venues.items():
            if handle.close is not None:
                result = None
                with contextlib.suppress(Exception):
                    result = handle.close()
                if isinstance(result, Awaitable):
                    await _bounded(f"venue {name} close", result, quiet=True)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.stores.close()
        if self._lock is not None:
            self._lock.release()
        self.started = False
        log.info("node stopped%s", " (flattened)" if do_flatten else "")


STOP_STEP_TIMEOUT_S = 30.0
"""The longest one step of a node's shutdown may wait (a venue, a task) before it is cancelled."""


async def _bounded(what: str, step: Awaitable[object], *, quiet: bool = False) -> None:
    """Await one shutdown step for at most STOP_STEP_TIMEOUT_S; on time-out cancel it and say
    so. `quiet`: its errors are logged, not raised (closing a connection that failed)."""
    try:
        await asyncio.wait_for(step, timeout=STOP_STEP_TIMEOUT_S)
    except TimeoutError:
        log.warning(
            "shutdown: %s did not finish in %.0f s; cancelled, going on", what, STOP_STEP_TIMEOUT_S
        )
    except Exception as exc:
        if not quiet:
            raise
        log.info("shutdown: %s: %s", what, exc)


def _seed(config: TradetermConfig, wid: str) -> int:
    base = next((v.seed for v in config.venues.values() if isinstance(v, SimVenueConfig)), 0)
    return base * 1_000 + sum(map(ord, wid))


def _sim_balance(config: TradetermConfig, venue: str) -> float:
    cfg = config.venues.get(venue)
    return cfg.starting_balance if isinstance(cfg, SimVenueConfig) else config.wallets.paper_balance


def _market_data_config(config: TradetermConfig, need: dict[str, int], regime_tf: str) -> Any:
    md = config.marketdata
    timeframes = sorted({*md.timeframes, *need, regime_tf}, key=timeframe_ms)
    depth = max([md.window_bars, md.warmup_bars, *(n + WINDOW_MARGIN for n in need.values())])
    return md.model_copy(
        update={"timeframes": timeframes, "window_bars": depth, "warmup_bars": depth}
    )


def active_strategy_configs(
    config: TradetermConfig, state_dir: Path, stores: Stores, clock: Clock
) -> dict[str, StrategyConfig]:
    """The strategy instances with promoted active configs (state/research.db) applied: an
    instance of the promoted strategy trading the promoted timeframe takes its parameters (a
    multi-timeframe instance is split, `{instance}_{tf}` trades the promoted ones). Each one
    applied is logged and audited; a promoted leverage stays capped by risk.max_leverage."""
    out = dict(config.strategies)
    for active in load_active(state_dir / RESEARCH_DB):
        for instance, cfg in list(out.items()):
            if (
                cfg.strategy or instance
            ) != active.strategy or active.timeframe not in cfg.timeframes:
                continue
            params = {**cfg.params, **active.params}
            try:
                build_params(active.strategy, params)
            except ConfigError as exc:
                log.warning("active config %d of %s ignored: %s", active.id, active.strategy, exc)
                continue
            promoted = cfg.model_copy(update={"params": params, "timeframes": [active.timeframe]})
            rest = [tf for tf in cfg.timeframes if tf != active.timeframe]
            name = f"{instance}_{active.timeframe}" if rest else instance
            if rest:
                out[instance] = cfg.model_copy(update={"timeframes": rest})
            out[name] = promoted
            leverage = min(active.leverage, config.risk.max_leverage)
            log.warning(
                "active config: %s on %s trades study %s trial %d (promoted by %s; leverage %gx "
                "capped to %gx by risk.max_leverage)",
                name,
                active.timeframe,
                active.study,
                active.trial,
                active.promoted_by,
                active.leverage,
                leverage,
            )
            args = {
                "instance": name,
                "id": active.id,
                "study": active.study,
                "trial": active.trial,
                "params": dict(active.params),
            }
            entry = ev.AuditEntry(
                new_id("audit"), clock.now_ms(), "node", "active_config", args, True, "applied"
            )
            stores.home.save_audit(entry)
    return out


def build_node(
    config: TradetermConfig,
    clock: Clock,
    options: NodeOptions | None = None,
    *,
    venue_builder: Callable[[str, Any, Clock, Path | None], VenueHandle] = build_venue,
    funding_rate: FundingRate | None = None,
    state_lock: StateLock | None = None,
) -> Node:
    """Compose every engine for this config. Opens the databases; nothing runs until start().
    `funding_rate` (market key, boundary ms) -> rate prices paper perpetuals' funding (default:
    0.01% per 8 hours). `state_lock`: the state folder's lock, already held by the caller (the
    daemon takes it before anything else, so a refused second process touches nothing)."""
    opts = options or NodeOptions()
    live = live_enabled(config, opts)
    if opts.live_confirmed and not config.wallets.live.approved:
        raise UserError(
            "--confirm given but wallets.live.approved is false in the config; live trading stays off"
        )
    state_dir = Path(opts.state_dir or config.storage.state_dir)
    stores = Stores.open(state_dir, live=live, busy_timeout_ms=config.storage.busy_timeout_ms)
    bus = Bus()
    venues = {
        name: venue_builder(name, vcfg, clock, state_dir)
        for name, vcfg in config.venues.items()
        if vcfg.enabled
    }
    instruments: dict[str, Instrument] = {}
    markets: dict[str, Market] = {}
    portfolio = Portfolio(stores, clock, instruments, currency=config.wallets.currency)
    rollout = Rollout(
        config.rollout,
        clock,
        stores.home,
        live_enabled=live,
        paper_only=opts.paper_only,
        canary_trades=config.risk.canary_trades,
        canary_days=config.risk.canary_days,
        live_store=stores.live,
    )

    def fee_rates(venue: str, symbol: str) -> tuple[float, float] | None:
        handle = venues.get(venue)
        return handle.fee_rates(symbol) if handle is not None and handle.fee_rates else None

    slippage = SlippageBook(config.costs, clock, stores.all(), fee_rates=fee_rates)

    def cost_model(instrument: Instrument) -> CostModel:
        handle = venues.get(instrument.venue)
        model = (
            handle.cost_model(instrument) if handle is not None else default_cost_model(instrument)
        )
        return slippage.cost_model(instrument.venue, instrument.symbol, model)

    ex = config.execution
    risk = RiskEngine(
        config.risk,
        clock,
        portfolio,
        instruments,
        canary=rollout,
        cost_model=cost_model,
        orders=EntryOrderStyle(ex.entry_order, ex.limit_offset_bps, ex.stale_tolerance_bps),
    )
    risk.storage_health = stores.health  # entries refused while state cannot be written (issue 9)
    confirm = config.execution.confirm
    execution = ExecutionEngine(
        config.execution,
        clock,
        stores,
        portfolio,
        risk,
        instruments,
        {},
        risk_config=config.risk,
        require_confirmation=lambda wid: (
            confirm == "always" or (confirm == "live" and wid.startswith("live:"))
        ),
        background=not opts.backtest,
    )
    regime_tf = "1m" if "1m" in config.marketdata.timeframes else config.marketdata.timeframes[-1]
    # Markets are final once venues list their instruments (start() checks every symbol); the
    # runners are built from the configured universe now, and size the windows and warm-up.
    for dom, dcfg in config.domains.items():
        for symbol in dcfg.symbols:
            market = Market(dcfg.venue, symbol, dom)
            markets[market.key] = market
    strategy_cfgs = config.strategies
    if not opts.backtest:
        strategy_cfgs = active_strategy_configs(config, state_dir, stores, clock)
    runners = build_runners(strategy_cfgs, markets.values())
    need = {tf: 0 for tf in config.marketdata.timeframes}
    for runner in runners:
        need[runner.timeframe] = max(need.get(runner.timeframe, 0), runner.required_bars)
    store = CandleStore(state_dir / "candles") if config.marketdata.store_candles else None
    streams = StreamManager(bus, clock, _market_data_config(config, need, regime_tf), store=store)

    def window(key: str, timeframe: str) -> BarSeries | None:
        found = streams.windows.find(key, timeframe)
        return found.series() if found is not None else None

    def domain_of(key: str) -> Domain | None:
        market = markets.get(key)
        return market.domain if market else None

    strategies = StrategyEngine(runners, window, clock)
    allocator = Allocator(
        config.allocator,
        clock,
        route=rollout.route,
        open_count=portfolio.open_count,
        domain_of=domain_of,
        regime_timeframe=regime_tf,
        windows=window,
    )
    node = Node(
        config=config,
        clock=clock,
        options=opts,
        bus=bus,
        stores=stores,
        state_dir=state_dir,
        venues=venues,
        instruments=instruments,
        markets=markets,
        streams=streams,
        portfolio=portfolio,
        risk=risk,
        rollout=rollout,
        allocator=allocator,
        execution=execution,
        strategies=strategies,
        metrics=Metrics(),
        live=live,
        funding_rate=funding_rate,
        slippage=slippage,
        _lock=state_lock,
    )
    risk.commitments = execution
    risk.on_change = node.persist_state  # a trip or a halt is stored at once
    if not opts.backtest:
        runners_now = lambda: strategies.runners  # noqa: E731  (they change on reload)
        equity = lambda wid: portfolio.equity(wid) if portfolio.wallet(wid) else None  # noqa: E731
        drift = config.calibration.drift
        node.drift = DriftWatch(drift, clock, stores, state_dir, runners_now, equity)
        if config.calibration.schedule.enabled:
            node.recal = RecalSchedule(config, clock, stores, state_dir, runners_now)
    return node
