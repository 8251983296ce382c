"""One calibration's fixed inputs (`CalibrationTask`, picklable so worker processes get a copy)
and the evaluation of one trial: sample the space, backtest (whole range or walk-forward splits),
record every metric as user attrs, return the score, or prune a liquidated or invalid trial.

Walk-forward (`splits = K`): the bars are cut into K + 1 equal windows; the first only warms the
strategy up, each of the K others is traded on its own (the bars before it are warm-up) and scored
out of sample. Each split's score is reported to Optuna so the median pruner can stop a poor trial
early; the trial's value is the mean out-of-sample score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna

from tradeterm.backtest.engines import BacktestRequest, FundingSeries, MarketRules, run_backtest
from tradeterm.backtest.result import BacktestResult
from tradeterm.calibration.objective import (
    ObjectiveName,
    mean_metrics,
    periods_per_year,
    run_metrics,
    score,
)
from tradeterm.calibration.space import SearchSpace
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.errors import TradetermError
from tradeterm.strategies.registry import build_params, get_strategy


@dataclass(frozen=True)
class CalibrationTask:
    """Everything a worker needs to evaluate trials of one study."""

    strategy: str
    timeframe: str
    bars: Mapping[str, BarSeries]
    space: SearchSpace
    config: TradetermConfig = field(default_factory=TradetermConfig)
    funding: Mapping[str, FundingSeries] = field(default_factory=dict)
    domain: Domain = Domain.CRYPTO_PERP
    objective: ObjectiveName = "score"
    splits: int = 0
    engine: str = "vector"
    markets: Mapping[str, MarketRules] = field(default_factory=dict)
    cash: float | None = None

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self.bars))

    def request(self, params: Mapping[str, Any], leverage: float, margin: str) -> BacktestRequest:
        return BacktestRequest(
            strategy=self.strategy,
            timeframe=self.timeframe,
            bars=self.bars,
            params=dict(params),
            config=self.config,
            funding=self.funding,
            domain=self.domain,
            markets=self.markets,
            cash=self.cash,
            leverage=leverage,
            margin="cross" if margin == "cross" else "isolated",
            engine="vector" if self.engine == "vector" else "event",
        )

    def windows(self) -> list[tuple[int, int]]:
        """(start, end) bar indices on the first symbol's bars of each scored window."""
        n = len(self.bars[self.symbols[0]])
        if self.splits <= 0:
            return [(-1, n)]
        edges = np.linspace(0, n, self.splits + 2).astype(int)
        return [(int(edges[i]), int(edges[i + 1])) for i in range(1, self.splits + 1)]


def _window_request(task: CalibrationTask, base: BacktestRequest, start: int, end: int) -> Any:
    if start < 0:
        return base
    axis = task.bars[task.symbols[0]].open_ms
    end_ms = int(axis[end - 1]) + 1
    cut = {
        s: series.slice(slice(0, int(np.searchsorted(series.open_ms, end_ms, "left"))))
        for s, series in task.bars.items()
    }
    return replace(base, bars=cut, start=start)


class TrialPruned(optuna.TrialPruned):
    """A pruned trial with its reason (liquidated, invalid parameters, the median pruner)."""


def _liquidated(trial: optuna.Trial, result: BacktestResult, split: int) -> None:
    bar = int(result.liquidation_bar)
    when = int(result.ts[bar]) if 0 <= bar < result.ts.shape[0] else 0
    trial.set_user_attr("liquidated", True)
    trial.set_user_attr("liquidation_bar", bar)
    trial.set_user_attr("liquidation_ms", when)
    trial.set_user_attr("liquidation_split", split)
    raise TrialPruned(f"liquidated at bar {bar}")


def _check_lookback(trial: optuna.Trial, task: CalibrationTask, params: Mapping[str, Any]) -> None:
    """Prune a point whose warm-up would eat more than three quarters of the bars (or the
    history before the first walk-forward window): it could barely trade."""
    model = build_params(task.strategy, params)  # ConfigError for an invalid point
    need = get_strategy(task.strategy).total_lookback(model)
    first = task.windows()[0]
    room = first[0] if first[0] > 0 else first[1] * 3 // 4  # a quarter left to trade
    if need > room:
        trial.set_user_attr("invalid", f"lookback {need} bars; the data leaves room for {room}")
        raise TrialPruned(f"lookback {need} bars exceeds {room}")


def evaluate(trial: optuna.Trial, task: CalibrationTask) -> float:
    """Run the trial's backtests and return its score (see the module text)."""
    values = task.space.suggest(trial)
    params, leverage, margin = task.space.split(values)
    trial.set_user_attr("liquidated", False)
    trial.set_user_attr("leverage", leverage)
    trial.set_user_attr("margin_mode", margin)
    try:
        _check_lookback(trial, task, params)
        base = task.request(params, leverage, margin)
        rows: list[dict[str, float | None]] = []
        scores: list[float] = []
        for i, (start, end) in enumerate(task.windows()):
            result = run_backtest(_window_request(task, base, start, end))
            if result.liquidated:
                _liquidated(trial, result, i)
            metrics = run_metrics(result, periods_per_year(task.timeframe))
            rows.append(metrics)
            scores.append(score(metrics, task.objective, leverage))
            if task.splits > 0:
                trial.report(float(np.mean(scores)), i)
                if trial.should_prune():
                    trial.set_user_attr("split_scores", scores)
                    raise TrialPruned(f"pruned by the median rule after split {i + 1}")
    except TradetermError as exc:  # e.g. fast >= slow: a point outside the valid space
        why = "; ".join(getattr(exc, "problems", None) or [str(exc)])[:300]
        trial.set_user_attr("invalid", why)
        raise TrialPruned(f"invalid parameters: {why}") from None
    metrics = mean_metrics(rows)
    for key, value in metrics.items():
        trial.set_user_attr(key, value)
    if task.splits > 0:
        trial.set_user_attr("split_scores", scores)
    if not metrics.get("trade_count"):
        # a point that never trades (every signal refused by the gate, or none at all) would
        # score 0 and beat every loser: TPE would then hunt for silence, and it is nothing to
        # promote. Pruned, with its metrics kept.
        trial.set_user_attr("invalid", "no trades")
        raise TrialPruned("no trades")
    value = float(np.mean(scores))
    trial.set_user_attr("score", value)
    return value
