"""Golden metrics on small fixed series, every number worked out by hand in the comments."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tradeterm.backtest.metrics import Metrics, compute_metrics, infer_periods_per_year
from tradeterm.backtest.result import BacktestResult, BacktestTrade

DAY = 86_400_000


def trade(
    pnl: float, entry_bar: int, exit_bar: int, risk: float = 0.0, **kw: object
) -> BacktestTrade:
    fields: dict[str, object] = {
        "symbol": "X", "side": 1, "entry_bar": entry_bar, "exit_bar": exit_bar,
        "entry_ms": entry_bar * DAY, "exit_ms": exit_bar * DAY, "qty": 1.0,
        "entry_price": 100.0, "exit_price": 100.0 + pnl, "pnl": pnl, "fees": 0.0,
        "funding": 0.0, "risk_amount": risk, "r_multiple": pnl / risk if risk else 0.0,
        "exit_reason": "take_profit" if pnl > 0 else "stop_loss",
    }  # fmt: skip
    fields.update(kw)
    return BacktestTrade(**fields)  # type: ignore[arg-type]


def result(
    equity: list[float],
    trades: tuple[BacktestTrade, ...] = (),
    hodl: list[float] | None = None,
    step_ms: int = DAY,
    **kw: object,
) -> BacktestResult:
    eq = np.asarray(equity, dtype=np.float64)
    return BacktestResult(
        engine="vector", strategy="s", params={}, symbols=("X",), timeframe="1d",
        initial_cash=100.0, ts=np.arange(eq.size, dtype=np.int64) * step_ms, equity=eq,
        hodl=np.asarray(hodl if hodl is not None else [100.0] * eq.size, dtype=np.float64),
        trades=trades, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def small() -> Metrics:
    # initial 100 -> 110, 99, 99, 121: returns 0.1, -0.1, 0, 2/9 (the first bar's move counts)
    trades = (
        trade(15.0, 0, 1, risk=5.0, fees=1.0),  # +3R, held one day
        trade(-6.0, 1, 1, risk=6.0),  # -1R, in and out inside bar 1
        trade(12.0, 3, 3),  # no planned risk: left out of expectancy_r
    )
    return compute_metrics(
        result([110.0, 99.0, 99.0, 121.0], trades, hodl=[100.0, 105.0, 95.0, 102.0],
               fees_paid=1.0, funding_paid=-0.5)
    )  # fmt: skip


def test_returns_volatility_sharpe_sortino(small: Metrics) -> None:
    assert small.periods_per_year == pytest.approx(365.0)
    assert small.total_return == pytest.approx(0.21)
    # years = 4 / 365; CAGR = 1.21 ** (365 / 4) - 1
    assert small.cagr == pytest.approx(1.21 ** (365 / 4) - 1, rel=1e-9)
    # mean = (0.1 - 0.1 + 0 + 0.2222222) / 4 = 0.0555556
    # deviations^2 = 0.00197531 + 0.02419753 + 0.00308642 + 0.02777778 = 0.05703704
    # std (ddof 1) = sqrt(0.05703704 / 3) = 0.1378853
    assert small.volatility == pytest.approx(0.1378853 * math.sqrt(365), rel=1e-6)
    assert small.sharpe == pytest.approx(0.0555556 / 0.1378853 * math.sqrt(365), rel=1e-5)
    # downside deviation = sqrt((0 + 0.01 + 0 + 0) / 4) = 0.05
    assert small.sortino == pytest.approx(0.0555556 / 0.05 * math.sqrt(365), rel=1e-5)


def test_drawdown_mar_calmar(small: Metrics) -> None:
    # peak 110 at bar 0; 99 is 10% below; back to (above) the peak at bar 3
    assert small.max_drawdown == pytest.approx(0.1)
    assert small.max_drawdown_duration_ms == 3 * DAY
    assert small.cagr is not None
    assert small.mar == pytest.approx(small.cagr / 0.1)
    assert small.calmar == pytest.approx(small.mar)  # a run shorter than 36 months


def test_trade_statistics(small: Metrics) -> None:
    assert small.trade_count == 3
    assert small.win_rate == pytest.approx(2 / 3)
    assert small.expectancy == pytest.approx(7.0)  # (15 - 6 + 12) / 3
    assert small.expectancy_r == pytest.approx(1.0)  # (3 - 1) / 2
    assert small.gross_profit == pytest.approx(27.0)
    assert small.gross_loss == pytest.approx(6.0)
    assert small.profit_factor == pytest.approx(4.5)
    assert small.best_trade == pytest.approx(15.0)
    assert small.worst_trade == pytest.approx(-6.0)
    assert small.avg_hold_ms == pytest.approx(DAY / 3)
    assert small.exposure == pytest.approx(0.75)  # bars 0, 1 and 3 of 4
    assert small.fees_paid == pytest.approx(1.0)
    assert small.funding_paid == pytest.approx(-0.5)
    assert small.hodl_return == pytest.approx(0.02)
    assert small.final_equity == pytest.approx(121.0)
    assert not small.liquidated and small.liquidation_bar is None


def test_no_trades_flat_equity_gives_none_not_nan() -> None:
    m = compute_metrics(result([100.0] * 5))
    assert m.trade_count == 0 and m.exposure == 0.0
    assert m.win_rate is None and m.expectancy is None and m.profit_factor is None
    assert m.best_trade is None and m.avg_hold_ms is None
    assert m.volatility == 0.0
    assert m.sharpe is None and m.sortino is None  # zero volatility
    assert m.max_drawdown == 0.0 and m.max_drawdown_duration_ms == 0
    assert m.calmar is None and m.mar is None  # zero drawdown
    assert m.cagr == pytest.approx(0.0)
    text = json.dumps(m.to_dict(), allow_nan=False)
    assert '"trade_count": 0' in text


def test_only_winners_only_losers() -> None:
    wins = compute_metrics(result([101.0, 103.0], (trade(1.0, 0, 0), trade(2.0, 1, 1))))
    assert wins.profit_factor is None and wins.gross_loss == 0.0 and wins.win_rate == 1.0
    assert wins.max_drawdown == 0.0 and wins.calmar is None
    assert wins.sortino is None  # no downside
    losses = compute_metrics(result([99.0, 97.0], (trade(-1.0, 0, 0), trade(-2.0, 1, 1))))
    assert losses.profit_factor == 0.0 and losses.win_rate == 0.0
    # peak is the starting cash: 97 is 3% under it, still under water at the end
    assert losses.max_drawdown == pytest.approx(0.03)
    assert losses.max_drawdown_duration_ms == DAY


def test_calmar_uses_the_last_36_months_mar_the_whole_run() -> None:
    n = 4 * 365 + 1  # bar 1460 is the last; the 36-month window starts at bar 365
    eq = np.full(n, 100.0)
    eq[100:200] = 50.0  # a 50% drawdown in the first year only
    eq[365:800] = 150.0
    eq[800:900] = 135.0  # 10% under the 150 peak
    eq[900:] = 200.0
    m = compute_metrics(result(list(eq)))
    assert m.max_drawdown == pytest.approx(0.5)
    assert m.max_drawdown_duration_ms == 101 * DAY  # last at the peak on bar 99, back on bar 200
    assert m.mar == pytest.approx((2.0 ** (365 / n) - 1) / 0.5)
    # window: starts from equity[364] = 100, 1096 bars, ends at 200, worst drawdown 10%
    assert m.calmar == pytest.approx((2.0 ** (365 / 1096) - 1) / 0.1)


def test_liquidation_and_ruin() -> None:
    m = compute_metrics(result([80.0, 0.0, 0.0], liquidated=True, liquidation_bar=1))
    assert m.liquidated and m.liquidation_bar == 1
    assert m.total_return == pytest.approx(-1.0)
    assert m.cagr == -1.0
    assert m.max_drawdown == pytest.approx(1.0)
    json.dumps(m.to_dict(), allow_nan=False)


def test_periods_per_year_from_bar_spacing_or_given() -> None:
    ts = np.arange(10, dtype=np.int64) * 900_000  # 15m
    assert infer_periods_per_year(ts) == pytest.approx(365 * 96)
    assert infer_periods_per_year(ts[:1]) is None
    m = compute_metrics(result([110.0, 99.0, 99.0, 121.0]), periods_per_year=252.0)
    assert m.periods_per_year == 252.0
    assert m.cagr == pytest.approx(1.21 ** (252 / 4) - 1)


def test_to_dict_replaces_non_finite() -> None:
    m = compute_metrics(result([110.0, 120.0], hodl=[100.0, float("nan")]))
    d = m.to_dict()
    assert d["hodl_return"] is None
    assert set(d) >= {"final_equity", "trade_count", "calmar", "sharpe", "max_drawdown"}
    json.dumps(d, allow_nan=False)


def test_metrics_cover_the_trading_period_not_the_warm_up() -> None:
    # bars 0-1 only warm the strategy up (flat at the cash); trading starts at bar 2
    warm = result([100.0, 100.0, 110.0, 99.0, 99.0, 121.0],
                  (trade(15.0, 2, 3, risk=5.0), trade(-6.0, 3, 3, risk=6.0), trade(12.0, 5, 5)),
                  settings={"start_bar": 2})  # fmt: skip
    m = compute_metrics(warm)
    assert m.bar_count == 4 and m.start_ms == 2 * DAY
    assert m.exposure == pytest.approx(0.75)  # bars 2, 3 and 5 of the 4 trading bars
    assert m.sharpe == pytest.approx(0.0555556 / 0.1378853 * math.sqrt(365), rel=1e-5)
    assert m.cagr == pytest.approx(1.21 ** (365 / 4) - 1, rel=1e-9)
