"""The node's drift hook: judge every arm that trades a promoted active config on each closed
trade (`tradeterm.recal.drift` does the numbers), raise one alert per arm when it drifts, one when
it recovers, and say where each arm stands for `tradeterm status`.

- An arm (instance on one market) trades a promotion when its runner is of the promoted strategy,
  on the promoted timeframe, with the promoted parameters (what `active_strategy_configs` applied).
  Arms with no promotion are not judged (status lists them as such).
- Only trades closed since the promotion count; a new promotion (another active_configs id)
  starts the arm afresh.
- A drift alert (bus `alert`, level warning, topic "drift") is raised once per arm and promotion,
  audited (action `drift_alert`), and remembered in the home database (meta `recal.drift`), so a
  restart or the next trade does not repeat it; when the arm is back within bounds one
  `drift_recovered` alert and audit follow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import DriftConfig
from tradeterm.domain import events as ev
from tradeterm.domain.ids import new_id
from tradeterm.recal.drift import DriftBounds, Expectation, Verdict, judge, live_kpis
from tradeterm.storage.active_configs import RESEARCH_DB, ActiveConfig, load_active
from tradeterm.storage.router import Stores

log = logging.getLogger(__name__)
META_KEY = "recal.drift"


class RunnerLike(Protocol):
    """What the watch reads of a strategy runner."""

    label: str
    venue: str
    symbol: str
    timeframe: str

    @property
    def params(self) -> Any: ...

    @property
    def strategy(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ArmState:
    arm: str
    active: ActiveConfig | None
    verdict: Verdict | None = None


def bounds_of(config: DriftConfig) -> DriftBounds:
    return DriftBounds(
        min_trades=config.min_trades,
        max_win_rate_drop=config.max_win_rate_drop,
        max_expectancy_drop_r=config.max_expectancy_drop_r,
        max_drawdown_multiple=config.max_drawdown_multiple,
        min_drawdown=config.min_drawdown,
    )


def _trades_promotion(runner: RunnerLike, active: ActiveConfig) -> bool:
    if runner.strategy.name != active.strategy or runner.timeframe != active.timeframe:
        return False
    values = runner.params.model_dump() if hasattr(runner.params, "model_dump") else {}
    return all(values.get(k) == v for k, v in active.params.items())


class DriftWatch:
    """See the module text. `runners()` lists the node's runners (they change on reload);
    `equity(wallet_id)` is a wallet's current equity (None when unknown)."""

    def __init__(
        self,
        config: DriftConfig,
        clock: Clock,
        stores: Stores,
        state_dir: Path,
        runners: Callable[[], Sequence[RunnerLike]],
        equity: Callable[[str], float | None],
    ) -> None:
        self.config = config
        self.bounds = bounds_of(config)
        self._clock = clock
        self._stores = stores
        self._research = Path(state_dir) / RESEARCH_DB
        self._runners = runners
        self._equity = equity
        self._bus: Bus | None = None
        self._arms: dict[str, ActiveConfig | None] = {}
        self._trades: dict[str, list[ev.ClosedTrade]] = {}
        self._verdicts: dict[str, Verdict] = {}
        self._raised: dict[str, int] = {}
        self._pending: set[asyncio.Task[None]] = set()
        """arm -> active config id a drift alert is out for."""

    # ---- wiring ---------------------------------------------------------------------------------
    async def attach(self, bus: Bus) -> None:
        self._bus = bus
        self._raised = {
            str(k): int(v) for k, v in (self._stores.home.get_meta(META_KEY) or {}).items()
        }
        bus.subscribe(ev.TRADE_CLOSED, self._on_trade_closed, name="recal.drift")
        await self.refresh()

    async def refresh(self) -> None:
        """Re-read the promotions and the arms' trades since them (at start and after a reload),
        then judge every promoted arm."""
        actives = load_active(self._research) if self.config.enabled else []
        self._arms = {}
        for runner in self._runners():
            arm = ev.arm_id(runner.label, runner.venue, runner.symbol)
            self._arms[arm] = next(
                (a for a in reversed(actives) if _trades_promotion(runner, a)), None
            )
        promoted = {arm: a for arm, a in self._arms.items() if a is not None}
        trades = sorted(
            (t for store in self._stores.all() for t in store.load_trades()),
            key=lambda t: (t.closed_ms, t.id),
        )
        self._trades = {arm: [] for arm in promoted}
        for t in trades:
            active = promoted.get(t.arm)
            if active is not None and t.closed_ms >= active.promoted_at:
                self._trades[t.arm].append(t)
        self._verdicts = {}
        for arm in promoted:
            await self._judge(arm)

    def refresh_soon(self) -> None:
        """`refresh` from synchronous code (the node's reload), as a task of the running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.refresh(), name="recal.drift.refresh")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _on_trade_closed(self, _topic: str, msg: Any) -> None:
        if not isinstance(msg, ev.ClosedTrade):
            return
        active = self._arms.get(msg.arm)
        if active is None or msg.closed_ms < active.promoted_at:
            return
        self._trades.setdefault(msg.arm, []).append(msg)
        await self._judge(msg.arm)

    # ---- judging --------------------------------------------------------------------------------
    def verdict(self, arm: str) -> Verdict | None:
        return self._verdicts.get(arm)

    def _equity0(self, trades: Sequence[ev.ClosedTrade]) -> float:
        if not trades:
            return 0.0
        now = self._equity(trades[-1].wallet_id)
        return (now if now is not None else 0.0) - sum(t.pnl for t in trades)

    async def _judge(self, arm: str) -> None:
        active = self._arms.get(arm)
        if active is None:
            return
        trades = self._trades.get(arm, [])
        kpis = live_kpis(
            [t.pnl for t in trades], [t.r_multiple for t in trades], self._equity0(trades)
        )
        verdict = judge(kpis, Expectation.from_metrics(active.metrics), self.bounds)
        self._verdicts[arm] = verdict
        raised = self._raised.get(arm)
        if raised is not None and raised != active.id:
            self._raised.pop(arm)  # re-promoted: a fresh start
            raised = None
        if verdict.drifting and raised is None:
            self._raised[arm] = active.id
            text = (
                f"DRIFT {arm}: {'; '.join(verdict.breaches)} ({verdict.text()} since study "
                f"{active.study} trial {active.trial} was promoted)"
            )
            await self._announce("warning", text, "drift_alert", arm, active, verdict)
        elif raised is not None and verdict.judged and not verdict.drifting:
            self._raised.pop(arm)
            text = f"drift over {arm}: back within bounds ({verdict.text()})"
            await self._announce("info", text, "drift_recovered", arm, active, verdict)

    async def _announce(
        self, level: str, text: str, action: str, arm: str, active: ActiveConfig, v: Verdict
    ) -> None:
        now = self._clock.now_ms()
        args = {
            "arm": arm,
            "active_id": active.id,
            "study": active.study,
            "trial": active.trial,
            "trades": v.kpis.trades,
            "win_rate": round(v.kpis.win_rate, 4),
            "expectancy_r": round(v.kpis.expectancy_r, 4),
            "max_drawdown": round(v.kpis.max_drawdown, 4),
            "breaches": "; ".join(v.breaches),
        }
        entry = ev.AuditEntry(new_id("audit"), now, "node", action, args, True, text[:300])
        home = self._stores.home
        try:
            home.save_audit(entry)
            home.put_meta(META_KEY, self._raised, now)
        except Exception as exc:  # a failing disk is reported by the storage health
            log.error("drift: cannot record %s for %s: %s", action, arm, exc)
        log.warning(text)
        if self._bus is not None:
            await self._bus.publish(ev.AUDIT, entry)
            await self._bus.publish(ev.ALERT, ev.Alert(level, text, now, topic="drift"))

    # ---- status ---------------------------------------------------------------------------------
    def status_lines(self) -> list[str]:
        """What `tradeterm status` says about drift: drifting arms one per line, then counts."""
        if not self.config.enabled:
            return ["drift: off (calibration.drift.enabled = false)"]
        lines: list[str] = []
        ok = waiting = 0
        unpromoted: set[str] = set()
        for arm, active in sorted(self._arms.items()):
            if active is None:
                unpromoted.add(arm.split("|", 1)[0])
                continue
            v = self._verdicts.get(arm)
            if v is None or not v.judged:
                waiting += 1
            elif v.drifting:
                lines.append(f"drift {arm}: DRIFTING: {'; '.join(v.breaches)} ({v.text()})")
            else:
                ok += 1
        summary = (
            f"drift: {ok} arm(s) within bounds, {len(lines)} drifting, {waiting} waiting for "
            f"{self.bounds.min_trades} trades since their promotion"
        )
        out = [summary, *lines]
        if unpromoted:
            out.append("drift: not judged (no promotion): " + ", ".join(sorted(unpromoted)))
        return out
