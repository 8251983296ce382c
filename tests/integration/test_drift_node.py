"""A running node judges the arms that trade a promoted config: one drift alert per drifting
arm on the bus (the console toasts every alert), audited, shown by `tradeterm status`; arms with
no promotion are listed as not judged; the schedule line shows when re-calibration is on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage.active_configs import ActiveConfig, save_active
from tradeterm.testing.node_kit import advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC


def promote_ema(state_dir: Path, study: str, score: float, metrics: dict[str, float]) -> None:
    """The busy config's own ema_trend parameters promoted from STUDY (trial 1) with these
    backtest metrics, in STATE_DIR's research.db."""
    save_active(
        state_dir / "research.db",
        ActiveConfig(
            strategy="ema_trend", version="1.0.0", symbols=(), timeframe="5s",
            params={"fast": 5, "slow": 20, "adx_threshold": 15}, leverage=1.0,
            margin_mode="isolated", max_position_size=0.05, score=score, metrics=metrics,
            study=study, trial=1, promoted_at=START_MS, promoted_by="tester",
        ),
    )  # fmt: skip


async def test_a_promoted_arm_below_its_backtest_raises_one_drift_alert(tmp_path: Path) -> None:
    # the busy config's own ema_trend parameters, promoted with a backtest no arm can match
    promote_ema(
        tmp_path, "dream", 9.0, {"win_rate": 1.0, "expectancy_r": 50.0, "max_drawdown": 0.0}
    )
    extra = {"calibration": {"drift": {"min_trades": 1}, "schedule": {"enabled": True}}}
    clock = SimClock(START_MS)
    node = build_node(busy_config(tmp_path, extra=extra), clock, NodeOptions(metrics_server=False))
    alerts: list[ev.Alert] = []
    node.bus.subscribe(ev.ALERT, lambda _t, m: alerts.append(m), inline=True)
    closed: list[ev.ClosedTrade] = []
    node.bus.subscribe(ev.TRADE_CLOSED, lambda _t, m: closed.append(m), inline=True)
    await node.start()
    try:
        ema_arms = lambda: [t for t in closed if t.strategy == "ema_trend"]  # noqa: E731
        for _ in range(80):  # up to 40 simulated minutes, until one ema arm closed 2 trades
            counts = Counter(t.arm for t in ema_arms())
            if counts and max(counts.values()) >= 2:
                break
            await advance(clock, 30)
        await node.bus.drain()
        counts = Counter(t.arm for t in ema_arms())
        assert counts and max(counts.values()) >= 2, "no ema_trend arm closed two trades"

        drift = [a for a in alerts if a.topic == "drift"]
        per_arm = Counter(a.text.removeprefix("DRIFT ").split(": ", 1)[0] for a in drift)
        assert set(per_arm) == set(counts)  # every promoted arm that traded, no other
        assert set(per_arm.values()) == {1}  # once, however many trades followed
        audited = [a for a in node.stores.home.load_audit(500) if a.action == "drift_alert"]
        assert sorted(a.args["arm"] for a in audited) == sorted(per_arm)
        assert all(a.args["study"] == "dream" for a in audited)

        text = Control(node).status().text()
        assert "DRIFTING" in text
        assert "drift: not judged (no promotion): breakout, impulse_fade, mean_revert" in text
        assert "re-calibration: every weekly" in text
    finally:
        await node.stop()


async def test_the_node_runs_a_due_re_calibration_on_its_own_clock(tmp_path: Path) -> None:
    promote_ema(tmp_path, "before", 1.0, {})
    schedule = {"enabled": True, "every": "2m", "lookback_days": 1, "trials": 2}
    extra = {"calibration": {"schedule": schedule}}
    clock = SimClock(START_MS)
    node = build_node(busy_config(tmp_path, extra=extra), clock, NodeOptions(metrics_server=False))
    alerts: list[ev.Alert] = []
    node.bus.subscribe(ev.ALERT, lambda _t, m: alerts.append(m), inline=True)
    await node.start()
    try:
        recal = node.recal
        assert recal is not None and not recal.busy
        await advance(clock, 110)
        assert not recal.busy  # due at 2 minutes, checked once a minute
        await advance(clock, 75)
        assert recal.busy  # the node's own task started the child
        await recal.wait_idle()
        [ready] = [a for a in alerts if a.topic == "recal"]
        assert "re-calibration" in ready.text and "ema_trend-" in ready.text
        assert "re-calibration ready: study ema_trend-" in Control(node).status().text()
    finally:
        await node.stop()
