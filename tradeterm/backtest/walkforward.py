"""Walk-forward analysis: choose parameters in-sample, score them out-of-sample, stitch.

    wf = walk_forward(request, WalkForwardSettings(splits=5, is_ratio=0.7, mode="rolling"))
    wf.stitched            # BacktestResult: the out-of-sample segments chained (the headline)
    wf.splits[i].gap       # in-sample score - out-of-sample score (overfitting shows here)

Splits: the bar axis after the strategy's warm-up is cut into an in-sample window followed by
`splits` out-of-sample segments of equal length; in-sample is `is_ratio` of (in-sample +
one segment). Rolling: each split's in-sample window is the same length and ends where its
out-of-sample segment starts. Anchored: the in-sample window always starts at the first
bar and grows. Every run gets the bars before its window as warm-up only, so indicators are
settled and no trade opens before the window.

Parameters are chosen on the in-sample window over a grid (the settings' grid, or one drawn
from the strategy's Params bounds: its own numeric parameters, the default and half-way
towards each bound) by the chosen metric (default Calmar; a metric that is undefined scores
lowest). The out-of-sample segments are chained into one equity curve, each segment starting
with the equity the previous one ended with (trades scaled by the same factor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from tradeterm.backtest.engines import BacktestRequest, ParamValue, run_backtest, run_grid
from tradeterm.backtest.metrics import Metrics, compute_metrics
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.domain.series import BarSeries
from tradeterm.errors import StrategyError, UserError
from tradeterm.strategies.base import StrategyParams, param_specs
from tradeterm.strategies.registry import default_registry

GRID_PARAMS = 3
"""Parameters a grid drawn from bounds varies (the strategy's own, in declaration order)."""


@dataclass(frozen=True, slots=True)
class WalkForwardSettings:
    splits: int = 5
    is_ratio: float = 0.7
    mode: Literal["rolling", "anchored"] = "rolling"
    metric: str = "calmar"
    grid: Mapping[str, Sequence[ParamValue]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Split:
    """One split: bar ranges on the run's axis [start, end), the chosen parameters, scores."""

    index: int
    is_start: int
    is_end: int
    oos_start: int
    oos_end: int
    params: dict[str, ParamValue]
    is_score: float | None
    oos_score: float | None
    is_metrics: Metrics
    oos_metrics: Metrics
    start_ms: int
    end_ms: int

    @property
    def gap(self) -> float | None:
        if self.is_score is None or self.oos_score is None:
            return None
        return self.is_score - self.oos_score

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.index + 1, "in_sample_bars": [self.is_start, self.is_end],
            "out_of_sample_bars": [self.oos_start, self.oos_end], "params": self.params,
            "in_sample_score": self.is_score, "out_of_sample_score": self.oos_score,
            "gap": self.gap, "oos_start_ms": self.start_ms, "oos_end_ms": self.end_ms,
            "out_of_sample_return": self.oos_metrics.total_return,
            "out_of_sample_trades": self.oos_metrics.trade_count,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class WalkForward:
    settings: WalkForwardSettings
    splits: tuple[Split, ...]
    stitched: BacktestResult
    grid_size: int
    varied: tuple[str, ...] = ()
    """The parameters the grid varies."""

    def to_dict(self) -> dict[str, Any]:
        gaps = [s.gap for s in self.splits if s.gap is not None]
        return {
            "mode": self.settings.mode, "splits": len(self.splits),
            "is_ratio": self.settings.is_ratio, "metric": self.settings.metric,
            "grid_size": self.grid_size, "mean_gap": float(np.mean(gaps)) if gaps else None,
            "per_split": [s.to_dict() for s in self.splits],
        }  # fmt: skip


def score(metrics: Metrics, name: str) -> float | None:
    """The named metric as a float, None when undefined; UserError for an unknown name."""
    values = metrics.to_dict()
    if name not in values:
        numeric = [k for k, v in values.items() if isinstance(v, int | float) or v is None]
        raise UserError(f"--metric: unknown metric '{name}' (known: {', '.join(numeric)})")
    value = values[name]
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def _rank(value: float | None) -> float:
    return float("-inf") if value is None else value


def bounds_grid(strategy: str, base: Mapping[str, ParamValue] = {}) -> dict[str, list[ParamValue]]:
    """A grid from the strategy's Params bounds: its own numeric parameters (up to
    GRID_PARAMS), each at the default and half-way towards either bound."""
    cls = default_registry().get(strategy)
    common = set(StrategyParams.model_fields)
    grid: dict[str, list[ParamValue]] = {}
    for spec in param_specs(cls.params_model):
        if spec.name in common or spec.kind == "bool" or spec.name in base:
            continue
        if spec.low is None or spec.high is None or isinstance(spec.default, bool):
            continue
        d = float(spec.default)
        points = [d - (d - spec.low) / 2.0, d, d + (spec.high - d) / 2.0]
        if spec.kind == "int":
            values: list[ParamValue] = sorted({round(p) for p in points})
        else:
            values = sorted({round(p, 6) for p in points})
        grid[spec.name] = values
        if len(grid) == GRID_PARAMS:
            break
    return grid


def valid_combos(
    strategy: str, combos: Sequence[dict[str, ParamValue]]
) -> list[dict[str, ParamValue]]:
    """The combinations the strategy's Params accept (e.g. fast < slow)."""
    registry = default_registry()
    out = []
    for combo in combos:
        try:
            registry.build_params(strategy, dict(combo))
        except (StrategyError, UserError, ValueError):
            continue
        out.append(combo)
    return out


def split_bounds(
    n: int, first: int, settings: WalkForwardSettings
) -> list[tuple[int, int, int, int]]:
    """(is_start, is_end, oos_start, oos_end) per split over bars [first, n)."""
    if settings.splits < 1:
        raise UserError(f"--splits {settings.splits} must be at least 1")
    if not 0.0 < settings.is_ratio < 1.0:
        raise UserError(f"--is-ratio {settings.is_ratio:g} must be between 0 and 1 (exclusive)")
    usable = n - first
    ratio = settings.is_ratio / (1.0 - settings.is_ratio)
    oos = int(usable // (ratio + settings.splits))
    is_len = usable - oos * settings.splits
    if oos < 2 or is_len < 2:
        raise UserError(
            f"walk-forward: {usable} bars after the warm-up are too few for {settings.splits} "
            f"splits (each out-of-sample segment would have {oos} bars)"
        )
    out = []
    for k in range(settings.splits):
        oos_start = first + is_len + k * oos
        oos_end = n if k == settings.splits - 1 else oos_start + oos
        is_start = first if settings.mode == "anchored" else oos_start - is_len
        out.append((is_start, oos_start, oos_start, oos_end))
    return out


def _window(
    request: BacktestRequest, axis: np.ndarray, lo: int, hi: int, warm: int
) -> BacktestRequest:
    """The request over axis bars [lo - warm, hi), trading from bar lo."""
    t_from = int(axis[max(0, lo - warm)])
    t_lo = int(axis[lo])
    t_hi = int(axis[hi]) if hi < axis.shape[0] else 2**62
    bars: dict[str, BarSeries] = {}
    for symbol, series in request.bars.items():
        a = int(np.searchsorted(series.open_ms, t_from, "left"))
        b = int(np.searchsorted(series.open_ms, t_hi, "left"))
        bars[symbol] = series.slice(slice(a, b))
    first = bars[request.symbols[0]]
    start = int(np.searchsorted(first.open_ms, t_lo, "left"))
    return replace(request, bars=bars, start=max(1, start))


def walk_forward(request: BacktestRequest, settings: WalkForwardSettings) -> WalkForward:
    from tradeterm.backtest.engines import grid_combinations
    from tradeterm.backtest.plan import plan_run

    plan = plan_run(request)
    axis = plan.axis
    grid = dict(settings.grid) or bounds_grid(request.strategy, request.params)
    combos = valid_combos(
        request.strategy,
        [{**request.params, **c} for c in grid_combinations(grid)]
        if grid
        else [dict(request.params)],
    )
    if not combos:
        raise UserError(f"walk-forward: no valid parameter combination in the grid {grid}")
    score(compute_metrics(_empty(request)), settings.metric)  # unknown metric: fail fast
    warm = max(plan.start, warmup_bars(request, combos))
    splits: list[Split] = []
    segments: list[BacktestResult] = []
    for k, (is_lo, is_hi, oos_lo, oos_hi) in enumerate(split_bounds(axis.shape[0], warm, settings)):
        is_req = _window(request, axis, is_lo, is_hi, warm)
        rows = run_grid(
            is_req, {name: [c[name] for c in combos] for name in combos[0]}, combine="zip"
        )
        scored = [(row.params, compute_metrics(row.result)) for row in rows]
        best_params, best_metrics = max(scored, key=lambda t: _rank(score(t[1], settings.metric)))
        oos_req = _window(request, axis, oos_lo, oos_hi, warm).with_params(best_params)
        oos = run_backtest(oos_req)
        oos_metrics = compute_metrics(_trim(oos, int(axis[oos_lo])))  # the segment alone
        splits.append(Split(
            index=k, is_start=is_lo, is_end=is_hi, oos_start=oos_lo, oos_end=oos_hi,
            params=dict(best_params), is_score=score(best_metrics, settings.metric),
            oos_score=score(oos_metrics, settings.metric), is_metrics=best_metrics,
            oos_metrics=oos_metrics, start_ms=int(axis[oos_lo]), end_ms=int(axis[oos_hi - 1]),
        ))  # fmt: skip
        segments.append(_trim(oos, int(axis[oos_lo])))
    varied = tuple(k for k in combos[0] if len({str(c[k]) for c in combos}) > 1)
    return WalkForward(settings, tuple(splits), stitch(request, segments), len(combos), varied)


def warmup_bars(request: BacktestRequest, combos: Sequence[Mapping[str, ParamValue]]) -> int:
    """Bars every combination needs before its first signal (the deepest of them), so each
    window is traded by settled indicators whichever parameters are chosen."""
    from tradeterm.strategies.runner import required_bars

    registry = default_registry()
    cls = registry.get(request.strategy)
    need = max(
        required_bars(
            cls, registry.build_params(request.strategy, dict(c)), timeframe=request.timeframe
        )
        for c in combos
    )
    return max(1, need - 1)


def _empty(request: BacktestRequest) -> BacktestResult:
    return BacktestResult("", request.strategy, {}, request.symbols, request.timeframe,
                          request.initial_cash, np.zeros(1, np.int64), np.full(1, request.initial_cash),
                          np.full(1, request.initial_cash), ())  # fmt: skip


def _trim(result: BacktestResult, from_ms: int) -> BacktestResult:
    """The run from bar `from_ms` on (the warm-up bars dropped); trades re-indexed."""
    i = int(np.searchsorted(result.ts, from_ms, "left"))
    if i == 0:
        return result
    trades = tuple(
        replace(t, entry_bar=t.entry_bar - i, exit_bar=t.exit_bar - i) for t in result.trades
    )
    return replace(result, ts=result.ts[i:], equity=result.equity[i:], hodl=result.hodl[i:],
                   trades=trades, liquidation_bar=max(-1, result.liquidation_bar - i),
                   settings={**result.settings, "start_bar": 0})  # fmt: skip


def stitch(request: BacktestRequest, segments: Sequence[BacktestResult]) -> BacktestResult:
    """Chain out-of-sample segments: each starts with the equity the previous one ended with."""
    cash = request.initial_cash
    capital = cash
    hodl_capital = cash
    ts: list[np.ndarray] = []
    equity: list[np.ndarray] = []
    hodl: list[np.ndarray] = []
    trades: list[BacktestTrade] = []
    warnings: list[str] = []
    fees = funding = 0.0
    liquidated, liq_bar, offset = False, -1, 0
    for seg in segments:
        factor = capital / seg.initial_cash
        hodl_factor = hodl_capital / seg.initial_cash
        ts.append(seg.ts)
        equity.append(seg.equity * factor)
        hodl.append(seg.hodl * hodl_factor)
        for t in seg.trades:
            trades.append(replace(t, entry_bar=t.entry_bar + offset, exit_bar=t.exit_bar + offset,
                                  qty=t.qty * factor, pnl=t.pnl * factor, fees=t.fees * factor,
                                  funding=t.funding * factor, risk_amount=t.risk_amount * factor))  # fmt: skip
        fees += seg.fees_paid * factor
        funding += seg.funding_paid * factor
        if seg.liquidated and not liquidated:
            liquidated, liq_bar = True, seg.liquidation_bar + offset
        warnings.extend(seg.warnings)
        if seg.equity.size:
            capital = float(seg.equity[-1]) * factor
            hodl_capital = float(seg.hodl[-1]) * hodl_factor
        offset += int(seg.ts.size)
    return BacktestResult(
        engine=segments[0].engine if segments else request.engine, strategy=request.strategy,
        params={}, symbols=request.symbols, timeframe=request.timeframe, initial_cash=cash,
        ts=np.concatenate(ts) if ts else np.zeros(0, np.int64),
        equity=np.concatenate(equity) if equity else np.zeros(0),
        hodl=np.concatenate(hodl) if hodl else np.zeros(0), trades=tuple(trades),
        fees_paid=fees, funding_paid=funding, liquidated=liquidated, liquidation_bar=liq_bar,
        warnings=tuple(dict.fromkeys(warnings)),
        settings={**(segments[0].settings if segments else {}), "walk_forward": True},
    )  # fmt: skip
