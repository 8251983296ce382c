"""The event engine: the real node, built by `build_node` on a SimClock, trading the request's
bars as the sim venue replays them.

Nothing here decides a trade. The bars are written to files and replayed by the sim venue's
replay feed (four ticks a bar: open, then the low or high the bar most plausibly visited first,
the other extreme, the close), on a clock that reads the bars' own times. Every tick goes the
live way: marks, paper matching of resting stops and targets, funding, the position monitor, the
bar builder, the strategy runner on its rolling window, the allocator (method "all": every
signal of a free market is taken), the risk gate, execution and the wallet. Confirmations are
off (`execution.confirm = "never"`: auto-approved), so decisions go straight to orders.

What differs from a live node, and why:
- no background timers: the driver hands each tick to the node (`Node.feed_tick`) and then
  marks the wallets (`Node.mark_wallets`, the live node's one-second housekeeping) once per
  timestamp, and also before the first tick of a new UTC day (the live node rolls the day at
  midnight on the marks it has); so the kill switch and the day's loss limits are judged on the
  same prices as live, deterministically;
- a bar closes when the first tick of a later bar arrives (the live stream timer would close it
  250 ms after its end in a quiet market; in a replay the next tick is the next bar's open, so
  the signal fills at the next open either way);
- after the last tick every open position is closed at market ("end_of_data");
- unless the request asks for `live_windows`, each strategy runner is evaluated once over the
  whole history (`StrategyRunner.preload`: the same rows its rolling window gives, see
  tradeterm.strategies.runner) and the replay skips whole bars while the node is idle (no
  position, order, exit or confirmation: `ExecutionEngine.idle`) and neither the bar nor the
  one before it carries a signal. Such a bar could only move the marks of a flat book: its
  equity is the cash, carried forward. The signal bar and the next are played in full (the bar
  builder closes the signal bar on the next bar's first tick, where the order fills), and so is
  the first bar of each UTC day (the day rolls on it as before).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from tradeterm.backtest.engines import BacktestRequest, FundingSeries
from tradeterm.backtest.plan import VENUE, RunPlan, data_warnings, plan_run
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.clock import SimClock
from tradeterm.config.models import (
    DomainConfig,
    LiveWalletsConfig,
    MarketDataConfig,
    ReplaySourceConfig,
    RolloutConfig,
    SimVenueConfig,
    StageConfig,
    StorageConfig,
    StrategyConfig,
    TradetermConfig,
)
from tradeterm.domain import events as ev
from tradeterm.domain.calendar import DAY_MS
from tradeterm.domain.events import ClosedTrade
from tradeterm.domain.funding import rate_at
from tradeterm.domain.market import Tick
from tradeterm.errors import StrategyError
from tradeterm.execution.executors import DEFAULT_FUNDING_RATE
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.venues.factory import VenueHandle, sim_state_path
from tradeterm.venues.sim.venue import SimVenue

log = logging.getLogger(__name__)

END_REASON = "end_of_data"
EXIT_REASONS = {"manual": END_REASON, "flatten": "kill_switch"}
"""Closing reasons of the node mapped to the backtest's words: the driver's final close is a
manual close; a flatten in a backtest can only be the kill switch's."""


def _write_bars(path: Path, plan: RunPlan, symbol: str) -> None:
    bars = plan.bars[symbol]
    table = pa.table(
        {
            "ts": bars.open_ms,
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
        }
    )
    pq.write_table(table, path)


def node_config(plan: RunPlan, files: Mapping[str, Path], state_dir: Path) -> TradetermConfig:
    """The config of the node that replays `plan`: one sim venue replaying each symbol from
    the plan's start (no synthetic indices), one domain, one strategy, paper only, allocator
    "all", confirmations off; costs and risk limits from the request's config."""
    req = plan.request
    history_ms = int(plan.t0 - min(int(plan.bars[s].open_ms[0]) for s in plan.symbols))
    replay = [
        plan.sources[s].model_copy(update={"path": str(files[s]), "start_ms": plan.t0})
        for s in plan.symbols
    ]
    venue = SimVenueConfig(
        synthetic=False,
        replay=[ReplaySourceConfig.model_validate(r.model_dump()) for r in replay],
        fill_model=plan.fill_model,
        accounts=["paper"],
        history_minutes=(max(history_ms, 0) + 0.5) / 60_000.0 + 1.0,
        starting_balance=req.initial_cash,
    )
    base = req.config
    return TradetermConfig(
        venues={VENUE: venue},
        domains={req.domain: DomainConfig(venue=VENUE, symbols=list(plan.symbols))},
        marketdata=MarketDataConfig(
            timeframes=[plan.timeframe],
            window_bars=50,
            warmup_bars=0,
            store_candles=False,
            store_timeframes=[],
        ),
        strategies={
            plan.instance: StrategyConfig(
                strategy=plan.strategy.name,
                domains=[req.domain],
                timeframes=[plan.timeframe],
                params=dict(req.params),
            )
        },
        allocator=base.allocator.model_copy(update={"method": "all"}),
        risk=plan.risk,
        execution=plan.execution,
        # paper only: the config's live accounts name venues this node does not have
        wallets=base.wallets.model_copy(
            update={"paper_balance": req.initial_cash, "live": LiveWalletsConfig()}
        ),
        rollout=RolloutConfig(
            stages=[StageConfig(name="backtest", domains={req.domain: "paper"})],
            initial_stage=1,
        ),
        storage=StorageConfig(state_dir=str(state_dir), reports_dir=str(state_dir / "reports")),
        notify=base.notify.model_copy(
            update={"telegram": base.notify.telegram.model_copy(update={"enabled": False})}
        ),
        telemetry=base.telemetry.model_copy(update={"prometheus": False}),
    )


class FundingRates:
    """(market key, boundary ms) -> the recorded rate of that boundary (the paper executor's
    funding source), the default rate where a symbol has no series."""

    def __init__(self, series: Mapping[str, FundingSeries]) -> None:
        self._series = {f"{VENUE}:{s}": f for s, f in series.items()}

    def __call__(self, key: str, boundary_ms: int) -> float:
        found = self._series.get(key)
        if found is None:
            return DEFAULT_FUNDING_RATE
        return rate_at(found.ts, found.rate, boundary_ms, DEFAULT_FUNDING_RATE)


class _TickTap:
    """A listener of the sim market that collects the ticks of the traded symbols in the order
    the market plays them (time, then symbol)."""

    def __init__(self, symbols: Collection[str]) -> None:
        self._symbols = set(symbols)
        self.ticks: list[Tick] = []
        self.muted = False
        """While muted the tap wants nothing: the market plays its tapes without making ticks."""

    def wanted_symbols(self) -> Collection[str]:
        return () if self.muted else self._symbols

    def on_tick(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def take(self) -> list[Tick]:
        ticks, self.ticks = self.ticks, []
        return ticks


class EventReplay:
    """One event backtest: build the node, replay every tick, collect trades and equity."""

    def __init__(self, plan: RunPlan, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.trades: list[ClosedTrade] = []
        self.equity = np.full(plan.axis.shape[0], plan.request.initial_cash, dtype=np.float64)
        self._sims: dict[str, SimVenue] = {}
        self._tap = _TickTap(plan.symbols)
        self._last_day = -1
        self._next_busy: npt.NDArray[np.int64] | None = None
        self.skipped_bars = 0

    def _venue(self, name: str, cfg: Any, clock: Any, state_dir: Path | None) -> VenueHandle:
        assert isinstance(cfg, SimVenueConfig)
        path = sim_state_path(state_dir, name) if state_dir is not None else None
        sim = SimVenue(name, cfg, clock, state_path=path)
        sim.market.add_listener(self._tap)
        self._sims[name] = sim
        return VenueHandle(name, "sim", sim.data, sim.exec_client, cfg.fill_model, sim.close)

    def _build(self, clock: SimClock) -> Node:
        plan = self.plan
        files = {}
        for symbol in plan.symbols:
            files[symbol] = self.workdir / f"{symbol}.parquet"
            _write_bars(files[symbol], plan, symbol)
        state_dir = self.workdir / "state"
        config = node_config(plan, files, state_dir)
        return build_node(
            config,
            clock,
            NodeOptions(state_dir=str(state_dir), metrics_server=False, backtest=True),
            venue_builder=self._venue,
            funding_rate=FundingRates(plan.funding),
        )

    async def run(self) -> None:
        plan = self.plan
        clock = SimClock(plan.t0)
        node = self._build(clock)

        async def closed(_topic: str, trade: ClosedTrade) -> None:
            self.trades.append(trade)

        node.bus.subscribe(ev.TRADE_CLOSED, closed, inline=True, name="backtest.trades")
        if not plan.request.live_windows:
            self._preload(node)
        await node.start()
        try:
            await self._replay(node, clock)
            await self._close_all(node)
        finally:
            await node.stop(flatten=False)

    def _preload(self, node: Node) -> None:
        """Each runner evaluates its strategy over its symbol's whole history once; the bars
        that must be played are marked: every signal bar, the bar after it, and the first bar
        of every UTC day. `_next_busy[i]` is the first such bar at or after bar i."""
        plan = self.plan
        n = plan.axis.shape[0]
        busy = np.zeros(n + 1, dtype=np.bool_)
        for runner in node.strategies.runners:
            bars = plan.bars.get(runner.symbol)
            if bars is None or runner.timeframe != plan.timeframe:
                return  # not a runner of this plan: play every bar
            try:
                runner.preload(bars)
            except StrategyError:  # left to fail at its bar as live: the node disables it
                return
            rows = plan.axis.searchsorted(runner.signal_times())
            busy[rows] = True
            busy[np.minimum(rows + 1, n)] = True
        days = plan.axis // DAY_MS
        busy[:n][np.flatnonzero(np.diff(days, prepend=days[:1] - 1))] = True
        busy[n] = True
        # the next busy bar at or after each bar: a reversed running minimum of busy indices
        marks = np.where(busy, np.arange(n + 1), n)
        self._next_busy = np.minimum.accumulate(marks[::-1])[::-1].astype(np.int64)

    def _skip_idle(self, node: Node, nxt: int) -> int | None:
        """When the node is idle at the first tick of a bar that is not busy, play the market
        past the idle bars without the node (their ticks are dropped), carry the equity over
        them, and return the time of the next tick to play."""
        plan = self.plan
        busy = self._next_busy
        if busy is None:
            return nxt
        i = plan.bar_index(nxt)
        if i < 0 or int(plan.axis[i]) != nxt or int(busy[i]) == i or not node.execution.idle():
            return nxt
        j = int(busy[i])
        self.equity[i:j] = self._equity(node)
        self.skipped_bars += j - i
        market = self._sims[VENUE].market
        self._tap.muted = True
        try:
            market.advance_to(int(plan.axis[j]) - 1 if j < plan.axis.shape[0] else 2**62)
        finally:
            self._tap.muted = False
        return market.next_ts()

    async def _replay(self, node: Node, clock: SimClock) -> None:
        market = self._sims[VENUE].market
        self._last_day = plan_day = self.plan.t0 // DAY_MS
        pending = self._tap.take()  # the first timestamp, played while the node started
        while True:
            if pending:
                now = pending[0].ts_ms
                if now // DAY_MS != plan_day:
                    plan_day = now // DAY_MS
                    await node.mark_wallets()
                for tick in pending:
                    await node.feed_tick(tick)
                await node.mark_wallets()
                self._record_equity(node, now)
            nxt = market.next_ts()
            if nxt is not None and self._next_busy is not None:
                nxt = self._skip_idle(node, nxt)
            if nxt is None:
                return
            clock.set_time(max(nxt, clock.now_ms()))
            market.advance_to(nxt)
            pending = self._tap.take()

    def _record_equity(self, node: Node, now_ms: int) -> None:
        """After the last tick of a bar (its close), the wallet's equity is that bar's."""
        bar_ms = self.plan.bar_ms
        opened = now_ms - now_ms % bar_ms
        if now_ms - opened != 3 * (bar_ms // 4):
            return
        i = self.plan.bar_index(opened)
        if i >= 0 and int(self.plan.axis[i]) == opened:
            self.equity[i] = self._equity(node)

    def _equity(self, node: Node) -> float:
        return sum(node.portfolio.equity(w.id) for w in node.portfolio.wallets())

    async def _close_all(self, node: Node) -> None:
        for position in node.portfolio.positions():
            await node.execution.close_position(position.wallet_id, position.key, END_REASON)
        await node.bus.drain()
        last = self.plan.axis.shape[0] - 1
        self.equity[last] = self._equity(node)
        self.final_fees = sum(w.fees_paid for w in node.portfolio.wallets())
        self.final_funding = sum(w.funding_paid for w in node.portfolio.wallets())

    def result(self) -> BacktestResult:
        plan = self.plan
        req = plan.request
        trades = sorted((self._trade(t) for t in self.trades), key=lambda t: (t.entry_ms, t.symbol))
        return BacktestResult(
            engine="event",
            strategy=req.strategy,
            params={k: v for k, v in plan.params.model_dump().items()},
            symbols=plan.symbols,
            timeframe=plan.timeframe,
            initial_cash=req.initial_cash,
            ts=plan.axis,
            equity=self.equity,
            hodl=plan.hodl(),
            trades=tuple(trades),
            fees_paid=getattr(self, "final_fees", 0.0),
            funding_paid=getattr(self, "final_funding", 0.0),
            warnings=tuple(data_warnings(plan)),
            settings={
                **plan.settings(),
                "event_windows": "live" if req.live_windows else "preloaded",
                "event_bars_skipped": self.skipped_bars,
            },
        )

    def _trade(self, trade: ClosedTrade) -> BacktestTrade:
        plan = self.plan
        return BacktestTrade(
            symbol=trade.symbol,
            side=trade.side.sign,
            entry_bar=plan.bar_index(trade.opened_ms),
            exit_bar=plan.bar_index(trade.closed_ms),
            entry_ms=trade.opened_ms,
            exit_ms=trade.closed_ms,
            qty=trade.qty,
            entry_price=trade.entry_price,
            exit_price=trade.exit_price,
            pnl=trade.pnl,
            fees=trade.fees,
            funding=trade.funding,
            risk_amount=trade.risk_amount,
            r_multiple=trade.r_multiple,
            exit_reason=EXIT_REASONS.get(trade.exit_reason, trade.exit_reason),
            strategy=trade.strategy,
        )


def run_event(request: BacktestRequest) -> BacktestResult:
    """Replay the request through the real node (see the module text)."""
    plan = plan_run(request)
    with tempfile.TemporaryDirectory(prefix="tradeterm-event-") as tmp:
        replay = EventReplay(plan, Path(tmp))
        if plan.start < plan.axis.shape[0]:
            asyncio.run(replay.run())
        return replay.result()
