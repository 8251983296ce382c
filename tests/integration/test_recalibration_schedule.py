"""Scheduled re-calibration driven by a controllable clock: when due, the node's schedule runs
`tradeterm calibrate` as a niced child process on the stored candles into a dated study; nothing
is promoted; the result is audited, announced and shown in status; a restart does not run it
early (the last run is in SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.config import config_from_dict
from tradeterm.config.models import TradetermConfig
from tradeterm.domain import events as ev
from tradeterm.domain.enums import Domain
from tradeterm.marketdata.store import CandleStore
from tradeterm.recal.schedule import RecalSchedule
from tradeterm.storage.active_configs import ActiveConfig, load_active, save_active
from tradeterm.storage.router import Stores
from tradeterm.strategies.engine import Market, build_runners
from tradeterm.testing.histories import synthetic_history

T0 = 1_763_726_400_000  # 2025-11-21 12:00 UTC
WEEK = 7 * 86_400_000
SYMBOL = "1HZ100V"


def _config(tmp: Path) -> TradetermConfig:
    return config_from_dict(
        {
            "domains": {"synthetics": {"venue": "sim", "symbols": [SYMBOL]}},
            "strategies": {"breakout": {"domains": ["synthetics"], "timeframes": ["15m"]}},
            "storage": {"state_dir": str(tmp)},
            "calibration": {
                "schedule": {"enabled": True, "every": "7d", "trials": 3, "jobs": 1, "nice": 5}
            },
        }
    )


def _promoted(tmp: Path) -> int:
    config = ActiveConfig(
        strategy="breakout", version="1.0.0", symbols=(SYMBOL,), timeframe="15m",
        params={"channel": 48}, leverage=1.0, margin_mode="isolated", max_position_size=0.05,
        score=1.0, metrics={}, study="first", trial=0, promoted_at=T0 - WEEK,
        promoted_by="tester",
    )  # fmt: skip
    return save_active(tmp / "research.db", config)


class Rig:
    def __init__(self, tmp: Path, clock: SimClock) -> None:
        self.config = _config(tmp)
        self.stores = Stores.open(tmp, live=False)
        self.bus = Bus()
        self.alerts: list[ev.Alert] = []
        self.bus.subscribe(ev.ALERT, lambda _t, m: self.alerts.append(m), inline=True)
        market = Market("sim", SYMBOL, Domain.SYNTHETICS)
        runners: list[Any] = build_runners(self.config.strategies, [market])
        self.schedule = RecalSchedule(self.config, clock, self.stores, tmp, lambda: runners)

    async def start(self) -> Rig:
        await self.bus.start()
        await self.schedule.attach(self.bus)
        return self

    async def stop(self) -> None:
        self.schedule.terminate()
        await self.bus.stop()
        self.stores.close()


async def test_a_due_schedule_runs_a_niced_child_and_promotes_nothing(tmp_path: Path) -> None:
    CandleStore(tmp_path / "candles").write(
        "sim", SYMBOL, "15m", synthetic_history(SYMBOL, "15m", 2000)
    )
    active_id = _promoted(tmp_path)
    clock = SimClock(T0)
    rig = await Rig(tmp_path, clock).start()
    try:
        await rig.schedule.tick()
        assert not rig.schedule.busy  # the first start anchors the schedule
        clock.set_time(T0 + WEEK - 1)
        await rig.schedule.tick()
        assert not rig.schedule.busy
        assert "next due 2025-11-28 12:00 UTC" in rig.schedule.status_lines()[0]

        clock.set_time(T0 + WEEK)
        await rig.schedule.tick()
        assert rig.schedule.busy
        study = "breakout-1HZ100V-15m-recal-20251128-1200"
        assert any(f"running: study {study}" in line for line in rig.schedule.status_lines())
        await rig.schedule.wait_idle()  # the child's exit, not a time window

        log = (tmp_path / "recal" / f"{study}.log").read_text()
        assert (
            f"data: {SYMBOL}: {SYMBOL}: candle store {tmp_path / 'candles'}" in log
        )  # the stored candles, not generated ones
        storage = f"sqlite:///{tmp_path / 'optuna.db'}"
        found = optuna.load_study(study_name=study, storage=storage)
        assert len(found.trials) == 3 and found.user_attrs["strategy"] == "breakout"

        [only] = load_active(tmp_path / "research.db")  # nothing promoted
        assert only.id == active_id and only.study == "first"

        [ready] = [a for a in rig.alerts if a.topic == "recal"]
        assert f"re-calibration ready: study {study} best score" in ready.text
        assert f"promote with `tradeterm promote --study {study}`" in ready.text
        audit = {a.action: a for a in rig.stores.home.load_audit()}
        assert audit["recalibration_started"].args["study"] == study
        assert (
            audit["recalibration_ready"].ok and audit["recalibration_ready"].args["study"] == study
        )
        assert any(f"ready: study {study}" in line for line in rig.schedule.status_lines())
    finally:
        await rig.stop()

    # a restart an hour later: the last run is stored, nothing runs before next week
    clock.set_time(T0 + WEEK + 3_600_000)
    rig = await Rig(tmp_path, clock).start()
    try:
        await rig.schedule.tick()
        assert not rig.schedule.busy
        assert rig.schedule.next_due_ms == T0 + 2 * WEEK
        assert rig.schedule.results[0]["study"] == study
    finally:
        await rig.stop()


def test_the_child_command_is_niced_and_uses_recent_data(tmp_path: Path) -> None:
    rig = Rig(tmp_path, SimClock(T0))
    assert rig.schedule._targets() == []  # breakout is not promoted: nothing to re-calibrate
    _promoted(tmp_path)
    [target] = rig.schedule._targets()
    cmd = rig.schedule.command(target, "s1", tmp_path / "c.toml")
    assert cmd[:3] == [cmd[0], "-n", "5"] and cmd[0].endswith("nice")
    joined = " ".join(cmd)
    assert "calibrate --config" in joined and "--strategy breakout --symbol 1HZ100V" in joined
    assert "--days 30 --trials 3 --jobs 1 --study s1 --json" in joined and "--venue sim" in joined
    rig.stores.close()
