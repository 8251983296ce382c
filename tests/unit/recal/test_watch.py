"""The node's drift watch on real SQLite stores and a real bus: judged only after min_trades
since the promotion, one alert per arm (not every trade, not again after a restart), one
recovery alert, a re-promotion starts afresh, unpromoted arms are not judged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.config.models import DriftConfig, StrategyConfig
from tradeterm.domain import events as ev
from tradeterm.domain.enums import Domain, Side
from tradeterm.recal.watch import DriftWatch
from tradeterm.storage.active_configs import ActiveConfig, save_active
from tradeterm.storage.router import Stores
from tradeterm.strategies.engine import Market, build_runners

T0 = 1_763_726_400_000
ARM = "ema_trend|sim:R_100"
PARAMS = {"fast": 7, "slow": 30}


def _runners() -> list[Any]:
    configs = {
        "ema_trend": StrategyConfig(symbols=["R_100"], timeframes=["5m"], params=PARAMS),
        "breakout": StrategyConfig(symbols=["R_100"], timeframes=["5m"]),
    }
    return build_runners(configs, [Market("sim", "R_100", Domain.SYNTHETICS)])


def _promote(tmp: Path, at: int, **metrics: float) -> int:
    config = ActiveConfig(
        strategy="ema_trend", version="1.0.0", symbols=("R_100",), timeframe="5m", params=PARAMS,
        leverage=1.0, margin_mode="isolated", max_position_size=0.05, score=1.0, metrics=metrics,
        study="s", trial=4, promoted_at=at, promoted_by="tester",
    )  # fmt: skip
    return save_active(tmp / "research.db", config)


def _trade(n: int, closed_ms: int, pnl: float, r: float) -> ev.ClosedTrade:
    return ev.ClosedTrade(
        id=f"t{n}", wallet_id="paper:synthetics", venue="sim", symbol="R_100", side=Side.BUY,
        qty=1.0, entry_price=100.0, exit_price=100.0, opened_ms=closed_ms - 60_000,
        closed_ms=closed_ms, pnl=pnl, fees=0.0, r_multiple=r, strategy="ema_trend", arm=ARM,
        signal_id=f"s{n}", exit_reason="stop" if pnl < 0 else "target",
    )  # fmt: skip


class Rig:
    def __init__(self, tmp: Path, clock: SimClock, config: DriftConfig | None = None) -> None:
        self.tmp, self.clock = tmp, clock
        self.stores = Stores.open(tmp, live=False)
        self.bus = Bus()
        self.alerts: list[ev.Alert] = []
        self.bus.subscribe(ev.ALERT, lambda _t, m: self.alerts.append(m), inline=True)
        self.runners = _runners()
        self.watch = DriftWatch(
            config or DriftConfig(min_trades=4), clock, self.stores, tmp, lambda: self.runners,
            lambda _wid: 10_000.0,
        )  # fmt: skip
        self.n = 0

    async def start(self) -> Rig:
        await self.bus.start()
        await self.watch.attach(self.bus)
        return self

    async def close(self, pnl: float, r: float) -> None:
        self.n += 1
        trade = _trade(self.n, T0 + self.n * 60_000, pnl, r)
        self.stores.paper.save_trade(trade)  # what the node's recorder does
        await self.bus.publish(ev.TRADE_CLOSED, trade)
        await self.bus.drain()

    def drift_alerts(self) -> list[ev.Alert]:
        return [a for a in self.alerts if a.topic == "drift"]

    def audits(self, action: str) -> list[ev.AuditEntry]:
        return [a for a in self.stores.home.load_audit() if a.action == action]

    async def stop(self) -> None:
        await self.bus.stop()
        self.stores.close()


async def test_one_alert_per_arm_and_promotion_then_one_recovery(tmp_path: Path) -> None:
    clock = SimClock(T0)
    old = _trade(0, T0 - 3_600_000, -500.0, -1.0)  # before the promotion: never counted
    rig = Rig(tmp_path, clock)
    rig.stores.paper.save_trade(old)
    _promote(tmp_path, T0, win_rate=0.5, expectancy_r=0.5, max_drawdown=0.05)
    await rig.start()
    try:
        for _ in range(3):
            await rig.close(-100.0, -1.0)
        assert rig.drift_alerts() == []  # 3 trades < min_trades 4: not judged yet
        assert "1 waiting for 4 trades" in rig.watch.status_lines()[0]

        await rig.close(-100.0, -1.0)  # the 4th loss: win rate 0% and -1R vs 50% and +0.5R
        [alert] = rig.drift_alerts()
        assert alert.level == "warning" and ARM in alert.text
        assert "win rate 0% vs 50%" in alert.text and "expectancy -1.00R vs +0.50R" in alert.text
        verdict = rig.watch.verdict(ARM)
        assert verdict is not None and verdict.kpis.trades == 4  # the old trade is not counted
        [audit] = rig.audits("drift_alert")
        assert audit.args["arm"] == ARM and audit.args["trades"] == 4

        await rig.close(-100.0, -1.0)  # still drifting: no second alert
        assert len(rig.drift_alerts()) == 1
        lines = rig.watch.status_lines()
        assert any(line.startswith(f"drift {ARM}: DRIFTING") for line in lines)
        assert "drift: not judged (no promotion): breakout" in lines
    finally:
        await rig.stop()

    # a restart remembers the alert (home database): nothing repeated
    rig = await Rig(tmp_path, clock).start()
    try:
        rig.n = 5
        assert rig.drift_alerts() == []
        assert rig.watch.verdict(ARM) is not None and rig.watch.verdict(ARM).drifting  # type: ignore[union-attr]
        for _ in range(7):
            await rig.close(100.0, 2.0)
        # 7 wins, 5 losses: win 58%, expectancy +0.75R: back within bounds, said once
        [back] = rig.drift_alerts()
        assert back.level == "info" and "back within bounds" in back.text
        assert len(rig.audits("drift_recovered")) == 1
        await rig.close(100.0, 2.0)
        assert len(rig.drift_alerts()) == 1

        # a re-promotion starts the arm afresh: only trades since it count
        clock.set_time(T0 + 3_600_000)
        _promote(tmp_path, T0 + 3_600_000, win_rate=0.9, expectancy_r=3.0, max_drawdown=0.01)
        await rig.watch.refresh()
        verdict = rig.watch.verdict(ARM)
        assert verdict is not None and verdict.kpis.trades == 0 and not verdict.judged
    finally:
        await rig.stop()


async def test_nothing_is_judged_without_a_promotion(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, SimClock(T0)).start()
    try:
        for _ in range(5):
            await rig.close(-100.0, -1.0)
        assert rig.drift_alerts() == [] and rig.watch.verdict(ARM) is None
        assert "drift: not judged (no promotion): breakout, ema_trend" in rig.watch.status_lines()
    finally:
        await rig.stop()


async def test_drift_off_judges_nothing(tmp_path: Path) -> None:
    _promote(tmp_path, T0, win_rate=0.5, expectancy_r=0.5, max_drawdown=0.05)
    rig = await Rig(tmp_path, SimClock(T0), DriftConfig(enabled=False, min_trades=1)).start()
    try:
        await rig.close(-100.0, -1.0)
        assert rig.drift_alerts() == [] and rig.watch.verdict(ARM) is None
        assert rig.watch.status_lines() == ["drift: off (calibration.drift.enabled = false)"]
    finally:
        await rig.stop()
