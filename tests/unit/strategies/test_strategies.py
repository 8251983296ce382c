"""The five built-in strategies: what they trade on telling price paths, no look-ahead, and
stops/targets a trader can rely on (reward:risk >= 3 by default, stop on the losing side)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.strategies.conftest import BUILTIN, frames_equal_before, make_bars
from tradeterm.domain.series import BarSeries
from tradeterm.strategies import SignalFrame, get_strategy


def _signals(name: str, bars: BarSeries, **overrides: object) -> SignalFrame:
    strategy = get_strategy(name)
    return strategy.signals(bars, strategy.params_model(**overrides))


def _signal_bars(frame: SignalFrame) -> list[tuple[int, int]]:
    return [(int(i), int(frame.side[i])) for i in frame.signal_rows()]


# -- what each strategy trades ------------------------------------------------------------------
def test_breakout_buys_the_bar_that_leaves_a_quiet_range() -> None:
    rng = np.random.default_rng(1)
    close = 100.0 + rng.normal(0.0, 0.3, 600)
    close[550:] = np.linspace(103.0, 110.0, 50)
    frame = _signals("breakout", make_bars(close))
    assert _signal_bars(frame) == [(550, 1)]
    _, entry, stop, target, _ = frame.row(550)
    assert entry == close[550] and stop < entry < target


@pytest.mark.parametrize("direction", [1, -1])
def test_ema_trend_enters_with_the_new_trend_after_a_reversal(direction: int) -> None:
    rng = np.random.default_rng(2)
    path = np.concatenate([np.linspace(200.0, 100.0, 900), np.linspace(100.0, 220.0, 300)])
    close = 300.0 + direction * (path - 160.0) + rng.normal(0.0, 0.5, 1200)
    frame = _signals("ema_trend", make_bars(close))
    signals = _signal_bars(frame)
    assert len(signals) == 1
    bar, side = signals[0]
    assert side == direction and 900 < bar < 960  # soon after the turn, with the new trend


def test_mean_revert_buys_a_sudden_stretch_below_the_band_in_a_range() -> None:
    rng = np.random.default_rng(4)
    close = 100.0 + rng.normal(0.0, 0.5, 600)
    close[580:] = 94.0 + rng.normal(0.0, 0.5, 20)
    frame = _signals("mean_revert", make_bars(close))
    assert _signal_bars(frame) == [(580, 1)]


def test_mean_revert_stands_aside_when_adx_says_the_market_trends() -> None:
    rng = np.random.default_rng(4)
    close = 100.0 + 0.1 * np.arange(700) + rng.normal(0.0, 0.5, 700)  # a steady climb, ADX ~ 33
    close[650:] -= 8.0
    bars = make_bars(close)
    assert _signals("mean_revert", bars).count == 0
    assert _signals("mean_revert", bars, adx_max=50.0).count > 0  # the same stretch, if allowed


def test_vol_squeeze_trades_the_break_out_of_a_tightening_market() -> None:
    rng = np.random.default_rng(5)
    close = 100.0 + rng.normal(0.0, 1.0, 600)
    close[500:560] = 100.0 + rng.normal(0.0, 1.0, 60) * np.linspace(0.2, 0.005, 60)
    close[560:] = np.linspace(101.5, 104.0, 40)
    frame = _signals("vol_squeeze", make_bars(close))
    assert (560, 1) in _signal_bars(frame)
    assert not any(bar > 560 for bar, _ in _signal_bars(frame))  # one entry per breakout


def test_impulse_fade_sells_an_exhausted_spike_up_and_buys_a_spike_down() -> None:
    rng = np.random.default_rng(6)
    up = 100.0 + rng.normal(0.0, 0.5, 600)
    up[560:579] = np.linspace(100.0, 103.0, 19)
    up[579] = 110.0
    up[580:] = 109.0 + rng.normal(0.0, 0.5, 20)
    frame = _signals("impulse_fade", make_bars(up))
    assert _signal_bars(frame) == [(579, -1)]
    assert frame.row(579)[2] > 110.0  # stop above the spike's close
    down = 200.0 - up
    assert _signal_bars(_signals("impulse_fade", make_bars(down))) == [(579, 1)]


# -- properties on real data -------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN)
def test_future_bars_never_change_past_signals(name: str, btc_5m: BarSeries) -> None:
    full = _signals(name, btc_5m)
    rng = np.random.default_rng(8)
    for cut in (900, 2345, 3777):
        frames_equal_before(_signals(name, btc_5m.slice(slice(0, cut))), full, cut)
        scale = np.ones(len(btc_5m))
        scale[cut:] = 1.0 + rng.normal(0.0, 0.03, len(btc_5m) - cut)
        altered = BarSeries.from_columns(
            btc_5m.open_ms,
            btc_5m.open * scale,
            btc_5m.high * scale,
            btc_5m.low * scale,
            btc_5m.close * scale,
            btc_5m.volume,
        )
        frames_equal_before(_signals(name, altered), full, cut)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("dataset", ["btc_5m", "eth_5m", "unittest_1m"])
def test_default_signals_risk_one_to_win_three_with_stops_on_the_losing_side(
    name: str, dataset: str, request: pytest.FixtureRequest
) -> None:
    bars: BarSeries = request.getfixturevalue(dataset)
    frame = _signals(name, bars)
    rows = frame.signal_rows()
    assert 5 <= rows.size <= 0.05 * len(bars), "a strategy should trade now and then"
    side = frame.side[rows].astype(np.float64)
    entry, stop, target = frame.entry[rows], frame.stop_loss[rows], frame.take_profit[rows]
    np.testing.assert_array_equal(entry, bars.close[rows])  # entry at the signal bar's close
    risk = (entry - stop) * side
    reward = (target - entry) * side
    assert (risk > 0).all() and (reward > 0).all()
    assert (reward / risk >= 3.0 - 1e-9).all()
    confidence = frame.confidence[rows]
    assert ((confidence >= 0.0) & (confidence <= 1.0)).all()
    assert np.unique(confidence).size > 1, "confidence should tell signals apart"
    quiet = np.ones(len(bars), dtype=bool)
    quiet[rows] = False
    assert np.isnan(frame.entry[quiet]).all() and not frame.side[quiet].any()
