"""The research service: resolve data, run, report, index. The CLI, the console lab and the
calibrator call this, not the engines directly.

    service = BacktestService(config)
    outcomes = service.run(BacktestOptions())               # the config's strategies, universe
    outcomes = service.run(BacktestOptions(symbols=("BTCUSDT",), timeframe="15m"))

Data:
- no symbols: each strategy's universe from the config (its domains' symbols and its own);
  synthetic indices of a sim venue come from a deterministic generated history (the sim
  venue's own generators, seeded from the venue's seed), anything else from the candle store;
- `symbols`: looked up in the candle store under any venue (or `venue`), whether or not the
  config lists them; a synthetic index not in the store is generated.
Funding of perpetuals comes from the funding store (`tradeterm data import --kind funding`).
Bars stored twice for one time are refused (file and timestamp named); gaps become warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tradeterm.backtest.engines import (
    BacktestRequest,
    EngineName,
    FundingSeries,
    MarginMode,
    MarketRules,
    ParamValue,
    run_backtest,
    run_grid,
)
from tradeterm.backtest.index import RunIndex, RunRecord
from tradeterm.backtest.metrics import Metrics, compute_metrics, trading_period
from tradeterm.backtest.reports import DataFingerprint, fingerprint, iso, write_report
from tradeterm.backtest.result import BacktestResult
from tradeterm.backtest.slippage import fitted_slippage
from tradeterm.charts import Chart, price_chart
from tradeterm.config.models import SimVenueConfig, TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import TIMEFRAME_MS, timeframe_ms
from tradeterm.errors import UserError
from tradeterm.marketdata.funding import FundingStore, funding_root
from tradeterm.marketdata.store import CandleStore
from tradeterm.strategies.registry import default_registry

DEFAULT_HISTORY_BARS = 3000
"""Bars after the warm-up of a generated synthetic history when no range is given."""
PERP_KINDS = frozenset({"binance_futures", "bybit", "deribit"})

Progress = Callable[[str, int, int], None]
"""progress(what, done, total): called as runs start and finish."""


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    """What to backtest; empty fields fall back to the config (see the module text)."""

    strategies: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    venue: str = ""
    timeframe: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    days: float | None = None
    engine: EngineName = "vector"
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    grid: Mapping[str, Sequence[ParamValue]] = field(default_factory=dict)
    leverage: float = 1.0
    margin: MarginMode = "isolated"
    cash: float | None = None
    domain: Domain | None = None
    history_bars: int = DEFAULT_HISTORY_BARS
    walk_forward: bool = False
    splits: int = 5
    is_ratio: float = 0.7
    wf_mode: Literal["rolling", "anchored"] = "rolling"
    wf_metric: str = "calmar"
    report: bool = True
    slippage: Literal["configured", "fitted"] = "configured"
    """'fitted': price the run with the per-pair slippage fitted from recorded fills."""
    live_windows: bool = False
    """Event engine: strategies on their rolling windows and every bar played, as live."""


@dataclass(frozen=True, slots=True)
class DataSet:
    """Bars (and funding) resolved for one run."""

    timeframe: str
    bars: dict[str, BarSeries]
    funding: dict[str, FundingSeries]
    markets: dict[str, MarketRules]
    domain: Domain
    venue: str
    source: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunSpec:
    strategy: str
    params: dict[str, ParamValue]
    data: DataSet


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One finished (indexed, reported) run; `grid` holds every row of a grid search and
    `walkforward` the walk-forward report when one was asked for."""

    run_id: int
    result: BacktestResult
    metrics: Metrics
    report: Path | None
    data: DataFingerprint
    grid: tuple[tuple[dict[str, ParamValue], Metrics], ...] = ()
    walkforward: Any = None
    metric: str = "calmar"
    """The metric that chose the grid row or the walk-forward parameters."""
    slippage: dict[str, Any] = field(default_factory=dict)
    """Which slippage model priced the run (configured, or fitted with its per-pair fits)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.run_id, "strategy": self.result.strategy,
            "symbols": list(self.result.symbols), "timeframe": self.result.timeframe,
            "engine": self.result.engine, "params": self.result.params,
            "final_equity": self.metrics.final_equity, "trade_count": self.metrics.trade_count,
            "metrics": self.metrics.to_dict(), "warnings": list(self.result.warnings),
            "report": str(self.report) if self.report else None, "data": self.data.to_dict(),
            "slippage": self.slippage,
        }  # fmt: skip
        if self.grid:
            out["grid"] = [{"params": p, **m.to_dict()} for p, m in self.grid]
        if self.walkforward is not None:
            out["walk_forward"] = self.walkforward.to_dict()
        return out


def _strategy_name(key: str, configured: str) -> str:
    return configured or key


class BacktestService:
    def __init__(
        self,
        config: TradetermConfig,
        *,
        state_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir or config.storage.state_dir)
        self.reports_dir = Path(reports_dir or config.storage.reports_dir)
        self.progress = progress or (lambda _what, _done, _total: None)
        self.candles = CandleStore(self.state_dir / "candles")
        self.funding = FundingStore(funding_root(self.state_dir))

    # ---- planning --------------------------------------------------------------------------
    def plan(self, options: BacktestOptions) -> list[RunSpec]:
        """The runs `options` asks for, data resolved (UserError naming what is missing)."""
        if options.timeframe and options.timeframe not in TIMEFRAME_MS:
            known = ", ".join(TIMEFRAME_MS)
            raise UserError(
                f"--timeframe: unknown timeframe '{options.timeframe}' (known: {known})"
            )
        registry = default_registry()
        names = set(registry.names())
        for name in options.strategies:
            if name not in names:
                raise UserError(
                    f"--strategy: unknown strategy '{name}' (known: {', '.join(sorted(names))})"
                )
        specs: list[RunSpec] = []
        for name, tfs, universe, params in self._strategy_targets(options):
            symbols = options.symbols or universe
            timeframe = options.timeframe or self._stored_timeframe(options, tfs[0])
            if not symbols:
                raise UserError(
                    f"--symbol: strategy '{name}' has no symbols in the config; give --symbol"
                )
            data = self.resolve_data(symbols, timeframe, options, strategy=name, params=params)
            specs.append(RunSpec(name, {**params, **options.params}, data))
        if not specs:
            raise UserError("--strategy: no enabled strategies in the config; name one")
        return specs

    def _strategy_targets(
        self, options: BacktestOptions
    ) -> list[tuple[str, list[str], tuple[str, ...], dict[str, ParamValue]]]:
        cfg = self.config
        out: list[tuple[str, list[str], tuple[str, ...], dict[str, ParamValue]]] = []
        seen: set[str] = set()
        for key, sc in cfg.strategies.items():
            name = _strategy_name(key, sc.strategy)
            if options.strategies and name not in options.strategies:
                continue
            if not sc.enabled and not options.strategies:
                continue
            if name in seen:
                continue
            seen.add(name)
            universe: list[str] = []
            for domain in sc.domains:
                dc = cfg.domains.get(domain)
                if dc is not None:
                    universe.extend(dc.symbols)
            universe.extend(s.split(":", 1)[-1] for s in sc.symbols)
            out.append((name, list(sc.timeframes), tuple(dict.fromkeys(universe)), dict(sc.params)))
        for name in options.strategies:  # asked for, not configured: the sim universe
            if name not in seen:
                universe = [s for dc in cfg.domains.values() for s in dc.symbols]
                out.append((name, ["5m"], tuple(dict.fromkeys(universe)), {}))
        return out

    def _stored_timeframe(self, options: BacktestOptions, default: str) -> str:
        """With --symbol and no --timeframe: the timeframe the store holds every symbol in
        (the strategy's own when several fit; `default` when none is stored)."""
        if not options.symbols:
            return default
        common: set[str] | None = None
        for symbol in options.symbols:
            tfs = {
                tf
                for v, s, tf in self.candles.series()
                if s == symbol and self._venue_ok(v, options.venue)
            }
            common = tfs if common is None else common & tfs
        if not common:
            return default
        if default in common or len(common) > 1:
            if default in common:
                return default
            raise UserError(
                f"--symbol {', '.join(options.symbols)}: stored in several timeframes "
                f"({', '.join(sorted(common))}); choose one with --timeframe"
            )
        return next(iter(common))

    def _venue_ok(self, stored: str, wanted: str) -> bool:
        return not wanted or stored == wanted or self._venue_kind(stored) == wanted

    # ---- data ------------------------------------------------------------------------------
    def _sim_venue(self) -> tuple[str, SimVenueConfig] | None:
        for name, venue in self.config.venues.items():
            if isinstance(venue, SimVenueConfig):
                return name, venue
        return None

    def _warmup(self, strategy: str, params: Mapping[str, ParamValue], timeframe: str) -> int:
        from tradeterm.strategies.runner import required_bars

        registry = default_registry()
        cls = registry.get(strategy)
        built = registry.build_params(strategy, dict(params))
        return int(required_bars(cls, built, timeframe=timeframe))

    def _range(self, options: BacktestOptions, timeframe: str) -> tuple[int | None, int | None]:
        start, end = options.start_ms, options.end_ms
        if options.days is not None:
            if options.days <= 0:
                raise UserError(f"--days {options.days:g} must be positive")
            anchor = end if end is not None else None
            if anchor is None:
                return None, None  # resolved against the data's end below
            start = anchor - int(options.days * 86_400_000)
        if start is not None and end is not None and start >= end:
            raise UserError(f"--from {iso(start)} is not before --to {iso(end)}")
        return start, end

    def resolve_data(
        self,
        symbols: Sequence[str],
        timeframe: str,
        options: BacktestOptions,
        *,
        strategy: str = "",
        params: Mapping[str, ParamValue] | None = None,
    ) -> DataSet:
        """Bars of `symbols` at `timeframe`: the candle store first, generated synthetic
        history for sim indices the store does not hold."""
        from tradeterm.testing.histories import DEFAULT_END_MS, synthetic_history
        from tradeterm.venues.sim.catalog import index_spec

        bars: dict[str, BarSeries] = {}
        funding: dict[str, FundingSeries] = {}
        markets: dict[str, MarketRules] = {}
        sources: list[str] = []
        venues: set[str] = set()
        sim = self._sim_venue()
        warmup = self._warmup(strategy, params or {}, timeframe) if strategy else 0
        for symbol in symbols:
            found = self._find_in_store(symbol, timeframe, options.venue)
            spec = index_spec(symbol)
            if found is not None:
                venue, series, path_text = found
                series = self._window(series, options, timeframe, warmup)
                sources.append(f"{symbol}: candle store {path_text}")
                venues.add(venue)
                rates = self.funding.read(venue, symbol)
                if rates is not None:
                    funding[symbol] = FundingSeries(rates.ts, rates.rate)
            elif spec is not None and sim is not None and options.venue in ("", sim[0], "sim"):
                bar_ms = timeframe_ms(timeframe)
                end = options.end_ms if options.end_ms is not None else DEFAULT_END_MS
                if options.start_ms is not None:
                    count = max(2, (end - options.start_ms) // bar_ms) + warmup
                elif options.days is not None:
                    count = int(options.days * 86_400_000 // bar_ms) + warmup
                else:
                    count = options.history_bars + warmup
                series = synthetic_history(
                    symbol, timeframe, int(count), seed=sim[1].seed, end_ms=end
                )
                sources.append(f"{symbol}: generated {sim[0]} history (seed {sim[1].seed})")
                venues.add(sim[0])
                markets[symbol] = MarketRules(
                    tick_size=spec.pip, lot_step=spec.lot_step, min_notional=1.0
                )
            else:
                raise UserError(self._not_found(symbol, timeframe, options.venue))
            if len(series) < 2:
                raise UserError(
                    f"--symbol {symbol}: only {len(series)} {timeframe} bars in the chosen range"
                )
            bars[symbol] = series
        domain = options.domain or self._domain(symbols, venues, funding)
        return DataSet(
            timeframe=timeframe, bars=bars, funding=funding, markets=markets, domain=domain,
            venue=",".join(sorted(venues)), source="; ".join(sources),
        )  # fmt: skip

    def _domain(
        self, symbols: Sequence[str], venues: set[str], funding: Mapping[str, FundingSeries]
    ) -> Domain:
        from tradeterm.venues.sim.catalog import index_spec

        if all(index_spec(s) is not None for s in symbols):
            return Domain.SYNTHETICS
        if funding:
            return Domain.CRYPTO_PERP
        kinds = {self._venue_kind(v) for v in venues}
        return Domain.CRYPTO_PERP if kinds & PERP_KINDS else Domain.CRYPTO_SPOT

    def _venue_kind(self, venue: str) -> str:
        configured = self.config.venues.get(venue)
        return configured.kind if configured is not None else venue

    def _window(
        self, series: BarSeries, options: BacktestOptions, timeframe: str, warmup: int = 0
    ) -> BarSeries:
        """The bars of the asked range, plus up to `warmup` bars before it that only warm the
        strategy up (it trades from the range's start when the history is deep enough)."""
        start, end = self._range(options, timeframe)
        if options.days is not None and start is None and len(series):
            end_ms = int(series.open_ms[-1]) + timeframe_ms(timeframe)
            start = end_ms - int(options.days * 86_400_000)
        lo = 0 if start is None else int(np.searchsorted(series.open_ms, start, "left"))
        lo = max(0, lo - max(0, warmup - 1))
        hi = len(series) if end is None else int(np.searchsorted(series.open_ms, end, "left"))
        if lo == 0 and hi == len(series):
            return series
        return series.slice(slice(lo, hi))

    def _not_found(self, symbol: str, timeframe: str, venue: str) -> str:
        stored = [f"{v}:{s} {tf}" for v, s, tf in self.candles.series() if s == symbol]
        where = f" under venue '{venue}'" if venue else ""
        if stored:
            return (f"--symbol {symbol}: no {timeframe} bars{where} in the candle store "
                    f"(stored: {', '.join(stored)}); pick one with --timeframe/--venue")  # fmt: skip
        return (f"--symbol {symbol}: not in the candle store{where} ({self.candles.root}); "
                f"import it with `tradeterm data import FILE --venue V --symbol {symbol} "
                f"--timeframe {timeframe}`")  # fmt: skip

    def _find_in_store(
        self, symbol: str, timeframe: str, venue: str
    ) -> tuple[str, BarSeries, str] | None:
        matches = [
            (v, s, tf)
            for v, s, tf in self.candles.series()
            if s == symbol
            and tf == timeframe
            and (not venue or v == venue or self._venue_kind(v) == venue)
        ]
        if not matches:
            return None
        if len(matches) > 1:
            names = ", ".join(v for v, _, _ in matches)
            raise UserError(
                f"--symbol {symbol}: stored under several venues ({names}); choose one with --venue"
            )
        v, s, tf = matches[0]
        return (
            v,
            read_refusing_duplicates(self.candles, v, s, tf),
            str(self.candles.series_dir(v, s, tf)),
        )

    # ---- running ---------------------------------------------------------------------------
    def request(self, spec: RunSpec, options: BacktestOptions) -> BacktestRequest:
        data = spec.data
        return BacktestRequest(
            strategy=spec.strategy, timeframe=data.timeframe, bars=data.bars,
            params=spec.params, config=self.config, funding=data.funding, domain=data.domain,
            markets=data.markets, leverage=options.leverage, margin=options.margin,
            engine=options.engine, cash=options.cash, live_windows=options.live_windows,
        )  # fmt: skip

    def run(self, options: BacktestOptions) -> list[RunOutcome]:
        """Plan, then run, report and index every run; a failing run is indexed as failed and
        its error raised."""
        specs = self.plan(options)
        if options.slippage == "fitted":  # refuse (exit 2) before any run is indexed
            for spec in specs:
                fitted_slippage(self.state_dir, spec.data.venue, tuple(spec.data.bars))
        outcomes = []
        with RunIndex.open(self.state_dir) as index:
            for i, spec in enumerate(specs):
                self.progress(
                    f"{spec.strategy} {','.join(spec.data.bars)} {spec.data.timeframe}",
                    i,
                    len(specs),
                )
                outcomes.append(self._run_one(index, spec, options))
            self.progress("done", len(specs), len(specs))
        return outcomes

    def _run_one(self, index: RunIndex, spec: RunSpec, options: BacktestOptions) -> RunOutcome:
        data = spec.data
        kind = "walkforward" if options.walk_forward else "grid" if options.grid else "backtest"
        fp = fingerprint(data.bars, data.timeframe, data.source)
        run_id = index.add(RunRecord(
            strategy=spec.strategy, symbols=tuple(data.bars), timeframe=data.timeframe,
            engine=options.engine, params={**spec.params, **{f"grid.{k}": list(v) for k, v in options.grid.items()}},
            kind=kind, start_ms=fp.start_ms, end_ms=fp.end_ms,
        ))  # fmt: skip
        index.start(run_id)
        try:
            outcome = self._execute(spec, options, fp, run_id, kind)
        except BaseException as exc:
            index.fail(run_id, f"{type(exc).__name__}: {exc}")
            raise
        index.finish(run_id, outcome.metrics.to_dict(), outcome.report or "")
        return outcome

    def _execute(
        self, spec: RunSpec, options: BacktestOptions, fp: DataFingerprint, run_id: int, kind: str
    ) -> RunOutcome:
        request = self.request(spec, options)
        if options.slippage == "fitted":
            bps, used = fitted_slippage(self.state_dir, spec.data.venue, tuple(spec.data.bars))
            request = replace(request, slippage_bps=bps)
        else:
            used = {"model": "configured", "fill_slippage_bps": request.fill_model().slippage_bps}
        grid_rows: tuple[tuple[dict[str, ParamValue], Metrics], ...] = ()
        wf = None
        charts: dict[str, Chart] = {}
        if options.walk_forward:
            from tradeterm.backtest.walkforward import WalkForwardSettings, walk_forward
            from tradeterm.charts import walkforward_chart

            wf = walk_forward(request, WalkForwardSettings(
                splits=options.splits, is_ratio=options.is_ratio, mode=options.wf_mode,
                metric=options.wf_metric, grid=dict(options.grid)))  # fmt: skip
            result = wf.stitched
            charts["walkforward"] = walkforward_chart(
                [str(s.index + 1) for s in wf.splits],
                [s.is_score for s in wf.splits],
                [s.oos_score for s in wf.splits],
                metric=options.wf_metric,
            )
        elif options.grid:
            rows = run_grid(request, options.grid)
            scored = [(row.params, compute_metrics(row.result), row.result) for row in rows]
            grid_rows = tuple((p, m) for p, m, _ in scored)
            best = max(scored, key=lambda t: score_of(t[1], options.wf_metric))
            result = best[2]
        else:
            result = run_backtest(request)
        result = replace(
            result, warnings=tuple(dict.fromkeys((*data_notes(spec.data), *result.warnings)))
        )
        result = trading_period(result)  # reports and charts start where trading can
        metrics = compute_metrics(result)
        if len(result.symbols) == 1:
            symbol = result.symbols[0]
            series = spec.data.bars[symbol]
            stops, targets = planned_levels(spec, series, result)
            charts["price"] = price_chart(series.open_ms, series.close, result.trades, symbol,
                                          stops=stops, targets=targets)  # fmt: skip
        report = None
        if options.report:
            extra: dict[str, Any] = {
                "run_id": run_id,
                "source": spec.data.source,
                "slippage": used,
            }
            if grid_rows:
                extra["grid"] = [{"params": p, **m.to_dict()} for p, m in grid_rows]
            if wf is not None:
                extra["walk_forward"] = wf.to_dict()
            report = write_report(result, metrics, self.reports_dir, config=self.config, data=fp,
                                  extra_charts=charts, kind=kind, extra=extra)  # fmt: skip
        return RunOutcome(
            run_id, result, metrics, report, fp, grid_rows, wf, options.wf_metric, used
        )


def planned_levels(
    spec: RunSpec, series: BarSeries, result: BacktestResult
) -> tuple[list[float | None], list[float | None]]:
    """Per trade, the stop loss and take profit its signal planned (the signal bar is the bar
    before the entry fill at the next open); None where no signal of that side is found."""
    from tradeterm.strategies.runner import vector_signals

    registry = default_registry()
    frame = vector_signals(registry.get(spec.strategy),
                           registry.build_params(spec.strategy, dict(spec.params)), series,
                           timeframe=spec.data.timeframe)  # fmt: skip
    stops: list[float | None] = []
    targets: list[float | None] = []
    for trade in result.trades:
        row = int(np.searchsorted(series.open_ms, trade.entry_ms, "right")) - 2
        if 0 <= row < len(frame) and int(frame.side[row]) == trade.side:
            stops.append(float(frame.stop_loss[row]))
            targets.append(float(frame.take_profit[row]))
        else:
            stops.append(None)
            targets.append(None)
    return stops, targets


def score_of(metrics: Metrics, name: str) -> float:
    """The named metric for ranking: undefined (None) ranks lowest."""
    value = metrics.to_dict().get(name)
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else float("-inf")
    )


def data_notes(data: DataSet) -> list[str]:
    return list(data.warnings)


def read_refusing_duplicates(
    store: CandleStore, venue: str, symbol: str, timeframe: str
) -> BarSeries:
    """The stored series, refusing any bar time stored twice (UserError naming the file and the
    timestamp); the store's own reader would quietly keep one of them."""
    from tradeterm.marketdata.store import _read_day_file

    seen: dict[int, Path] = {}
    for _day, path in store.day_files(venue, symbol, timeframe):
        ts = _read_day_file(path).open_ms
        uniq, counts = np.unique(ts, return_counts=True)
        if bool((counts > 1).any()):
            t = int(uniq[np.argmax(counts > 1)])
            raise UserError(
                f"{path}: duplicate bar at ts {t} ({iso(t)}); fix or re-import the file"
            )
        for t in ts.tolist():
            if t in seen:
                raise UserError(f"{path}: bar at ts {t} ({iso(t)}) is also in {seen[t]}")
            seen[t] = path
    return store.read(venue, symbol, timeframe)
