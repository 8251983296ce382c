"""The two indicator backends are interchangeable: every public indicator, and every strategy's
signals, are bit-identical whether numba or TA-Lib does the arithmetic. The live processes use
TA-Lib (a fraction of numba's memory), so this is what makes live equal to the backtest."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import tradeterm.indicators as ind
from tradeterm.domain.series import BarSeries
from tradeterm.indicators.backend import active, nr7_numpy, use_backend
from tradeterm.strategies.registry import build_params, get_strategy, list_strategies
from tradeterm.strategies.runner import vector_signals


@pytest.fixture
def restore_backend() -> Iterator[None]:
    before = active().name
    yield
    use_backend(before)


def _all_indicators(bars: BarSeries) -> dict[str, np.ndarray]:
    h, lo, c = bars.high, bars.low, bars.close
    out: dict[str, np.ndarray] = {}
    for n in (2, 5, 14, 50):
        out[f"sma{n}"] = ind.sma(c, n)
        out[f"ema{n}"] = ind.ema(c, n)
        out[f"rsi{n}"] = ind.rsi(c, n)
        out[f"zscore{n}"] = ind.zscore(c, n)
        out[f"atr{n}"] = ind.atr(h, lo, c, n)
        out[f"adx{n}"] = ind.adx(h, lo, c, n)
        out[f"pdi{n}"] = ind.plus_di(h, lo, c, n)
        out[f"mdi{n}"] = ind.minus_di(h, lo, c, n)
        out[f"nr{n}"] = ind.nr7(h, lo, n)
        up, mid, low = ind.bbands(c, n, 2.0, 1.5)
        out[f"bb{n}"] = np.concatenate([up, mid, low])
        du, dl = ind.donchian(h, lo, n)
        out[f"don{n}"] = np.concatenate([du, dl])
    out["tr"] = ind.true_range(h, lo, c)
    return out


@pytest.mark.usefixtures("restore_backend")
def test_every_indicator_is_bit_identical_across_backends(btc_5m: BarSeries) -> None:
    use_backend("numba")
    numba = _all_indicators(btc_5m)
    use_backend("talib")
    talib = _all_indicators(btc_5m)
    for name, values in numba.items():
        np.testing.assert_array_equal(values, talib[name], err_msg=name)


@pytest.mark.usefixtures("restore_backend")
def test_every_strategy_signals_the_same_on_both_backends(eth_5m: BarSeries) -> None:
    frames = {}
    for backend in ("numba", "talib"):
        use_backend(backend)
        frames[backend] = {
            name: vector_signals(
                get_strategy(name), build_params(name, {}), eth_5m, "1h", timeframe="5m"
            )
            for name in list_strategies()
        }
    for name in list_strategies():
        a, b = frames["numba"][name], frames["talib"][name]
        assert a.count > 0, name
        for column in ("side", "entry", "stop_loss", "take_profit", "confidence"):
            np.testing.assert_array_equal(
                getattr(a, column), getattr(b, column), err_msg=f"{name}.{column}"
            )


def test_nr7_numpy_matches_the_kernel_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(3)
    high = np.round(rng.uniform(1, 2, 500), 1) + 1  # coarse values: many ties
    low = np.ones(500)
    high[[10, 200, 201]] = np.nan
    for n in (1, 2, 7, 20):
        use_backend("numba")
        np.testing.assert_array_equal(ind.nr7(high, low, n), nr7_numpy(high, low, n))


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown indicator backend 'cuda'"):
        use_backend("cuda")


def test_the_talib_backend_loads_neither_numba_nor_pandas() -> None:
    code = (
        "import sys, numpy as np; from tradeterm.indicators import use_backend, ema;"
        "use_backend('talib'); ema(np.arange(50.0), 10);"
        "print('numba' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
