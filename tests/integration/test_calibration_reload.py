"""A running node takes promoted parameters on `reload` (audited, announced), refuses a promotion
that needs deeper windows than it keeps, and keeps trading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.errors import UserError
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage.active_configs import ActiveConfig, save_active
from tradeterm.testing.node_kit import advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC


def _active(trial: int, **params: float) -> ActiveConfig:
    return ActiveConfig(
        strategy="ema_trend", version="1.0.0", symbols=(), timeframe="5s", params=params,
        leverage=2.0, margin_mode="isolated", max_position_size=0.05, score=1.0, metrics={},
        study="s", trial=trial, promoted_at=START_MS, promoted_by="tester",
    )  # fmt: skip


async def test_reload_applies_promoted_params_to_a_running_node(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    node = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    alerts: list[ev.Alert] = []
    node.bus.subscribe(ev.ALERT, lambda _t, m: alerts.append(m), inline=True)
    await node.start()
    try:
        await advance(clock, 60)
        control = Control(node)
        ema = [r for r in node.strategies.runners if r.strategy.name == "ema_trend"]
        assert ema and all(r.params.fast == 5 for r in ema)  # the config's value

        save_active(tmp_path / "research.db", _active(3, fast=7, slow=20, adx_threshold=15))
        changed = await control.reload_active_configs(source="cli")
        ema = [r for r in node.strategies.runners if r.strategy.name == "ema_trend"]
        assert ema and all(r.params.fast == 7 for r in ema)
        assert len(changed) == len(ema) and all(c.startswith("ema_trend ") for c in changed)
        others = [r for r in node.strategies.runners if r.strategy.name == "breakout"]
        assert others and all(r.params.channel == 12 for r in others)
        audit = node.stores.home.load_audit()
        assert any(a.action == "reload" and a.ok for a in audit)
        assert any(a.action == "active_config" and a.args["trial"] == 3 for a in audit)
        assert any(a.topic == "reload" and "ema_trend" in a.text for a in alerts)

        save_active(tmp_path / "research.db", _active(4, fast=7, slow=200))
        with pytest.raises(UserError, match="restart the node"):
            await control.reload_active_configs(source="cli")
        assert all(r.params.slow == 20 for r in node.strategies.runners if r.label == "ema_trend")
        assert any(a.action == "reload" and not a.ok for a in node.stores.home.load_audit())

        await advance(clock, 60)  # still trading on the reloaded runners
        assert node.strategies.enabled
    finally:
        await node.stop()
