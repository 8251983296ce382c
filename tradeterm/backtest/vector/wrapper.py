"""The vector engine's typed wrapper: a BacktestRequest becomes flat numpy arrays, one call of
`nb.simulate_nb` (or `nb.simulate_grid_nb` for a parameter grid), and a BacktestResult.

Signals come from the strategy's vectorised contract (`vector_signals`: the whole history in one
call, the same rows the live runner emits bar by bar). The rules, their order and the fills are
the node's (see `nb.py`), so this engine and the event engine agree trade for trade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.plan import RunPlan, data_warnings, plan_run
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.backtest.vector import nb
from tradeterm.backtest.vector.records import EXIT_REASONS, order_dt, trade_dt
from tradeterm.domain.calendar import parse_weekly_cutoff
from tradeterm.domain.enums import ContractKind
from tradeterm.domain.margin import default_brackets
from tradeterm.errors import UserError
from tradeterm.execution.executors import DEFAULT_FUNDING_RATE
from tradeterm.risk.memory import cooldown_ms
from tradeterm.risk.sizing import KELLY_MIN_TRADES, bars_per_year
from tradeterm.strategies.base import SignalFrame
from tradeterm.strategies.runner import vector_signals
from tradeterm.venues.sim.generators import decimals_of

if TYPE_CHECKING:
    from tradeterm.backtest.engines import BacktestRequest, GridRow, ParamValue

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MarketArrays:
    """Every symbol's bars flattened in symbol order, with the play order of the run."""

    open_ms: I64
    open: F64
    high: F64
    low: F64
    close: F64
    sym: npt.NDArray[np.int32]
    prev_bar: I64
    grp_bounds: I64
    grp_bars: I64
    offsets: I64


def market_arrays(plan: RunPlan) -> MarketArrays:
    """Flatten the plan's bars; group them by open time (one group per axis entry), symbols in
    order within a group; `prev_bar[b]` is the same symbol's previous bar (-1 for its first)."""
    series = [plan.bars[s] for s in plan.symbols]
    lengths = np.array([len(b) for b in series], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    open_ms = np.concatenate([b.open_ms for b in series]).astype(np.int64)
    sym = np.repeat(np.arange(len(series), dtype=np.int32), lengths)
    prev_bar = np.arange(open_ms.shape[0], dtype=np.int64) - 1
    prev_bar[offsets[:-1]] = -1
    order = np.lexsort((sym, open_ms)).astype(np.int64)
    starts = np.searchsorted(open_ms[order], plan.axis, side="left")
    grp_bounds = np.append(starts, open_ms.shape[0]).astype(np.int64)
    return MarketArrays(
        open_ms=open_ms,
        open=np.concatenate([b.open for b in series]),
        high=np.concatenate([b.high for b in series]),
        low=np.concatenate([b.low for b in series]),
        close=np.concatenate([b.close for b in series]),
        sym=sym,
        prev_bar=prev_bar,
        grp_bounds=grp_bounds,
        grp_bars=order,
        offsets=offsets,
    )


def symbol_params(plan: RunPlan) -> F64:
    """Per symbol: the instrument's increments and minimums, the replay feed's quote rule, the
    cost model and the leverage limit the risk engine applies."""
    P = np.zeros((len(plan.symbols), nb.NP), dtype=np.float64)
    for k, symbol in enumerate(plan.symbols):
        inst = plan.instruments[symbol]
        model = plan.costs[symbol]
        tick = plan.sources[symbol].tick_size
        P[k, nb.P_CS] = inst.contract_size
        P[k, nb.P_LOT] = inst.lot_step
        P[k, nb.P_QDEC] = inst.qty_decimals
        P[k, nb.P_MIN_QTY] = inst.min_qty
        P[k, nb.P_MIN_NOTIONAL] = inst.min_notional
        P[k, nb.P_TICK] = inst.tick_size
        P[k, nb.P_PDEC] = inst.price_decimals
        P[k, nb.P_HS] = tick
        P[k, nb.P_SCALE] = float(10 ** decimals_of(tick))
        P[k, nb.P_TAKER] = model.taker_fee_rate
        P[k, nb.P_MAKER] = model.maker_fee_rate
        P[k, nb.P_SLIP_BPS] = model.slippage_bps
        P[k, nb.P_SLIP_ATR] = model.slippage_atr
        P[k, nb.P_FUND8H] = model.funding_rate_8h
        P[k, nb.P_PERP] = 1.0 if inst.kind is ContractKind.PERPETUAL else 0.0
        P[k, nb.P_SHORTABLE] = 1.0 if inst.shortable else 0.0
        P[k, nb.P_LEV] = min(plan.risk.max_leverage, max(1.0, inst.max_leverage))
        P[k, nb.P_DEFAULT_HS] = inst.half_spread or model.half_spread
    return P


def run_settings(plan: RunPlan) -> tuple[F64, I64]:
    """The risk, execution and allocator settings the kernel reads (floats, integers)."""
    risk, ex = plan.risk, plan.execution
    alloc = plan.request.config.allocator
    C = np.zeros(nb.NC, dtype=np.float64)
    C[nb.C_POS_FRAC] = risk.position_size
    C[nb.C_RISK_FRAC] = risk.max_risk_per_trade
    C[nb.C_KELLY_CAP] = risk.kelly_fraction_cap
    C[nb.C_MAX_PAIR] = risk.max_pair_exposure
    C[nb.C_MAX_PORT] = risk.max_portfolio_exposure
    C[nb.C_DAILY_CAP] = risk.daily_loss_cap
    C[nb.C_SYMBOL_CAP] = risk.symbol_loss_cap
    C[nb.C_MAX_DD] = risk.max_drawdown
    C[nb.C_MIN_RR] = risk.min_reward_risk
    C[nb.C_MIN_STOP_COST] = risk.min_stop_cost_multiple
    C[nb.C_HOLD_HOURS] = risk.funding_hold_hours
    C[nb.C_MAX_STOP_ATR] = risk.max_stop_atr
    C[nb.C_VOL_TARGET] = risk.vol_target_annual
    C[nb.C_BARS_PER_YEAR] = bars_per_year(plan.timeframe)
    C[nb.C_TRAIL_ATR] = ex.trailing_stop_atr
    C[nb.C_HALFLIFE] = alloc.decay_halflife_days
    C[nb.C_FILL_SLIP] = plan.fill_model.slippage_bps / 10_000.0
    C[nb.C_DEFAULT_FUND] = DEFAULT_FUNDING_RATE
    I = np.zeros(nb.NI, dtype=np.int64)  # noqa: E741
    I[nb.I_COOL_LOSSES] = risk.cooldown_losses
    I[nb.I_COOL_MS] = cooldown_ms(risk)
    I[nb.I_MAX_OPEN] = risk.max_open_positions
    I[nb.I_MAX_HOLD_MS] = round(risk.max_hold_minutes * 60_000)
    I[nb.I_TIME_STOP_BARS] = ex.time_stop_bars
    I[nb.I_BAR_MS] = plan.bar_ms
    I[nb.I_GRACE_MS] = round(ex.stop_grace_s * 1000)
    I[nb.I_WEEKEND_CUTOFF] = (
        parse_weekly_cutoff(risk.weekend_cutoff_utc) if risk.avoid_weekend_carry else -1
    )
    I[nb.I_FLATTEN_KILL] = int(risk.flatten_on_kill)
    I[nb.I_RESTING] = int(ex.resting_stops)
    I[nb.I_VOL_SIZING] = int(risk.sizing == "vol_target")
    I[nb.I_FUNDING_ON] = int(ex.funding)
    I[nb.I_FILL_CLOSE] = int(plan.request.fill == "close")
    I[nb.I_WORST] = int(plan.request.intrabar == "worst")
    I[nb.I_CROSS] = int(plan.request.margin == "cross")
    I[nb.I_T0] = plan.t0
    I[nb.I_KELLY_MIN] = KELLY_MIN_TRADES
    I[nb.I_LIQUIDATION] = 1
    I[nb.I_LEARNING] = int(alloc.learning)
    return C, I


def funding_arrays(plan: RunPlan) -> tuple[I64, F64, I64]:
    """Every symbol's funding series flattened (symbol order), with offsets."""
    ts: list[I64] = []
    rates: list[F64] = []
    offsets = [0]
    for symbol in plan.symbols:
        found = plan.funding.get(symbol)
        if found is not None:
            ts.append(found.ts.astype(np.int64))
            rates.append(found.rate.astype(np.float64))
            offsets.append(offsets[-1] + found.ts.shape[0])
        else:
            offsets.append(offsets[-1])
    flat_ts = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
    flat_rates = np.concatenate(rates) if rates else np.zeros(0, dtype=np.float64)
    return flat_ts, flat_rates, np.asarray(offsets, dtype=np.int64)


def check_vector_settings(plan: RunPlan) -> None:
    """UserError for settings only the event engine models."""
    ex, fm = plan.execution, plan.fill_model
    if ex.entry_order != "market":
        raise UserError(
            "the vector engine enters with market orders; execution.entry_order = 'limit' "
            "needs --engine event"
        )
    if fm.partial_fill_prob > 0 or fm.latency_ms > 0:
        raise UserError(
            "the vector engine fills whole orders at once; a fill model with partial fills or "
            "latency needs --engine event"
        )
    if plan.request.config.allocator.max_concurrent_per_symbol != 1:
        raise UserError(
            "the vector engine holds one position per symbol "
            "(allocator.max_concurrent_per_symbol must be 1)"
        )


def signal_frames(plan: RunPlan) -> list[SignalFrame]:
    """The strategy's signals for every symbol (one frame per symbol, symbol order)."""
    params = plan.params
    return [
        vector_signals(plan.strategy, params, plan.bars[s], timeframe=plan.timeframe)
        for s in plan.symbols
    ]


def _flat_signals(frames: Sequence[SignalFrame]) -> tuple[npt.NDArray[np.int8], F64, F64, F64, F64]:
    return (
        np.concatenate([f.side for f in frames]).astype(np.int8),
        np.concatenate([f.entry for f in frames]),
        np.concatenate([f.stop_loss for f in frames]),
        np.concatenate([f.take_profit for f in frames]),
        np.concatenate([f.atr for f in frames]),
    )


def _capacity(side: npt.NDArray[np.int8], nsym: int) -> int:
    return int(np.count_nonzero(side)) + nsym + 1


def _result(
    plan: RunPlan,
    trades: npt.NDArray[np.void],
    wallet: F64,
    equity: F64,
    params: dict[str, float | int | bool | str],
) -> BacktestResult:
    n = int(wallet[nb.W_NTRADES])
    rows = []
    for t in trades[:n]:
        rows.append(
            BacktestTrade(
                symbol=plan.symbols[int(t["symbol"])],
                side=int(t["side"]),
                entry_bar=int(t["entry_bar"]),
                exit_bar=int(t["exit_bar"]),
                entry_ms=int(t["entry_ms"]),
                exit_ms=int(t["exit_ms"]),
                qty=float(t["qty"]),
                entry_price=float(t["entry_price"]),
                exit_price=float(t["exit_price"]),
                pnl=float(t["pnl"]),
                fees=float(t["fees"]),
                funding=float(t["funding"]),
                risk_amount=float(t["risk_amount"]),
                r_multiple=float(t["r_multiple"]),
                exit_reason=EXIT_REASONS[int(t["reason"])],
                strategy=plan.instance,
            )
        )
    rows.sort(key=lambda t: (t.entry_ms, t.symbol))
    liq_bar = int(wallet[nb.W_LIQ_BAR])
    warnings = data_warnings(plan)
    if liq_bar >= 0:
        warnings.append(f"liquidated at bar {liq_bar} ({plan.request.margin} margin)")
    return BacktestResult(
        engine="vector",
        strategy=plan.request.strategy,
        params=params,
        symbols=plan.symbols,
        timeframe=plan.timeframe,
        initial_cash=plan.request.initial_cash,
        ts=plan.axis,
        equity=equity,
        hodl=plan.hodl(),
        trades=tuple(rows),
        fees_paid=float(wallet[nb.W_FEES]),
        funding_paid=float(wallet[nb.W_FUNDING]),
        liquidated=liq_bar >= 0,
        liquidation_bar=liq_bar,
        warnings=tuple(warnings),
        settings=plan.settings(),
    )


def _simulate(plan: RunPlan, frames: Sequence[SignalFrame], cash: float) -> BacktestResult:
    m = market_arrays(plan)
    side, entry, stop, tp, atr = _flat_signals(frames)
    fund_ts, fund_rate, fund_off = funding_arrays(plan)
    C, I = run_settings(plan)  # noqa: E741
    floors, rates, cums = default_brackets()
    cap = _capacity(side, len(plan.symbols))
    trades = np.zeros(cap, dtype=trade_dt)
    orders = np.zeros(2 * cap, dtype=order_dt)
    equity = np.zeros(plan.axis.shape[0], dtype=np.float64)
    wallet = nb.simulate_nb(
        m.open_ms, m.open, m.high, m.low, m.close, m.sym, side, entry, stop, tp, atr,
        m.grp_bounds, m.grp_bars, m.prev_bar, fund_ts, fund_rate, fund_off,
        symbol_params(plan), C, I, floors, rates, cums, cash, trades, orders, equity,
    )  # fmt: skip
    return _result(plan, trades, wallet, equity, dict(plan.params.model_dump()))


def simulate_frames(plan: RunPlan, frames: Sequence[SignalFrame]) -> BacktestResult:
    """The plan run on given signal frames (one per symbol, symbol order) instead of its
    strategy's: for tools and tests that make their own signals. One wallet for all symbols."""
    check_vector_settings(plan)
    return _simulate(plan, frames, plan.request.initial_cash)


def run_vector(request: BacktestRequest) -> BacktestResult:
    """One backtest on the vector engine."""
    plan = plan_run(request)
    check_vector_settings(plan)
    if plan.request.cash_sharing or len(plan.symbols) == 1:
        return _simulate(plan, signal_frames(plan), request.initial_cash)
    return _per_symbol(plan)


def _per_symbol(plan: RunPlan) -> BacktestResult:
    """A wallet per symbol: each symbol trades its share of the cash alone; equity is the sum."""
    from dataclasses import replace

    req = plan.request
    share = req.initial_cash / len(plan.symbols)
    parts = []
    for symbol in plan.symbols:
        sub = replace(req, bars={symbol: req.bars[symbol]}, cash=share, start=None)
        sub_plan = plan_run(replace(sub, start=_start_for(plan, symbol)))
        parts.append(_simulate(sub_plan, signal_frames(sub_plan), share))
    equity = np.zeros(plan.axis.shape[0], dtype=np.float64)
    for part in parts:
        at = np.searchsorted(part.ts, plan.axis, side="right") - 1
        equity += np.where(at >= 0, part.equity[np.maximum(at, 0)], part.initial_cash)
    trades = sorted(
        (
            replace(t, entry_bar=plan.bar_index(t.entry_ms), exit_bar=plan.bar_index(t.exit_ms))
            for p in parts
            for t in p.trades
        ),
        key=lambda t: (t.entry_ms, t.symbol),
    )
    return BacktestResult(
        engine="vector",
        strategy=req.strategy,
        params=dict(plan.params.model_dump()),
        symbols=plan.symbols,
        timeframe=plan.timeframe,
        initial_cash=req.initial_cash,
        ts=plan.axis,
        equity=equity,
        hodl=plan.hodl(),
        trades=tuple(trades),
        fees_paid=sum(p.fees_paid for p in parts),
        funding_paid=sum(p.funding_paid for p in parts),
        liquidated=any(p.liquidated for p in parts),
        liquidation_bar=min((plan.bar_index(int(p.ts[p.liquidation_bar])) for p in parts
                             if p.liquidated), default=-1),
        warnings=tuple(w for p in parts for w in p.warnings),
        settings=plan.settings(),
    )  # fmt: skip


def _start_for(plan: RunPlan, symbol: str) -> int:
    """The first tradeable bar of one symbol: its first bar at or after the run's start time."""
    return int(np.searchsorted(plan.bars[symbol].open_ms, plan.t0, side="left"))


def run_vector_grid(
    request: BacktestRequest, combos: Sequence[dict[str, ParamValue]]
) -> list[GridRow]:
    """Every parameter set of `combos` in one kernel call (signals computed per set)."""
    from dataclasses import replace

    from tradeterm.backtest.engines import GridRow

    if not combos:
        return []
    plans = [plan_run(replace(request, params=combo)) for combo in combos]
    base = plans[0]
    check_vector_settings(base)
    if not request.cash_sharing and len(base.symbols) > 1:
        return [GridRow(combo, run_vector(replace(request, params=combo))) for combo in combos]
    starts = {p.t0 for p in plans}
    if len(starts) > 1:  # parameter sets with different warm-ups: each from its own start
        return [GridRow(c, _simulate(p, signal_frames(p), request.initial_cash))
                for c, p in zip(combos, plans, strict=True)]  # fmt: skip
    flats = [_flat_signals(signal_frames(p)) for p in plans]
    side = np.stack([f[0] for f in flats])
    entry, stop, tp, atr = (np.stack([f[i] for f in flats]) for i in range(1, 5))
    m = market_arrays(base)
    fund_ts, fund_rate, fund_off = funding_arrays(base)
    C, I = run_settings(base)  # noqa: E741
    floors, rates, cums = default_brackets()
    cap = max(_capacity(s, len(base.symbols)) for s in side)
    trades = np.zeros((len(combos), cap), dtype=trade_dt)
    orders = np.zeros((len(combos), 2 * cap), dtype=order_dt)
    equity = np.zeros((len(combos), base.axis.shape[0]), dtype=np.float64)
    wallets = np.zeros((len(combos), nb.NW), dtype=np.float64)
    nb.simulate_grid_nb(
        m.open_ms, m.open, m.high, m.low, m.close, m.sym, side, entry, stop, tp, atr,
        m.grp_bounds, m.grp_bars, m.prev_bar, fund_ts, fund_rate, fund_off,
        symbol_params(base), C, I, floors, rates, cums, request.initial_cash, trades, orders,
        equity, wallets,
    )  # fmt: skip
    return [
        GridRow(combo, _result(p, trades[i], wallets[i], equity[i], dict(p.params.model_dump())))
        for i, (combo, p) in enumerate(zip(combos, plans, strict=True))
    ]
