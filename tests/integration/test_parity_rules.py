"""Parity beyond the defaults: the rules a default run rarely reaches (the kill switch and its
flatten, daily and per-symbol loss caps, cooldowns, trailing and time stops, the monitor as the
only line, volatility sizing, the weekend cut-off, leverage) decide the same trades in the
vector engine and the event engine. Each case also checks that its rule really acted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.integration.parity_kit import SHARED, default_config, file_request, series
from tests.integration.test_parity import assert_same
from tradeterm.backtest.engines import BacktestRequest, run_backtest
from tradeterm.backtest.result import BacktestResult
from tradeterm.config import config_from_dict
from tradeterm.config.models import TradetermConfig

BTC_5M = SHARED / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"
UNIT_1M = SHARED / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv"


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def config_with(**sections: dict[str, Any]) -> TradetermConfig:
    data = default_config().model_dump(mode="json")
    for name, values in sections.items():
        data[name] = {**data[name], **values}
    return config_from_dict(data)


def reasons(result: BacktestResult) -> set[str]:
    return {t.exit_reason for t in result.trades}


LOSS_CAPS_AT_KILL = {"daily_loss_cap": 0.003, "symbol_loss_cap": 0.003}
"""A drawdown kill below the default daily/symbol loss caps needs them at most as large (the
config rule daily_loss_cap <= max_drawdown); equal, so the kill switch is what the case tests."""

Check = Callable[[BacktestResult, BacktestResult], bool]
CASES: dict[str, tuple[dict[str, dict[str, Any]], Check]] = {
    "kill switch flattens": (
        {"risk": {"max_drawdown": 0.003, "position_size": 0.3, **LOSS_CAPS_AT_KILL}},
        lambda r, base: "kill_switch" in reasons(r),
    ),
    "kill switch halts without flattening": (
        {"risk": {"max_drawdown": 0.003, "flatten_on_kill": False, **LOSS_CAPS_AT_KILL}},
        lambda r, base: len(r.trades) < len(base.trades),
    ),
    "daily and symbol loss caps": (
        {"risk": {"daily_loss_cap": 0.001, "symbol_loss_cap": 0.0005}},
        lambda r, base: len(r.trades) != len(base.trades),
    ),
    "cooldown after every loss": (
        {"risk": {"cooldown_losses": 1, "cooldown_minutes": 600}},
        lambda r, base: len(r.trades) < len(base.trades),
    ),
    "trailing stop": (
        {"execution": {"trailing_stop_atr": 1.0}},
        lambda r, base: "trailing_stop" in reasons(r),
    ),
    "time stop": (
        {"execution": {"time_stop_bars": 6}},
        lambda r, base: "time_stop" in reasons(r),
    ),
    "short max hold": (
        {"risk": {"max_hold_minutes": 20}},
        lambda r, base: "max_hold" in reasons(r),
    ),
    "monitor only (no resting stops)": (
        {"execution": {"resting_stops": False}},
        lambda r, base: "stop_loss" in reasons(r),
    ),
    "monitor as second line at once": (
        {"execution": {"stop_grace_s": 0}},
        lambda r, base: "take_profit" in reasons(r),
    ),
    "volatility-target sizing": (
        {"risk": {"sizing": "vol_target", "vol_target_annual": 0.02}},
        lambda r, base: any(a.qty < b.qty for a, b in zip(r.trades, base.trades, strict=False)),
    ),
    "weekend carry": (
        {"risk": {"avoid_weekend_carry": True, "weekend_cutoff_utc": "Fri 12:00"}},
        lambda r, base: "weekend" in reasons(r) or len(r.trades) < len(base.trades),
    ),
    "bigger positions": (
        {"risk": {"position_size": 0.5, "max_pair_exposure": 0.6, "max_portfolio_exposure": 0.6,
                  "max_risk_per_trade": 0.05, "max_drawdown": 0.5}},
        lambda r, base: sum(t.qty for t in r.trades) > sum(t.qty for t in base.trades),
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", [BTC_5M, UNIT_1M], ids=["btc-perp-5m", "unittest-spot-1m"])
@pytest.mark.parametrize("case", list(CASES))
def test_engines_agree_where_a_rule_binds(case: str, path: Any) -> None:
    sections, acted = CASES[case]
    base = run_backtest(file_request(path, "breakout", "vector"))
    request = replace(file_request(path, "breakout", "vector"), config=config_with(**sections))
    vector = run_backtest(request)
    event = run_backtest(replace(request, engine="event"))
    assert acted(vector, base), f"{case}: the rule did not act ({sorted(reasons(vector))})"
    assert_same(vector, event)


def test_engines_agree_with_leverage_on_two_perpetuals() -> None:
    """Two perpetuals in one wallet, each sized at the whole equity: at 1x the leverage and
    balance caps leave little room for the second; at 3x margin, not notional, is what binds."""
    eth = SHARED / "crypto" / "usdm_ETHUSDT_5m_2024-02.csv"
    config = config_with(risk={"position_size": 1.0, "max_pair_exposure": 1.5,
                               "max_portfolio_exposure": 3.0, "max_risk_per_trade": 0.1})  # fmt: skip
    request = BacktestRequest(
        strategy="breakout",
        timeframe="5m",
        bars={"BTCUSDT": series(BTC_5M), "ETHUSDT": series(eth)},
        config=config,
        cash=10_000.0,
        leverage=3.0,
    )
    one_x = run_backtest(replace(request, leverage=1.0))
    vector = run_backtest(request)
    event = run_backtest(replace(request, engine="event"))
    notional = sum(t.qty * t.entry_price for t in vector.trades)
    assert notional > sum(t.qty * t.entry_price for t in one_x.trades)
    assert_same(vector, event)
