"""Promotion: the best non-liquidated trial goes to active_configs (audited); a liquidated or
unfinished trial is refused; a node built afterwards trades the promoted parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.promote import promote
from tradeterm.calibration.study import load, run_study
from tradeterm.clock import SimClock
from tradeterm.errors import UserError
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage.active_configs import load_active, load_audit
from tradeterm.testing.node_kit import busy_config


def _study(tmp: Path, trials: int, **kw: object):  # type: ignore[no-untyped-def]
    report = run_study(task(**kw), settings(tmp, trials), poll_s=0.05)  # type: ignore[arg-type]
    return report, load(f"sqlite:///{tmp / 'optuna.db'}", "t")


def test_promote_writes_the_best_trial_to_active_configs_and_audits_it(tmp_path: Path) -> None:
    report, study = _study(tmp_path, 4, leverage_max=3, fixed={"atr_period": 14, "channel": 48})
    assert report.best is not None
    done = promote(study, storage_url="sqlite:///x", state_dir=tmp_path, by="tester@host")
    (active,) = load_active(tmp_path / "research.db")
    best = report.best
    expected = {k: v for k, v in best.params.items() if k not in ("leverage", "margin_mode")}
    assert {k: active.params[k] for k in expected} == expected
    assert (active.study, active.trial, active.score) == ("t", best.number, best.value)
    assert active.leverage == best.params["leverage"] and active.margin_mode == "isolated"
    assert (active.strategy, active.timeframe, active.symbols) == ("breakout", "15m", ("1HZ100V",))
    assert active.metrics["total_return"] == best.user_attrs["total_return"]
    assert done["postgres"] is None
    (audit,) = load_audit(tmp_path / "research.db")
    assert (audit["who"], audit["action"], audit["detail"]["trial"]) == (
        "tester@host",
        "promote",
        best.number,
    )


def test_a_second_promotion_replaces_the_active_row_and_keeps_history(tmp_path: Path) -> None:
    report, study = _study(tmp_path, 8, fixed={"atr_period": 14, "channel": 48})
    one, two = (t.number for t in report.top[:2])
    first = promote(study, storage_url="sqlite:///x", state_dir=tmp_path, trial_number=one)
    second = promote(study, storage_url="sqlite:///x", state_dir=tmp_path, trial_number=two)
    (active,) = load_active(tmp_path / "research.db")
    assert active.id == second["sqlite"][1] != first["sqlite"][1]
    assert active.trial == two
    assert len(load_audit(tmp_path / "research.db")) == 2


def test_liquidated_and_unknown_trials_cannot_be_promoted(tmp_path: Path) -> None:
    from tradeterm.calibration.space import default_values

    fixed = {**default_values("breakout"), "leverage": 100}
    _report, study = _study(tmp_path, 1, leverage_max=100, fixed=fixed)
    assert study.trials[0].user_attrs["liquidated"]
    with pytest.raises(UserError, match="liquidated"):
        promote(study, storage_url="sqlite:///x", state_dir=tmp_path, trial_number=0)
    with pytest.raises(UserError, match="no finished, non-liquidated trial to promote"):
        promote(study, storage_url="sqlite:///x", state_dir=tmp_path)
    with pytest.raises(UserError, match=r"--trial 7: study .t. has no such trial"):
        promote(study, storage_url="sqlite:///x", state_dir=tmp_path, trial_number=7)
    assert load_active(tmp_path / "research.db") == []


def test_a_node_built_after_a_promotion_trades_the_promoted_params(tmp_path: Path) -> None:
    config = busy_config(tmp_path)  # the node's frictionless venue: 5s bars clear the costs
    pins = {"atr_period": 14, "slow": 20, "adx_period": 14, "regime_window": 20}
    report, study = _study(
        tmp_path, 3, strategy="ema_trend", timeframe="5s", bars=3000, config=config, fixed=pins
    )
    assert report.best is not None
    promote(study, storage_url="sqlite:///x", state_dir=tmp_path)
    node = build_node(
        busy_config(tmp_path), SimClock(1_767_225_600_000), NodeOptions(metrics_server=False)
    )
    try:
        runners = [r for r in node.strategies.runners if r.strategy.name == "ema_trend"]
        assert runners
        wanted = {
            k: v for k, v in report.best.params.items() if k not in ("leverage", "margin_mode")
        }
        for runner in runners:
            assert {k: getattr(runner.params, k) for k in wanted} == wanted
        audit = [a for a in node.stores.home.load_audit() if a.action == "active_config"]
        assert audit and audit[0].args["trial"] == report.best.number
        others = [r for r in node.strategies.runners if r.strategy.name == "breakout"]
        assert all(r.params.channel == 12 for r in others)  # untouched: nothing promoted
    finally:
        node.stores.close()
