"""CandleWindow / CandleWindows: the live windows strategies read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.marketdata.candles import CandleWindow, CandleWindows

T0 = 1_709_632_800_000
MIN = 60_000


def bar(i: int, symbol: str = "BTC", timeframe: str = "1m") -> Bar:
    p = 100.0 + i
    return Bar("sim", symbol, timeframe, T0 + i * MIN, p, p + 2, p - 1, p + 1, float(i), 3)


def series_of(indices: list[int]) -> BarSeries:
    bars = [bar(i) for i in indices]
    return BarSeries.from_columns(
        [b.open_ms for b in bars],
        [b.open for b in bars],
        [b.high for b in bars],
        [b.low for b in bars],
        [b.close for b in bars],
        [b.volume for b in bars],
    )


def test_a_full_window_keeps_the_newest_bars_in_time_order_after_wrapping() -> None:
    window = CandleWindow(5)
    for i in range(8):
        assert window.append(bar(i))
    assert len(window) == 5
    got = window.series()
    assert got.open_ms.tolist() == [T0 + i * MIN for i in range(3, 8)]
    assert got.close.tolist() == [101.0 + i for i in range(3, 8)]
    assert got.volume.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert window.last_open_ms == T0 + 7 * MIN
    for column in (got.open_ms, got.open, got.high, got.low, got.close, got.volume):
        assert column.flags.c_contiguous


def test_series_n_gives_the_last_n_bars() -> None:
    window = CandleWindow(4)
    for i in range(6):
        window.append(bar(i))
    assert window.series(2).open_ms.tolist() == [T0 + 4 * MIN, T0 + 5 * MIN]
    assert len(window.series(0)) == 0
    assert len(window.series(99)) == 4


def test_a_bar_not_after_the_newest_is_ignored() -> None:
    window = CandleWindow(10)
    window.append(bar(5))
    assert not window.append(bar(5))
    assert not window.append(bar(3))
    assert window.series().open_ms.tolist() == [T0 + 5 * MIN]


def test_the_series_is_a_copy_a_strategy_cannot_corrupt_the_window() -> None:
    window = CandleWindow(3)
    for i in range(3):
        window.append(bar(i))
    got = window.series()
    got.close[:] = 0.0
    assert window.series().close.tolist() == [101.0, 102.0, 103.0]


def test_extend_with_real_history_keeps_the_last_capacity_bars(btc_5m: BarSeries) -> None:
    window = CandleWindow(1000)
    assert window.extend(btc_5m.slice(slice(0, 3000))) == 3000
    assert window.extend(btc_5m) == len(btc_5m) - 3000  # only the bars after the newest held
    got = window.series()
    want = btc_5m.tail(1000)
    for name in ("open_ms", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_extend_refuses_a_series_out_of_time_order() -> None:
    with pytest.raises(ValueError, match="increasing"):
        CandleWindow(5).extend(series_of([2, 1]))


@settings(max_examples=120, deadline=None)
@given(
    capacity=st.integers(1, 7),
    steps=st.lists(st.one_of(st.integers(1, 3), st.integers(-12, -1)), max_size=25),
)
def test_any_mix_of_appends_and_extends_equals_the_tail_of_all_bars(
    capacity: int, steps: list[int]
) -> None:
    """Positive step: append that many single bars; negative: extend with a chunk of that size
    that overlaps the bars already held by one."""
    window = CandleWindow(capacity)
    held: list[int] = []
    nxt = 0
    for step in steps:
        if step > 0:
            for _ in range(step):
                window.append(bar(nxt))
                held.append(nxt)
                nxt += 1
        else:
            chunk = list(range(max(0, nxt - 1), nxt - step))
            window.extend(series_of(chunk))
            held.extend(i for i in chunk if i >= nxt)
            nxt = chunk[-1] + 1
    want = held[-capacity:]
    assert window.series().open_ms.tolist() == [T0 + i * MIN for i in want]
    assert len(window) == len(want)


def test_windows_are_created_once_per_symbol_and_timeframe() -> None:
    windows = CandleWindows(50)
    assert windows.find("sim:BTC", "1m") is None
    assert windows.append(bar(0))
    assert windows.append(bar(0, timeframe="5m"))
    assert windows.append(bar(1))
    assert windows.get("sim:BTC", "1m") is windows.get("sim:BTC", "1m")
    assert len(windows.get("sim:BTC", "1m")) == 2
    assert len(windows.get("sim:BTC", "5m")) == 1
    assert sorted(windows.keys()) == [("sim:BTC", "1m"), ("sim:BTC", "5m")]
    assert windows.get("sim:ETH", "1m").capacity == 50
