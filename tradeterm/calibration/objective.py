"""What a calibration trial is worth: the score of its backtest(s), and the trial's record.

The default score is the seed's formula, total return / (max drawdown x leverage): a return bought
with leverage must pay for it. Calmar, Sharpe and Sortino can be chosen instead. A zero drawdown
is floored at `MIN_DRAWDOWN` so a run that never lost is finite (and a run that did nothing scores
0). The metrics are `tradeterm.backtest.metrics` (the one implementation `tradeterm backtest`
reports), annualised with the timeframe's bars per (24/7) year.

A trial whose backtest is liquidated even once is recorded (user attrs `liquidated`,
`liquidation_bar`, `liquidation_ms`) and pruned: it can never be the best trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np

from tradeterm.backtest.metrics import compute_metrics
from tradeterm.backtest.result import BacktestResult
from tradeterm.domain.timeframes import timeframe_ms

ObjectiveName = Literal["score", "calmar", "sharpe", "sortino"]
OBJECTIVES: tuple[str, ...] = ("score", "calmar", "sharpe", "sortino")
MIN_DRAWDOWN = 1e-3
"""Drawdown floor of the score and Calmar (0.1%): a run that never lost stays finite."""
YEAR_MS = 365 * 86_400_000


def periods_per_year(timeframe: str) -> float:
    """Bars in a (24/7) year of `timeframe`."""
    return YEAR_MS / timeframe_ms(timeframe)


def run_metrics(result: BacktestResult, ppy: float) -> dict[str, float | None]:
    """Every numeric metric of one run (`tradeterm.backtest.metrics`, the numbers `tradeterm
    backtest` reports); None where a metric is undefined (no trades, no drawdown, ...)."""
    found = compute_metrics(result, periods_per_year=ppy).to_dict()
    out: dict[str, float | None] = {}
    for key, value in found.items():
        if isinstance(value, bool):
            continue
        out[key] = float(value) if isinstance(value, int | float) else None
    return out


def _num(metrics: Mapping[str, float | None], key: str) -> float:
    value = metrics.get(key)
    return float(value) if value is not None and math.isfinite(value) else 0.0


def score(metrics: Mapping[str, float | None], objective: ObjectiveName, leverage: float) -> float:
    """The number a trial maximises (undefined ratios count 0: no trades, no volatility)."""
    dd = max(_num(metrics, "max_drawdown"), MIN_DRAWDOWN)
    if objective == "score":
        return _num(metrics, "total_return") / (dd * max(leverage, 1.0))
    if objective == "calmar":
        calmar = metrics.get("calmar")  # None when the run never drew down: CAGR over the floor
        return float(calmar) if calmar is not None else _num(metrics, "cagr") / dd
    return _num(metrics, objective)


def mean_metrics(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Each metric's mean over walk-forward splits (counts and money summed; None when it is
    undefined in every split)."""
    summed = {"trade_count", "fees_paid", "funding_paid", "gross_profit", "gross_loss"}
    out: dict[str, float | None] = {}
    for key in rows[0] if rows else []:
        values = [v for row in rows if (v := row.get(key)) is not None]
        if not values:
            out[key] = None
        else:
            out[key] = float(sum(values)) if key in summed else float(np.mean(values))
    return out
