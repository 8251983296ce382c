"""What a BacktestRequest means concretely, worked out once for every engine: the symbols in play
order, the instruments they trade as (the sim venue's replay instruments), their cost models, the
run's time axis, the first bar that may signal, the risk and execution settings.

The vector engine and the event engine both start from the same `RunPlan`, so they cannot
disagree on an increment, a fee rate or where the warm-up ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tradeterm.backtest.engines import BacktestRequest, FundingSeries, MarketRules
from tradeterm.backtest.result import F64, I64
from tradeterm.config.models import (
    ExecutionConfig,
    FillModelConfig,
    ReplaySourceConfig,
    RiskConfig,
)
from tradeterm.domain.costs import CostModel
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import UserError
from tradeterm.strategies.base import StrategyClass, StrategyParams
from tradeterm.strategies.registry import build_params, get_strategy
from tradeterm.strategies.runner import required_bars
from tradeterm.venues.factory import fill_model_costs
from tradeterm.venues.sim.replay import replay_instrument

VENUE = "sim"
"""The venue name every backtest trades on (the event engine's sim venue)."""

MAX_TICK_DECIMALS = 8


def price_tick(bars: BarSeries) -> float:
    """The finest price increment the bars use (at most 8 decimals): bid and ask sit one of
    these either side of the price, as the replay feed quotes a series."""
    prices = np.concatenate((bars.open, bars.high, bars.low, bars.close))
    for decimals in range(MAX_TICK_DECIMALS + 1):
        if bool(np.all(np.round(prices, decimals) == prices)):
            return float(10.0**-decimals)
    return float(10.0**-MAX_TICK_DECIMALS)


def _check_bars(symbol: str, bars: BarSeries, bar_ms: int, timeframe: str) -> None:
    steps = np.diff(bars.open_ms)
    if bool((steps <= 0).any()):
        i = int(np.argmax(steps <= 0)) + 1
        what = "duplicate" if steps[i - 1] == 0 else "out-of-order"
        raise UserError(f"backtest: {symbol}: {what} bar at ts {int(bars.open_ms[i])} (bar {i})")
    off = bars.open_ms % bar_ms
    if bool(off.any()):
        i = int(np.argmax(off != 0))
        raise UserError(
            f"backtest: {symbol}: bar {i} opens at ts {int(bars.open_ms[i])}, not on a "
            f"{timeframe} boundary (UTC-aligned open times are needed)"
        )


@dataclass(frozen=True)
class RunPlan:
    """A request worked out: see the module text. `start` indexes `axis`; bars opening before
    `t0 = axis[start]` only warm the strategy up."""

    request: BacktestRequest
    symbols: tuple[str, ...]
    bars: Mapping[str, BarSeries]
    timeframe: str
    bar_ms: int
    axis: I64
    start: int
    strategy: StrategyClass
    params: StrategyParams
    sources: Mapping[str, ReplaySourceConfig]
    instruments: Mapping[str, Instrument]
    costs: Mapping[str, CostModel]
    fill_model: FillModelConfig
    risk: RiskConfig
    execution: ExecutionConfig
    funding: Mapping[str, FundingSeries]

    @property
    def t0(self) -> int:
        return int(self.axis[self.start]) if self.start < self.axis.shape[0] else 2**62

    @property
    def instance(self) -> str:
        """The strategy instance name (the allocator arm is instance x market)."""
        return self.strategy.name

    def key(self, symbol: str) -> str:
        return f"{VENUE}:{symbol}"

    def bar_index(self, ts_ms: int) -> int:
        """The axis index of the bar containing `ts_ms`."""
        return int(np.searchsorted(self.axis, ts_ms, side="right")) - 1

    def hodl(self) -> F64:
        """Buy and hold of the starting cash from the first tradeable bar, equal weights,
        no costs (each symbol's last close carried over its gaps); the cash before."""
        cash = self.request.initial_cash
        out = np.full(self.axis.shape[0], cash, dtype=np.float64)
        if self.start >= self.axis.shape[0]:
            return out
        growth = np.zeros(self.axis.shape[0], dtype=np.float64)
        for symbol in self.symbols:
            bars = self.bars[symbol]
            at = np.searchsorted(bars.open_ms, self.axis, side="right") - 1
            closes = np.where(at >= 0, bars.close[np.maximum(at, 0)], np.nan)
            base_i = int(np.searchsorted(bars.open_ms, self.t0, side="left"))
            base = float(bars.open[base_i]) if base_i < len(bars) else np.nan
            ratio = np.where(np.isfinite(closes), closes / base, 1.0)
            growth += np.nan_to_num(ratio, nan=1.0)
        tail = slice(self.start, None)
        out[tail] = cash * growth[tail] / len(self.symbols)
        return out

    def settings(self) -> dict[str, float | int | bool | str]:
        req = self.request
        fm = self.fill_model
        return {
            "engine": req.engine,
            "fill": req.fill,
            "intrabar": req.intrabar,
            "leverage": req.leverage,
            "margin": req.margin,
            "cash_sharing": req.cash_sharing,
            "domain": req.domain.value,
            "start_bar": self.start,
            "start_ms": self.t0,
            "taker_fee_rate": fm.taker_fee_rate,
            "maker_fee_rate": fm.maker_fee_rate,
            "slippage_bps": fm.slippage_bps,
        }


def _source(
    symbol: str, bars: BarSeries, rules: MarketRules, request: BacktestRequest, timeframe: str
) -> ReplaySourceConfig:
    tick = rules.tick_size if rules.tick_size is not None else price_tick(bars)
    return ReplaySourceConfig(
        symbol=symbol,
        path="(bars in memory)",
        timeframe=timeframe,
        domain=request.domain,
        speed=1.0,
        tick_size=tick,
        lot_step=rules.lot_step,
        min_notional=rules.min_notional,
        loop=False,
        max_leverage=request.leverage,
    )


def plan_run(request: BacktestRequest) -> RunPlan:
    """Work a request out (UserError naming what is wrong with its bars or settings)."""
    timeframe = request.timeframe
    try:
        bar_ms = timeframe_ms(timeframe)
    except ValueError as exc:
        raise UserError(f"backtest: {exc}") from None
    symbols = request.symbols
    for symbol in symbols:
        _check_bars(symbol, request.bars[symbol], bar_ms, timeframe)
    strategy = get_strategy(request.strategy)
    params = build_params(request.strategy, dict(request.params))
    axis = np.unique(np.concatenate([request.bars[s].open_ms for s in symbols]))
    need = required_bars(strategy, params, timeframe=timeframe)
    start = request.start if request.start is not None else max(1, need - 1)
    if start < 1:
        raise UserError("backtest: start must be at least bar 1 (bar 0 has nothing before it)")
    sources = {
        s: _source(s, request.bars[s], request.markets.get(s, MarketRules()), request, timeframe)
        for s in symbols
    }
    instruments = {s: replay_instrument(VENUE, src) for s, src in sources.items()}
    fill_model = request.fill_model()
    config = request.config
    risk = config.risk.model_copy(update={"max_leverage": request.leverage})
    return RunPlan(
        request=request,
        symbols=symbols,
        bars={s: request.bars[s] for s in symbols},
        timeframe=timeframe,
        bar_ms=bar_ms,
        axis=axis.astype(np.int64),
        start=min(start, int(axis.shape[0])),
        strategy=strategy,
        params=params,
        sources=sources,
        instruments=instruments,
        costs={s: fill_model_costs(fill_model, i) for s, i in instruments.items()},
        fill_model=fill_model,
        risk=risk,
        execution=config.execution.model_copy(
            update={"confirm": "never", "paper_margin_mode": request.margin}
        ),
        funding={s: f for s, f in request.funding.items() if s in symbols},
    )


def data_warnings(plan: RunPlan) -> list[str]:
    """What the user must know about the data: missing bars per symbol (gaps stay gaps)."""
    out = []
    for symbol in plan.symbols:
        steps = np.diff(plan.bars[symbol].open_ms) // plan.bar_ms
        missing = int(np.sum(steps - 1))
        if missing > 0:
            gaps = int(np.count_nonzero(steps > 1))
            out.append(f"{symbol}: {missing} missing bars in {gaps} gaps (not filled)")
    return out
