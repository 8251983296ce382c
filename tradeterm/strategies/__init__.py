"""Strategies: the contract (base), the registry, the built-in strategies, higher-timeframe
confirmation and the runner that evaluates a strategy live or over a whole history.

Importing this package registers the built-in strategies.
"""

from __future__ import annotations

from tradeterm.strategies import breakout, ema_trend, impulse_fade, mean_revert, vol_squeeze
from tradeterm.strategies.base import (
    ParamSpec,
    SignalFrame,
    Strategy,
    StrategyClass,
    StrategyParams,
    param_specs,
)
from tradeterm.strategies.registry import (
    ENTRY_POINT_GROUP,
    StrategyRegistry,
    build_params,
    check_strategy_params,
    default_registry,
    describe_strategies,
    get_strategy,
    list_strategies,
    register_strategy,
)
from tradeterm.strategies.runner import StrategyRunner, required_bars, vector_signals

__all__ = [
    "ENTRY_POINT_GROUP",
    "ParamSpec",
    "SignalFrame",
    "Strategy",
    "StrategyClass",
    "StrategyParams",
    "StrategyRegistry",
    "StrategyRunner",
    "breakout",
    "build_params",
    "check_strategy_params",
    "default_registry",
    "describe_strategies",
    "ema_trend",
    "get_strategy",
    "impulse_fade",
    "list_strategies",
    "mean_revert",
    "param_specs",
    "register_strategy",
    "required_bars",
    "vector_signals",
    "vol_squeeze",
]
