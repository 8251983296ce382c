"""Research mode of the vector engine (`tradeterm.backtest.vector.signals`): the fused EMA-cross
runs equal the same runs fed numpy signal arrays, the grid equals its sets run one by one, and
a hand-made case gives the hand's sum."""

from __future__ import annotations

import numpy as np
import pytest

from tradeterm.backtest.vector.nb import research_nb
from tradeterm.backtest.vector.records import EXIT_REASONS
from tradeterm.backtest.vector.signals import (
    simulate_ema_cross,
    simulate_ema_cross_grid,
    simulate_signals,
    simulate_signals_grid,
)
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import atr, ema
from tradeterm.indicators.nb import ema_nb, ema_stream_nb

from .kit import bars


def gbm(n: int, seed: int = 7) -> BarSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    reach = np.abs(rng.normal(0.0, 0.001, (2, n)))
    high = np.maximum(open_, close) * (1.0 + reach[0])
    low = np.minimum(open_, close) * (1.0 - reach[1])
    ts = np.arange(n, dtype=np.int64) * 60_000
    return BarSeries.from_columns(ts, open_, high, low, close, np.ones(n))


def crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    spread = ema(close, fast) - ema(close, slow)
    before = np.concatenate(([np.nan], spread[:-1]))
    with np.errstate(invalid="ignore"):
        return (spread > 0) & (before <= 0), (spread < 0) & (before >= 0)


def same_run(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.final_equity == b.final_equity
    assert len(a.trades) == len(b.trades)
    assert (a.trades == b.trades).all()
    if a.equity is not None and b.equity is not None:
        assert np.array_equal(a.equity, b.equity)


def test_ema_stream_is_the_indicator_bit_for_bit() -> None:
    x = gbm(3000).close
    for n in (2, 5, 30, 200):
        k = 2.0 / (n + 1)
        out = np.empty(x.shape[0])
        value, total = np.nan, 0.0
        for i in range(x.shape[0]):
            value, total = ema_stream_nb(i, x[i], n, k, total, value)
            out[i] = value
        assert np.array_equal(out, ema_nb(x, n), equal_nan=True)


@pytest.mark.parametrize("fast,slow", [(10, 30), (3, 7), (25, 20)])
def test_fused_long_only_cross_equals_the_signal_arrays(fast: int, slow: int) -> None:
    b = gbm(20_000)
    up, down = crosses(b.close, fast, slow)
    fused = simulate_ema_cross(b, fast, slow, fee_rate=0.001, slippage_bps=2.0)
    arrays = simulate_signals(b, up, down, fee_rate=0.001, slippage_bps=2.0)
    assert len(fused.trades) > 50
    same_run(fused, arrays)
    assert fused.equity is not None and fused.equity[-1] == fused.final_equity


def test_fused_long_short_with_atr_levels_equals_the_signal_arrays() -> None:
    b = gbm(20_000, seed=3)
    up, down = crosses(b.close, 10, 30)
    width = atr(b.high, b.low, b.close, 14)
    levels = dict(stop_distance=width, stop_mult=2.0, target_distance=width, target_mult=6.0)
    for intrabar in ("path", "worst"):
        fused = simulate_ema_cross(b, 10, 30, long_short=True, intrabar=intrabar, **levels)
        arrays = simulate_signals(b, up, down, down, up, intrabar=intrabar, **levels)
        same_run(fused, arrays)
        reasons = {EXIT_REASONS[r] for r in fused.trades["reason"]}
        assert {"stop_loss", "take_profit", "signal"} <= reasons
        assert set(fused.trades["side"]) == {-1, 1}


def test_without_equity_the_final_equity_and_trades_are_the_same() -> None:
    b = gbm(5_000)
    kept = simulate_ema_cross(b, 5, 20)
    dropped = simulate_ema_cross(b, 5, 20, keep_equity=False)
    assert dropped.equity is None
    same_run(kept, dropped)


def test_leading_nan_closes_take_the_indicator_lines() -> None:
    b = gbm(3_000)
    close = b.close.copy()
    close[:5] = np.nan
    nb = BarSeries.from_columns(b.open_ms, b.open, b.high, b.low, close, b.volume)
    up, down = crosses(close, 4, 12)
    same_run(simulate_ema_cross(nb, 4, 12), simulate_signals(nb, up, down))


def test_the_grid_equals_each_set_alone_including_a_set_beyond_the_shared_buffer() -> None:
    b = gbm(4_000, seed=11)
    fasts, slows = [2, 5, 10, 20], [3, 20, 40, 15]  # (2, 3) trades far past n // 64 + 16
    grid = simulate_ema_cross_grid(b, fasts, slows, long_short=True, keep_equity=True)
    assert len(grid[0].trades) > 4_000 // 64 + 16
    for run, f, s in zip(grid, fasts, slows, strict=True):
        same_run(run, simulate_ema_cross(b, f, s, long_short=True))
    finals = [r.final_equity for r in simulate_ema_cross_grid(b, fasts, slows, long_short=True)]
    assert finals == [r.final_equity for r in grid]


def test_the_signal_grid_equals_each_row_alone() -> None:
    b = gbm(3_000, seed=5)
    rows = [crosses(b.close, f, s) for f, s in ((3, 9), (8, 21))]
    up = np.stack([r[0] for r in rows])
    down = np.stack([r[1] for r in rows])
    width = atr(b.high, b.low, b.close, 14)
    grid = simulate_signals_grid(b, up, down, down, up, stop_distance=width, stop_mult=3.0)
    for run, (u, d) in zip(grid, rows, strict=True):
        same_run(run, simulate_signals(b, u, d, d, u, stop_distance=width, stop_mult=3.0))


def test_a_hand_made_round_trip() -> None:
    # long signalled at bar 0's close, filled at bar 1's open 100; exit signalled at bar 2,
    # filled at bar 3's open 110; 0.1% fee per side, all-in from 1000
    b = bars([(99, 99.5, 98.5, 99), (100, 101, 99.5, 100), (105, 106, 104, 105),
              (110, 111, 109, 110)])  # fmt: skip
    le = np.array([True, False, False, False])
    lx = np.array([False, False, True, False])
    run = simulate_signals(b, le, lx, cash=1000.0, fee_rate=0.001)
    qty = 1000.0 / (100.0 * 1.001)
    cash = 1000.0 - 100.0 * qty * 0.001
    cash += (110.0 - 100.0) * qty - 110.0 * qty * 0.001
    assert run.final_equity == pytest.approx(cash, rel=1e-12)
    assert len(run.trades) == 1
    t = run.trades[0]
    assert (t["entry_bar"], t["exit_bar"], t["side"]) == (1, 3, 1)
    assert EXIT_REASONS[t["reason"]] == "signal"
    assert run.equity is not None
    assert run.equity[2] == pytest.approx(cash - (110.0 - 105.0) * qty + 110.0 * qty * 0.001)


def test_a_stop_inside_the_bar_fills_at_the_stop_or_at_a_gapped_open() -> None:
    b = bars([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 100.2, 97, 98),
              (95.2, 96.5, 95, 96)])  # fmt: skip
    le = np.array([True, False, False, False])
    no = np.zeros(4, dtype=bool)
    dist = np.full(4, 2.0)
    run = simulate_signals(b, le, no, stop_distance=dist, fee_rate=0.0)
    t = run.trades[0]
    assert (t["exit_bar"], t["exit_price"], EXIT_REASONS[t["reason"]]) == (2, 98.0, "stop_loss")
    gap = simulate_signals(b, le, no, stop_distance=np.full(4, 4.5), fee_rate=0.0)
    t = gap.trades[0]
    assert (t["exit_bar"], t["exit_price"]) == (3, 95.2)  # gapped past the stop 95.5: the open


def test_bad_inputs_are_named() -> None:
    b = gbm(100)
    with pytest.raises(ValueError, match="stop_distance"):
        simulate_ema_cross(b, 5, 10, stop_distance=np.ones(5))
    with pytest.raises(ValueError, match="intrabar"):
        simulate_ema_cross(b, 5, 10, intrabar="best")
    with pytest.raises(ValueError, match="EMA period"):
        simulate_ema_cross_grid(b, [0], [5])
    assert research_nb is not None
