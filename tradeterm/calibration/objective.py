"""What a calibration trial is worth: the score of its backtest(s), and the trial's record.

The default score is the seed's formula, total return / (max drawdown x leverage): a return bought
with leverage must pay for it. Calmar, Sharpe and Sortino can be chosen instead. A zero drawdown
is floored at `MIN_DRAWDOWN` so a run that never lost is finite (and a run that did nothing scores
0). The metrics come from `tradeterm.backtest.metrics` when that module is present (the one
implementation `tradeterm backtest` reports); otherwise from the minimal maths below, which
computes the same definitions (simple returns per bar, annualised with the timeframe's bars per
year, drawdown from the running peak).

A trial whose backtest is liquidated even once is recorded (user attrs `liquidated`,
`liquidation_bar`, `liquidation_ms`) and pruned: it can never be the best trial.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.result import BacktestResult
from tradeterm.domain.timeframes import timeframe_ms

ObjectiveName = Literal["score", "calmar", "sharpe", "sortino"]
OBJECTIVES: tuple[str, ...] = ("score", "calmar", "sharpe", "sortino")
MIN_DRAWDOWN = 1e-3
"""Drawdown floor of the score and Calmar (0.1%): a run that never lost stays finite."""
YEAR_MS = 365 * 86_400_000

F64 = npt.NDArray[np.float64]


def periods_per_year(timeframe: str) -> float:
    """Bars in a (24/7) year of `timeframe`."""
    return YEAR_MS / timeframe_ms(timeframe)


def _max_drawdown(equity: F64, initial: float) -> float:
    curve = np.concatenate(([initial], equity))
    peak = np.maximum.accumulate(curve)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - curve / peak, 0.0)
    return float(dd.max()) if dd.size else 0.0


def _returns(equity: F64, initial: float) -> F64:
    curve = np.concatenate(([initial], equity))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(curve) / curve[:-1]
    return np.asarray(r[np.isfinite(r)], dtype=np.float64)


def _annual_ratio(mean: float, spread: float, ppy: float) -> float:
    if spread <= 0 or not math.isfinite(spread):
        return 0.0
    return mean / spread * math.sqrt(ppy)


def basic_metrics(result: BacktestResult, ppy: float) -> dict[str, float]:
    """total_return, max_drawdown, cagr, sharpe, sortino, calmar, trade_count, win_rate,
    final_equity, fees_paid, funding_paid of one run (the minimal maths; see module text)."""
    initial = result.initial_cash
    total_return = result.final_equity / initial - 1.0
    max_dd = _max_drawdown(result.equity, initial)
    r = _returns(result.equity, initial)
    mean = float(r.mean()) if r.size else 0.0
    std = float(r.std(ddof=1)) if r.size > 1 else 0.0
    downside = r[r < 0]
    dstd = float(math.sqrt(float((downside**2).sum()) / r.size)) if r.size else 0.0
    years = max(len(result.equity), 1) / ppy
    growth = max(result.final_equity / initial, 0.0)
    cagr = growth ** (1.0 / years) - 1.0 if years > 0 and growth > 0 else -1.0
    wins = sum(1 for t in result.trades if t.won)
    return {
        "total_return": total_return,
        "max_drawdown": max_dd,
        "cagr": cagr,
        "sharpe": _annual_ratio(mean, std, ppy),
        "sortino": _annual_ratio(mean, dstd, ppy),
        "calmar": cagr / max(max_dd, MIN_DRAWDOWN),
        "trade_count": float(len(result.trades)),
        "win_rate": wins / len(result.trades) if result.trades else 0.0,
        "final_equity": result.final_equity,
        "fees_paid": result.fees_paid,
        "funding_paid": result.funding_paid,
    }


def run_metrics(result: BacktestResult, ppy: float) -> dict[str, float]:
    """The metrics of one run as plain floats (None-valued metrics become 0)."""
    try:  # the research module, when merged
        shared = importlib.import_module("tradeterm.backtest.metrics")
    except ImportError:
        return basic_metrics(result, ppy)
    found = shared.compute_metrics(result, periods_per_year=ppy).to_dict()
    out: dict[str, float] = {}
    for key, value in found.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[key] = float(value) if math.isfinite(float(value)) else 0.0
        elif value is None:
            out[key] = 0.0
    return out


def score(metrics: Mapping[str, float], objective: ObjectiveName, leverage: float) -> float:
    """The number a trial maximises."""
    if objective == "score":
        dd = max(float(metrics.get("max_drawdown", 0.0)), MIN_DRAWDOWN)
        return float(metrics.get("total_return", 0.0)) / (dd * max(leverage, 1.0))
    if objective == "calmar":
        dd = max(float(metrics.get("max_drawdown", 0.0)), MIN_DRAWDOWN)
        return float(metrics.get("cagr", 0.0) or 0.0) / dd
    return float(metrics.get(objective, 0.0) or 0.0)


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, Any]:
    """The mean of each metric over walk-forward splits (trade_count is summed)."""
    out: dict[str, Any] = {}
    for key in rows[0] if rows else []:
        values = [row.get(key, 0.0) for row in rows]
        out[key] = float(sum(values)) if key == "trade_count" else float(np.mean(values))
    return out
