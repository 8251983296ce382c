"""The strategy registry: names, duplicates, plugins by entry point, config checks."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.unit.strategies.conftest import BUILTIN
from tradeterm.config.models import StrategyConfig
from tradeterm.domain.series import BarSeries
from tradeterm.errors import ConfigError, StrategyError
from tradeterm.strategies import (
    ENTRY_POINT_GROUP,
    SignalFrame,
    Strategy,
    StrategyRegistry,
    build_params,
    check_strategy_params,
    describe_strategies,
    get_strategy,
    list_strategies,
    register_strategy,
)
from tradeterm.strategies.breakout import Breakout, BreakoutParams


def _flat_strategy(name: str) -> type[Strategy[BreakoutParams]]:
    """A minimal real strategy class called `name` that never signals."""

    class Flat(Strategy[BreakoutParams]):
        """Never trades."""

        params_model = BreakoutParams
        version = "0.1.0"

        @classmethod
        def lookback(cls, params: BreakoutParams) -> int:
            return 1

        @classmethod
        def evaluate(cls, bars: BarSeries, params: BreakoutParams) -> SignalFrame:
            return SignalFrame.flat(len(bars))

    Flat.name = name
    return Flat


def test_builtin_strategies_are_listed_sorted_and_found_by_name() -> None:
    assert set(BUILTIN) <= set(list_strategies())
    assert list_strategies() == sorted(list_strategies())
    assert get_strategy("breakout") is Breakout


def test_unknown_strategy_error_lists_the_known_names() -> None:
    with pytest.raises(StrategyError) as err:
        get_strategy("moon_shot")
    assert str(err.value).startswith("unknown strategy 'moon_shot' (known: breakout, ema_trend,")


def test_a_second_strategy_under_a_taken_name_is_refused() -> None:
    registry = StrategyRegistry(entry_point_group=None)
    first = registry.register(_flat_strategy("dup"))
    assert registry.register(first) is first  # the same class again is harmless
    with pytest.raises(StrategyError, match="'dup' is already taken"):
        registry.register(_flat_strategy("dup"))
    with pytest.raises(StrategyError, match="'breakout' is already taken"):
        register_strategy(_flat_strategy("breakout"))
    assert get_strategy("breakout") is Breakout


def test_malformed_strategy_classes_are_refused() -> None:
    registry = StrategyRegistry(entry_point_group=None)
    with pytest.raises(StrategyError, match="lowercase"):
        registry.register(_flat_strategy("Bad Name"))
    with pytest.raises(StrategyError, match="not a Strategy class"):
        registry.register(int)  # type: ignore[type-var]


def _write_plugin_dist(site: Path) -> None:
    (site / "tt_demo_good.py").write_text(
        textwrap.dedent(
            """
            from tradeterm.strategies import SignalFrame, Strategy
            from tradeterm.strategies.breakout import BreakoutParams

            class Demo(Strategy):
                '''A plugin strategy that never trades.'''
                name = "demo_plugin"
                version = "2.0.0"
                params_model = BreakoutParams

                @classmethod
                def lookback(cls, params):
                    return 1

                @classmethod
                def evaluate(cls, bars, params):
                    return SignalFrame.flat(len(bars))
            """
        )
    )
    (site / "tt_demo_bad.py").write_text("raise RuntimeError('plugin is broken')\n")
    dist = site / "tt_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tt-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "demo_plugin = tt_demo_good:Demo\n"
        "broken = tt_demo_bad:Nope\n"
        "not_a_strategy = tt_demo_good:BreakoutParams\n"
    )


def test_plugins_load_from_the_entry_point_group_and_broken_ones_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _write_plugin_dist(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = StrategyRegistry()
        with caplog.at_level(logging.WARNING, logger="tradeterm.strategies.registry"):
            assert registry.get("demo_plugin").version == "2.0.0"
        assert "demo_plugin" in registry.names()
        problems = registry.plugin_problems
        assert len(problems) == 2
        assert any("'broken'" in p and "plugin is broken" in p for p in problems)
        assert any("'not_a_strategy'" in p and "not a Strategy class" in p for p in problems)
        assert "strategy plugin 'broken'" in caplog.text
        registry.load_plugins()  # loaded once: no second round of warnings
        assert len(registry.plugin_problems) == 2
    finally:
        sys.modules.pop("tt_demo_good", None)
        sys.modules.pop("tt_demo_bad", None)


def test_check_strategy_params_reports_one_line_per_problem() -> None:
    tables = {
        "trend_fast": StrategyConfig(
            strategy="ema_trend", params={"fast": 500, "bogus": 1, "adx_period": 2.5}
        ),
        "x": StrategyConfig(strategy="foo"),
        "breakout": StrategyConfig(params={"channel": 20}),
        "crossed": StrategyConfig(strategy="ema_trend", params={"fast": 50, "slow": 40}),
        "hourly": StrategyConfig(
            strategy="breakout", timeframes=["5m", "1h"], confirm_timeframe="1h"
        ),
    }
    problems = check_strategy_params(tables)
    known = ", ".join(list_strategies())
    assert problems == [
        "strategies.trend_fast.params.fast: must be <= 100, got 500",
        "strategies.trend_fast.params.adx_period: must be a whole number, got 2.5",
        "strategies.trend_fast.params.bogus: unknown parameter",
        f"strategies.x.strategy: unknown strategy 'foo' (known: {known})",
        "strategies.crossed.params: fast (50) must be below slow (40)",
        "strategies.hourly.confirm_timeframe: '1h' must be a whole multiple above timeframe '1h'",
    ]
    assert check_strategy_params({"mean_revert": StrategyConfig()}) == []


def test_an_instance_named_after_an_unknown_strategy_is_reported_on_its_table() -> None:
    problems = check_strategy_params({"nope": StrategyConfig()})
    assert problems[0].startswith("strategies.nope: unknown strategy 'nope'")


def test_build_params_applies_overrides_or_raises_a_config_error() -> None:
    params = build_params("breakout", {"channel": 96, "stop_atr": 2})
    assert isinstance(params, BreakoutParams)
    assert (params.channel, params.stop_atr, params.reward_risk) == (96, 2.0, 4.0)
    with pytest.raises(ConfigError) as err:
        build_params("breakout", {"channel": 1, "reward_risk": 11})
    assert err.value.problems == [
        "params.reward_risk: must be <= 10.0, got 11",
        "params.channel: must be >= 5, got 1",
    ]


def test_describe_strategies_gives_versions_and_parameter_ranges() -> None:
    described = {d["name"]: d for d in describe_strategies()}
    assert set(BUILTIN) <= set(described)
    breakout = described["breakout"]
    assert breakout["version"] == "1.0.0"
    assert breakout["summary"].startswith("Donchian channel breakout")
    assert breakout["lookback"] == Breakout.total_lookback(BreakoutParams())
    channel = next(p for p in breakout["params"] if p["name"] == "channel")
    assert channel == {
        "name": "channel",
        "type": "int",
        "default": 48,
        "min": 5.0,
        "max": 500.0,
        "description": "Donchian channel length (bars).",
    }
    assert np.isfinite([p["default"] for d in described.values() for p in d["params"]]).all()
