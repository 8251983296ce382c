"""Performance metrics of one backtest, pure numpy.

    metrics = compute_metrics(result)          # periods per year from the bar spacing
    metrics.calmar, metrics.to_dict()          # to_dict: JSON-ready, no NaN or inf

Definitions (risk-free rate 0; a year is 365 days, markets here trade every day):

- per-bar returns r come from the equity curve with the starting cash in front, so the first
  bar's move counts: r_i = e_i / e_{i-1} - 1 with e_{-1} = initial cash;
- total_return = final / initial - 1; cagr = (final / initial) ** (1 / years) - 1 with
  years = bars / periods_per_year;
- volatility = std(r, ddof=1) * sqrt(ppy); sharpe = mean(r) / std(r, ddof=1) * sqrt(ppy);
  sortino = mean(r) * ppy / (sqrt(mean(min(r, 0) ** 2)) * sqrt(ppy));
- max_drawdown = max(1 - e / running peak) as a positive fraction (the peak starts at the initial
  cash); max_drawdown_duration_ms is the longest time from a peak to the bar the curve is back
  at it (or to the last bar while still under water);
- mar = cagr / max_drawdown over the whole run; calmar = the same over the last 36 months of
  the run (the whole run when shorter);
- win_rate, expectancy (mean net pnl), expectancy_r (mean R over trades that planned a risk),
  profit_factor = gross_profit / gross_loss (gross_loss positive);
- exposure = share of bars with at least one position open (entry bar to exit bar inclusive);
- hodl_return = the buy-and-hold benchmark's final / initial - 1 over the same bars.

A metric that is undefined (no trades, zero volatility, zero drawdown, one bar) is None, never
NaN or inf, so rankings and JSON never meet a NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from tradeterm.backtest.result import BacktestResult

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

YEAR_MS = 365 * 24 * 3_600_000
CALMAR_WINDOW_MS = 3 * YEAR_MS


@dataclass(frozen=True, slots=True)
class Metrics:
    """Headline numbers of one run; None where a number is undefined (see the module doc)."""

    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration_ms: int
    calmar: float | None
    mar: float | None
    win_rate: float | None
    expectancy: float | None
    expectancy_r: float | None
    profit_factor: float | None
    gross_profit: float
    gross_loss: float
    exposure: float
    trade_count: int
    avg_hold_ms: float | None
    best_trade: float | None
    worst_trade: float | None
    fees_paid: float
    funding_paid: float
    liquidated: bool
    liquidation_bar: int | None
    hodl_return: float | None
    final_equity: float
    initial_cash: float
    bar_count: int
    periods_per_year: float | None
    start_ms: int
    end_ms: int

    def to_dict(self) -> dict[str, float | int | bool | None]:
        """JSON-ready: floats that are NaN or infinite become None."""
        out: dict[str, float | int | bool | None] = {}
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                out[name] = None
            else:
                out[name] = value
        return out


def trading_period(result: BacktestResult) -> BacktestResult:
    """The run from its first tradeable bar (`settings["start_bar"]`, as the engines record it)
    on: the warm-up bars, flat at the starting cash, dropped; trades and the liquidation bar
    re-indexed. A result without a start bar comes back unchanged."""
    from dataclasses import replace

    start = int(result.settings.get("start_bar", 0) or 0)
    if start <= 0 or start >= result.ts.size:
        return result
    trades = tuple(
        replace(t, entry_bar=t.entry_bar - start, exit_bar=t.exit_bar - start)
        for t in result.trades
    )
    liq = result.liquidation_bar - start if result.liquidation_bar >= 0 else -1
    return replace(
        result, ts=result.ts[start:], equity=result.equity[start:], hodl=result.hodl[start:],
        trades=trades, liquidation_bar=liq, settings={**result.settings, "start_bar": 0},
    )  # fmt: skip


def compute_metrics(result: BacktestResult, *, periods_per_year: float | None = None) -> Metrics:
    """Every metric of `result` over its trading period (see `trading_period`: the warm-up bars
    do not dilute returns, volatility or exposure); `periods_per_year` inferred from the bar
    spacing when None."""
    result = trading_period(result)
    equity = np.asarray(result.equity, dtype=np.float64)
    ts = np.asarray(result.ts, dtype=np.int64)
    initial = float(result.initial_cash)
    ppy = periods_per_year if periods_per_year is not None else infer_periods_per_year(ts)
    final = float(equity[-1]) if equity.size else initial
    curve = np.concatenate(([initial], equity))
    returns = _returns(curve)
    total_return = final / initial - 1.0
    max_dd, dd_ms = drawdown_stats(equity, ts, initial)
    cagr = _cagr(initial, final, equity.size, ppy)
    trades = _trade_stats(result)
    return Metrics(
        total_return=total_return,
        cagr=cagr,
        volatility=_volatility(returns, ppy),
        sharpe=_sharpe(returns, ppy),
        sortino=_sortino(returns, ppy),
        max_drawdown=max_dd,
        max_drawdown_duration_ms=dd_ms,
        calmar=_calmar(equity, ts, initial, ppy),
        mar=_ratio(cagr, max_dd),
        exposure=exposure(result),
        fees_paid=float(result.fees_paid),
        funding_paid=float(result.funding_paid),
        liquidated=bool(result.liquidated),
        liquidation_bar=int(result.liquidation_bar) if result.liquidated else None,
        hodl_return=_hodl_return(result),
        final_equity=final,
        initial_cash=initial,
        bar_count=int(equity.size),
        periods_per_year=ppy,
        start_ms=result.start_ms,
        end_ms=result.end_ms,
        **trades,
    )


def infer_periods_per_year(ts: I64) -> float | None:
    """Bars per 365-day year from the median spacing of `ts` (None with fewer than 2 bars)."""
    if ts.size < 2:
        return None
    step = float(np.median(np.diff(ts)))
    return YEAR_MS / step if step > 0 else None


def drawdown_series(equity: F64, initial: float) -> F64:
    """Drawdown per bar as a positive fraction below the running peak (peak starts at initial)."""
    if equity.size == 0:
        return np.zeros(0)
    peak = np.maximum.accumulate(np.concatenate(([initial], equity)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - equity / peak, 0.0)
    return np.maximum(dd, 0.0)


def drawdown_stats(equity: F64, ts: I64, initial: float) -> tuple[float, int]:
    """(max drawdown fraction, longest peak-to-recovery time in ms)."""
    dd = drawdown_series(equity, initial)
    if dd.size == 0:
        return 0.0, 0
    max_dd = float(dd.max())
    longest = 0
    peak_i = 0
    under = False
    for i in range(dd.size):
        if dd[i] <= 0.0:
            if under:
                longest = max(longest, int(ts[i] - ts[peak_i]))
            peak_i, under = i, False
        else:
            under = True
    if under:
        longest = max(longest, int(ts[-1] - ts[peak_i]))
    return max_dd, longest


def exposure(result: BacktestResult) -> float:
    """Share of the run's bars with at least one position open."""
    n = int(result.equity.size)
    if n == 0 or not result.trades:
        return 0.0
    held = np.zeros(n, dtype=np.bool_)
    for t in result.trades:
        lo = max(int(t.entry_bar), 0)
        hi = min(int(t.exit_bar), n - 1)
        if hi >= lo:
            held[lo : hi + 1] = True
    return float(held.mean())


def _returns(curve: F64) -> F64:
    if curve.size < 2:
        return np.zeros(0)
    prev = curve[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev != 0, curve[1:] / prev - 1.0, 0.0)
    return np.asarray(r, dtype=np.float64)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _ratio(num: float | None, den: float) -> float | None:
    if num is None or den <= 0.0:
        return None
    return _finite(num / den)


def _cagr(initial: float, final: float, bars: int, ppy: float | None) -> float | None:
    if ppy is None or bars == 0 or initial <= 0:
        return None
    if final <= 0:
        return -1.0
    years = bars / ppy
    return _finite((final / initial) ** (1.0 / years) - 1.0)


def _std(returns: F64) -> float | None:
    if returns.size < 2:
        return None
    sd = float(np.std(returns, ddof=1))
    return sd if sd > 1e-15 else None


def _volatility(returns: F64, ppy: float | None) -> float | None:
    if ppy is None or returns.size < 2:
        return None
    return float(np.std(returns, ddof=1)) * math.sqrt(ppy)


def _sharpe(returns: F64, ppy: float | None) -> float | None:
    sd = _std(returns)
    if ppy is None or sd is None:
        return None
    return _finite(float(returns.mean()) / sd * math.sqrt(ppy))


def _sortino(returns: F64, ppy: float | None) -> float | None:
    if ppy is None or returns.size < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside <= 1e-15:
        return None
    return _finite(float(returns.mean()) / downside * math.sqrt(ppy))


def _calmar(equity: F64, ts: I64, initial: float, ppy: float | None) -> float | None:
    """CAGR over max drawdown of the last 36 months (the whole run when shorter)."""
    if equity.size == 0:
        return None
    first = int(np.searchsorted(ts, ts[-1] - CALMAR_WINDOW_MS, side="left"))
    start_cash = initial if first == 0 else float(equity[first - 1])
    window = equity[first:]
    max_dd, _ = drawdown_stats(window, ts[first:], start_cash)
    return _ratio(_cagr(start_cash, float(window[-1]), window.size, ppy), max_dd)


def _hodl_return(result: BacktestResult) -> float | None:
    hodl = np.asarray(result.hodl, dtype=np.float64)
    if hodl.size == 0 or result.initial_cash <= 0:
        return None
    return _finite(float(hodl[-1]) / float(result.initial_cash) - 1.0)


class _TradeStats(TypedDict):
    win_rate: float | None
    expectancy: float | None
    expectancy_r: float | None
    profit_factor: float | None
    gross_profit: float
    gross_loss: float
    trade_count: int
    avg_hold_ms: float | None
    best_trade: float | None
    worst_trade: float | None


def _trade_stats(result: BacktestResult) -> _TradeStats:
    trades = result.trades
    pnl = np.asarray([t.pnl for t in trades], dtype=np.float64)
    gross_profit = float(pnl[pnl > 0].sum()) if pnl.size else 0.0
    gross_loss = float(-pnl[pnl < 0].sum()) if pnl.size else 0.0
    if not trades:
        return {
            "win_rate": None, "expectancy": None, "expectancy_r": None,
            "profit_factor": None, "gross_profit": 0.0, "gross_loss": 0.0,
            "trade_count": 0, "avg_hold_ms": None, "best_trade": None, "worst_trade": None,
        }  # fmt: skip
    r = np.asarray([t.r_multiple for t in trades if t.risk_amount > 0], dtype=np.float64)
    r = r[np.isfinite(r)]
    hold = np.asarray([t.exit_ms - t.entry_ms for t in trades], dtype=np.float64)
    return {
        "win_rate": float((pnl > 0).mean()),
        "expectancy": float(pnl.mean()),
        "expectancy_r": float(r.mean()) if r.size else None,
        "profit_factor": _ratio(gross_profit, gross_loss),
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "trade_count": len(trades),
        "avg_hold_ms": float(hold.mean()),
        "best_trade": float(pnl.max()),
        "worst_trade": float(pnl.min()),
    }
