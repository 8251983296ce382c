"""Live-vs-vector parity: the live runner's signal at every bar is the backtest's signal there.

For every built-in strategy, on real BTC and ETH 5-minute bars and gappy real 1-minute bars, with
and without higher-timeframe confirmation, the runner is fed a rolling window ending at each bar
(3,000 bars per case, starting just before it has enough history) and must return exactly what
the one-shot vectorised run has on that bar.
"""

from __future__ import annotations

import math

import pytest

from tests.unit.strategies.conftest import BUILTIN
from tradeterm.domain.ids import signal_id
from tradeterm.domain.series import BarSeries
from tradeterm.strategies import StrategyRunner, get_strategy, vector_signals

DATASETS = {
    "btc_5m": ("5m", "1h"),
    "eth_5m": ("5m", "1h"),
    "unittest_1m": ("1m", "15m"),
}
BARS_CHECKED = 3_000
SPARE = 37  # the live ring buffer holds more than the runner needs; it must use the tail


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


@pytest.mark.parametrize("confirmed", [False, True], ids=["plain", "confirmed"])
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", BUILTIN)
def test_live_runner_signal_equals_vectorised_signal_at_every_bar(
    name: str, dataset: str, confirmed: bool, request: pytest.FixtureRequest
) -> None:
    bars: BarSeries = request.getfixturevalue(dataset)
    timeframe, higher = DATASETS[dataset]
    confirm_tf = higher if confirmed else ""
    strategy = get_strategy(name)
    params = strategy.default_params()
    runner = StrategyRunner(
        strategy,
        params,
        venue="binance",
        symbol="BTCUSDT",
        timeframe=timeframe,
        confirm_timeframe=confirm_tf,
        instance=f"{name}_live",
    )
    vector = vector_signals(strategy, params, bars, confirm_tf, timeframe=timeframe)
    first = runner.required_bars - 1
    emitted = 0
    for i in range(first - 3, min(len(bars), first + BARS_CHECKED)):
        window = bars.slice(slice(max(0, i + 1 - runner.required_bars - SPARE), i + 1))
        signal = runner.on_bar(window)
        side, entry, stop, target, confidence = vector.row(i)
        if signal is None:
            assert side == 0, f"bar {i}: backtest trades, live does not"
            continue
        emitted += 1
        assert signal.side.sign == side, f"bar {i}: live {signal.side}, backtest {side}"
        assert _close(signal.entry, entry)
        assert _close(signal.stop_loss, stop)
        assert _close(signal.take_profit, target)
        assert _close(signal.confidence, confidence)
        open_ms = int(bars.open_ms[i])
        assert signal.id == signal_id(f"{name}_live", "binance", "BTCUSDT", timeframe, open_ms)
        assert signal.reward_risk >= 3.0 - 1e-9 and signal.is_consistent
    assert emitted >= 5, f"only {emitted} signals: the parity check would prove little"


@pytest.mark.parametrize("dataset", ["btc_5m", "unittest_1m"])
@pytest.mark.parametrize("name", BUILTIN)
def test_a_preloaded_runner_emits_what_its_rolling_window_emits(
    name: str, dataset: str, request: pytest.FixtureRequest
) -> None:
    """The event backtest preloads each runner with the whole history (one evaluation); at every
    bar the preloaded runner must emit the very Signal the live runner builds from its window,
    and say nothing while its window is shorter than the strategy needs."""
    bars: BarSeries = request.getfixturevalue(dataset)
    timeframe = DATASETS[dataset][0]
    strategy = get_strategy(name)
    live = StrategyRunner(strategy, strategy.default_params(), venue="v", symbol="S",
                          timeframe=timeframe)  # fmt: skip
    preloaded = StrategyRunner(strategy, strategy.default_params(), venue="v", symbol="S",
                               timeframe=timeframe)  # fmt: skip
    preloaded.preload(bars)
    need = live.required_bars
    times = set(preloaded.signal_times().tolist())
    emitted = 0
    for i in range(need - 3, min(len(bars), need + BARS_CHECKED)):
        window = bars.slice(slice(max(0, i + 1 - need - SPARE), i + 1))
        want, got = live.on_bar(window), preloaded.on_bar(window)
        assert (got is None) == (want is None), f"bar {i}: live {want}, preloaded {got}"
        assert (int(bars.open_ms[i]) in times) == (want is not None), f"bar {i}: signal_times"
        if want is None or got is None:
            continue
        emitted += 1
        assert (got.id, got.side, got.ts_ms) == (want.id, want.side, want.ts_ms)
        for field in ("entry", "stop_loss", "take_profit", "confidence", "atr"):
            assert _close(getattr(got, field), getattr(want, field)), f"bar {i}: {field}"
    assert emitted >= 5, f"only {emitted} signals: the check would prove little"
