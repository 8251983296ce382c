"""Hand-made bars and signals for the engine unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tradeterm.backtest.engines import BacktestRequest, MarketRules
from tradeterm.backtest.plan import RunPlan, plan_run
from tradeterm.backtest.result import BacktestResult
from tradeterm.backtest.vector.wrapper import simulate_frames
from tradeterm.config import config_from_dict
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.strategies.base import SignalFrame

BAR_MS = 300_000
START_MS = 1_709_251_200_000  # 2024-03-01 00:00 UTC, a Friday


def bars(rows: list[tuple[float, float, float, float]], start_ms: int = START_MS) -> BarSeries:
    """5m bars from (open, high, low, close) rows."""
    arr = np.asarray(rows, dtype=np.float64)
    ts = start_ms + np.arange(len(rows), dtype=np.int64) * BAR_MS
    return BarSeries.from_columns(
        ts, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], np.ones(len(rows))
    )


def flat_bars(n: int, price: float = 100.0) -> list[tuple[float, float, float, float]]:
    return [(price, price + 0.05, price - 0.05, price)] * n


def config(**sections: dict[str, Any]) -> TradetermConfig:
    """Costs of a round number (taker 10 bps, maker 5 bps, no slippage) and roomy limits, so
    the hand sums stay readable; `sections` override."""
    data: dict[str, Any] = {
        "venues": {"sim": {"kind": "sim", "fill_model": {
            "taker_fee_rate": 0.001, "maker_fee_rate": 0.0005, "slippage_bps": 0.0}}},
        "risk": {"min_reward_risk": 1.0, "min_stop_cost_multiple": 1.0, "max_stop_atr": 50.0,
                 "position_size": 0.5, "max_pair_exposure": 0.5, "max_portfolio_exposure": 1.0,
                 "max_risk_per_trade": 0.1},
    }  # fmt: skip
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return config_from_dict(data)


def request(
    series: BarSeries, cfg: TradetermConfig | None = None, **kwargs: Any
) -> BacktestRequest:
    defaults: dict[str, Any] = {
        "strategy": "breakout",
        "timeframe": "5m",
        "bars": {"X": series},
        "config": cfg or config(),
        "domain": Domain.CRYPTO_PERP,
        "markets": {"X": MarketRules(tick_size=0.01, lot_step=0.001, min_notional=1.0)},
        "cash": 10_000.0,
        "start": 1,
    }
    defaults.update(kwargs)
    return BacktestRequest(**defaults)


def frame(
    n: int, at: int, side: int, entry: float, stop: float, target: float, atr: float = 1.0
) -> SignalFrame:
    """A frame with one signal, at bar `at`."""
    f = SignalFrame.flat(n)
    f.side[at] = side
    for col, value in ((f.entry, entry), (f.stop_loss, stop), (f.take_profit, target),
                       (f.confidence, 1.0), (f.atr, atr)):  # fmt: skip
        col[at] = value
    return f


def run(req: BacktestRequest, frames: list[SignalFrame]) -> BacktestResult:
    return simulate_frames(plan_run(req), frames)


def plan(req: BacktestRequest) -> RunPlan:
    return plan_run(req)


def with_(req: BacktestRequest, **changes: Any) -> BacktestRequest:
    return replace(req, **changes)
