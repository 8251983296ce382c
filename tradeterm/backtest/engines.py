"""The one programmatic entry point to every backtest engine.

    request = BacktestRequest(strategy="ema_trend", timeframe="15m", bars={"BTCUSDT": series},
                              config=config, engine="vector")
    result = run_backtest(request)                       # -> BacktestResult
    rows = run_grid(request, {"fast": [8, 12], "slow": [48, 96]})   # -> list[GridRow]

Every engine trades the same rules: the request's config gives the costs (the fill model of the
venue `request.venue`, else the sim default), the risk limits and the execution settings; the
strategy's signals go through the risk gate (sizing, caps, loss limits, no martingale), fill as
the paper matching engine fills, and are protected by resting stop-market and take-profit
orders. `engine` chooses how:

- "vector": the numba kernels of `tradeterm.backtest.vector` (fast; grids in one call);
- "event": the real node (`build_node` on a SimClock) replaying the bars through the sim venue;
- "backtrader": backtrader's Cerebro driven by the same signal frame (the rules it can express).

Fills: `fill="next_open"` (default; the signal is decided at the bar close and the order fills
on the next tick, the next bar's open) or `"close"` (vector only: at the signal bar's close).
Inside a bar the price walks open -> low/high -> high/low -> close (a bullish bar dips first),
as the sim venue's replay feed plays it; `intrabar="worst"` (vector only) assumes the stop was
hit first whenever a bar touches both the stop and the target.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.result import BacktestResult
from tradeterm.config.models import FillModelConfig, SimVenueConfig, TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.errors import UserError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

EngineName = Literal["vector", "event", "backtrader"]
FillTiming = Literal["next_open", "close"]
Intrabar = Literal["path", "worst"]
MarginMode = Literal["isolated", "cross"]
ParamValue = float | int | bool | str
ENGINES: tuple[str, ...] = ("vector", "event", "backtrader")


@dataclass(frozen=True, slots=True)
class FundingSeries:
    """Funding rates of one perpetual: `ts` (epoch ms, as the source stamps them) and `rate`
    per 8 hours as a fraction of notional (longs pay a positive rate, shorts receive it).

    The rate charged at an 8-hour boundary is the last one stamped at or before the boundary
    plus a minute (sources stamp a few ms late); before the first one, the default rate."""

    ts: I64
    rate: F64

    def __post_init__(self) -> None:
        if self.ts.shape != self.rate.shape:
            raise ValueError("FundingSeries: ts and rate must have the same length")


@dataclass(frozen=True, slots=True)
class MarketRules:
    """How one replayed symbol trades: price increment (bid and ask sit one tick either side of
    the price, as the sim venue's replay feed quotes them; None: the finest increment the prices
    use, at most 8 decimals), quantity increment and the smallest order value."""

    tick_size: float | None = None
    lot_step: float = 0.001
    min_notional: float = 5.0


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """One backtest: a strategy with parameters over bars of one timeframe for one or more
    symbols, under a config's costs and risk limits.

    strategy: a registered strategy name; params: overrides of its defaults.
    bars: per symbol, closed bars of `timeframe` (UTC-aligned open times, oldest first).
    funding: per perpetual symbol, its funding series (missing: the default 0.01% per 8 h).
    domain: the domain the symbols trade in (crypto_perp: perpetuals with funding and shorts;
    crypto_spot: long only; synthetics: synthetic indices).
    venue: the configured venue whose fill model gives fees and slippage (default: the first
    sim venue of the config, else the sim defaults).
    cash: starting equity (default: config.wallets.paper_balance).
    leverage: the most notional / equity on a perpetual (risk.max_leverage and the instrument);
    margin: isolated or cross, for liquidation (vector engine).
    start: the first bar that may signal (bars before it only warm the strategy up; default:
    the strategy's lookback). Applies to every symbol by time: bars opening before
    bars[first symbol].open_ms[start] are warm-up.
    cash_sharing: one wallet for every symbol (True, as the node trades a domain) or a wallet
    per symbol (vector engine; equity is then their sum).
    """

    strategy: str
    timeframe: str
    bars: Mapping[str, BarSeries]
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    config: TradetermConfig = field(default_factory=TradetermConfig)
    funding: Mapping[str, FundingSeries] = field(default_factory=dict)
    domain: Domain = Domain.CRYPTO_PERP
    venue: str = ""
    markets: Mapping[str, MarketRules] = field(default_factory=dict)
    cash: float | None = None
    leverage: float = 1.0
    margin: MarginMode = "isolated"
    engine: EngineName = "vector"
    fill: FillTiming = "next_open"
    intrabar: Intrabar = "path"
    start: int | None = None
    cash_sharing: bool = True
    slippage_bps: float | None = None
    """Slippage of the run's fills and gate in bps (`--slippage fitted`); None: the config's."""
    live_windows: bool = False
    """Event engine: evaluate the strategy on its rolling window at every bar close and hand the
    node every tick, exactly as live (slower; the same trades). False: the strategy is
    evaluated once over the history (the same rows, see tradeterm.strategies.runner) and the
    replay skips the bars where the node has nothing to do (tradeterm.backtest.event)."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols in the order ties are played (the sim venue's: sorted by name)."""
        return tuple(sorted(self.bars))

    @property
    def initial_cash(self) -> float:
        return float(self.cash if self.cash is not None else self.config.wallets.paper_balance)

    def fill_model(self) -> FillModelConfig:
        """The fill model (fees, slippage) the run is priced with."""
        venues = self.config.venues
        chosen = venues.get(self.venue) if self.venue else None
        if chosen is None:
            chosen = next((v for v in venues.values() if isinstance(v, SimVenueConfig)), None)
        model = chosen.fill_model if isinstance(chosen, SimVenueConfig) else FillModelConfig()
        if self.slippage_bps is not None:
            model = model.model_copy(update={"slippage_bps": self.slippage_bps})
        return model

    def with_params(self, params: Mapping[str, ParamValue]) -> BacktestRequest:
        """The same request with other parameter overrides."""
        return replace(self, params=dict(params))


@dataclass(frozen=True, slots=True)
class GridRow:
    """One combination of a parameter grid and its result."""

    params: dict[str, ParamValue]
    result: BacktestResult


def check_request(request: BacktestRequest) -> None:
    """UserError naming what is wrong with a request (engine, bars, settings)."""
    if request.engine not in ENGINES:
        raise UserError(f"unknown engine '{request.engine}' (known: {', '.join(ENGINES)})")
    if not request.bars:
        raise UserError("backtest: no bars given")
    for symbol, series in request.bars.items():
        if len(series) < 2:
            raise UserError(f"backtest: {symbol} has {len(series)} bars; at least 2 are needed")
    if request.engine != "vector":
        if request.fill != "next_open" or request.intrabar != "path":
            raise UserError(
                f"the {request.engine} engine fills as the live node does (next open, the "
                "replay tick path); fill='close' and intrabar='worst' are vector-engine settings"
            )
        if not request.cash_sharing:
            raise UserError(f"the {request.engine} engine trades one wallet per domain")
    if not 1.0 <= request.leverage <= 125.0:
        raise UserError(f"leverage {request.leverage:g} is outside 1..125")
    if request.initial_cash <= 0:
        raise UserError(f"starting cash {request.initial_cash:g} must be positive")


_HEAP_FROZEN = False


def freeze_startup_heap() -> None:
    """Once per process, after its first backtest: move every object alive then to the garbage
    collector's permanent generation (`gc.freeze`). They are the process's start-up heap (the
    modules, numba's type registries and compiled dispatchers: some 130,000 objects) and live
    until exit anyway; later collections, and the interpreter's exit, no longer walk them. The
    exit of a one-backtest process drops from ~0.35 s to ~0.03 s (bench/RESULTS.md). Frozen
    objects are still freed when nothing refers to them; only reference cycles that were
    already garbage at that moment are kept, once."""
    global _HEAP_FROZEN
    if not _HEAP_FROZEN:
        _HEAP_FROZEN = True
        import gc

        gc.freeze()


def run_backtest(request: BacktestRequest) -> BacktestResult:
    """Run one backtest on the engine the request names."""
    check_request(request)
    if request.engine == "vector":
        from tradeterm.backtest.vector.wrapper import run_vector

        result = run_vector(request)
        freeze_startup_heap()
        return result
    if request.engine == "event":
        from tradeterm.backtest.event import run_event

        return run_event(request)
    from tradeterm.backtest.peer import run_backtrader

    return run_backtrader(request)


def grid_combinations(
    grid: Mapping[str, Sequence[ParamValue]], combine: Literal["product", "zip"] = "product"
) -> list[dict[str, ParamValue]]:
    """The parameter sets of a grid, in a fixed order: the cartesian product of the lists (last
    name varies fastest), or the lists zipped (all the same length)."""
    names = list(grid)
    values = [list(grid[name]) for name in names]
    if any(not v for v in values):
        empty = next(n for n, v in zip(names, values, strict=True) if not v)
        raise UserError(f"grid: no values for '{empty}'")
    if combine == "zip":
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise UserError("grid: zipped parameter lists must have the same length")
        return [dict(zip(names, combo, strict=True)) for combo in zip(*values, strict=True)]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def run_grid(
    request: BacktestRequest,
    grid: Mapping[str, Sequence[ParamValue]],
    *,
    combine: Literal["product", "zip"] = "product",
) -> list[GridRow]:
    """Every combination of `grid` (overriding the request's params), one row each, in the
    order of `grid_combinations`. The vector engine runs them all in one compiled call; other
    engines run one backtest per row. Deterministic: the same request gives the same rows."""
    combos = [{**request.params, **combo} for combo in grid_combinations(grid, combine)]
    check_request(request)
    if request.engine == "vector":
        from tradeterm.backtest.vector.wrapper import run_vector_grid

        return run_vector_grid(request, combos)
    return [GridRow(combo, run_backtest(request.with_params(combo))) for combo in combos]
