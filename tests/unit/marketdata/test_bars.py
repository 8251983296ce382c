"""BarBuilder: ticks become closed, UTC-aligned bars, published once and never early."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeterm.clock import datetime_to_ms
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.timeframes import BUILDER_TIMEFRAMES, timeframe_ms
from tradeterm.marketdata.bars import BarBuilder

T0 = datetime_to_ms(datetime(2024, 3, 5, 10, 0, tzinfo=UTC))
MIN = 60_000


def tick(ts: int, price: float, size: float = 1.0, symbol: str = "BTCUSDT") -> Tick:
    return Tick("sim", symbol, ts, price, price, price, size)


def at(hh: int, mm: int, ss: int = 0, ms: int = 0, day: int = 5) -> int:
    return datetime_to_ms(datetime(2024, 3, day, hh, mm, ss, ms * 1000, tzinfo=UTC))


EXPECTED_OPEN = {
    "1s": at(13, 47, 23),
    "5s": at(13, 47, 20),
    "15s": at(13, 47, 15),
    "1m": at(13, 47),
    "5m": at(13, 45),
    "15m": at(13, 45),
    "1h": at(13, 0),
    "4h": at(12, 0),
    "1d": at(0, 0),
}


@pytest.mark.parametrize("timeframe", BUILDER_TIMEFRAMES)
def test_a_tick_lands_in_the_utc_aligned_bar_a_chart_would_show(timeframe: str) -> None:
    builder = BarBuilder([timeframe])
    builder.on_tick(tick(at(13, 47, 23, 456), 100.0))
    forming = builder.current("sim:BTCUSDT", timeframe)
    assert forming is not None
    assert forming.open_ms == EXPECTED_OPEN[timeframe]


@pytest.mark.parametrize("timeframe", BUILDER_TIMEFRAMES)
def test_bucket_edges_the_last_ms_belongs_to_the_bar_the_next_ms_starts_a_new_one(
    timeframe: str,
) -> None:
    size = timeframe_ms(timeframe)
    start = (T0 // size) * size + 3 * size
    builder = BarBuilder([timeframe])
    assert builder.on_tick(tick(start, 100.0)) == []
    assert builder.on_tick(tick(start + size - 1, 104.0)) == []
    closed = builder.on_tick(tick(start + size, 99.0))
    assert closed == [Bar("sim", "BTCUSDT", timeframe, start, 100.0, 104.0, 100.0, 104.0, 2.0, 2)]
    assert closed[0].close_ms == start + size
    forming = builder.current("sim:BTCUSDT", timeframe)
    assert forming is not None and forming.open_ms == start + size and forming.open == 99.0


def test_open_high_low_close_volume_and_tick_count() -> None:
    builder = BarBuilder(["1m"])
    for i, (price, size) in enumerate([(100, 1), (105, 2), (95, 0.5), (101, 3)]):
        builder.on_tick(tick(T0 + i * 1000, price, size))
    (bar,) = builder.on_tick(tick(T0 + MIN, 102))
    assert (bar.open, bar.high, bar.low, bar.close) == (100, 105, 95, 101)
    assert bar.volume == 6.5
    assert bar.ticks == 4


def test_no_look_ahead_a_bar_appears_only_once_its_bucket_has_ended() -> None:
    builder = BarBuilder(["1m"])
    builder.on_tick(tick(T0 + 5_000, 100.0))
    assert builder.flush(T0 + MIN - 1) == []
    assert builder.current("sim:BTCUSDT", "1m") is not None
    (bar,) = builder.flush(T0 + MIN)
    assert bar.open_ms == T0 and bar.close == 100.0
    # published exactly once, and the forming slot is now empty
    assert builder.flush(T0 + 10 * MIN) == []
    assert builder.current("sim:BTCUSDT", "1m") is None


def test_the_forming_bar_is_never_published_however_often_flush_runs() -> None:
    builder = BarBuilder(["5m"])
    builder.on_tick(tick(T0 + 1_000, 100.0))
    emitted = [b for ms in range(T0, T0 + 5 * MIN, 250) for b in builder.flush(ms)]
    assert emitted == []


def test_gaps_stay_gaps_by_default() -> None:
    builder = BarBuilder(["1m"])
    builder.on_tick(tick(T0 + 10_000, 100.0))
    closed = builder.on_tick(tick(T0 + 3 * MIN + 10_000, 103.0))
    assert [b.open_ms for b in closed] == [T0]
    assert builder.flush(T0 + 3 * MIN + 30_000) == []


def test_fill_gaps_makes_flat_bars_at_the_previous_close() -> None:
    builder = BarBuilder(["1m"], fill_gaps=True)
    builder.on_tick(tick(T0 + 10_000, 100.0))
    builder.on_tick(tick(T0 + 20_000, 101.5))
    closed = builder.on_tick(tick(T0 + 3 * MIN + 10_000, 103.0))
    assert [b.open_ms for b in closed] == [T0, T0 + MIN, T0 + 2 * MIN]
    for flat in closed[1:]:
        assert (flat.open, flat.high, flat.low, flat.close) == (101.5,) * 4
        assert flat.volume == 0.0 and flat.ticks == 0


def test_fill_gaps_keeps_a_quiet_market_printing_flat_bars_on_flush() -> None:
    builder = BarBuilder(["1m"], fill_gaps=True)
    builder.on_tick(tick(T0 + 10_000, 100.0))
    assert [b.open_ms for b in builder.flush(T0 + MIN)] == [T0]
    assert builder.flush(T0 + 2 * MIN - 1) == []
    assert [b.open_ms for b in builder.flush(T0 + 3 * MIN)] == [T0 + MIN, T0 + 2 * MIN]
    # the next real tick opens its own bar; nothing before it is invented twice
    assert builder.on_tick(tick(T0 + 3 * MIN + 1, 99.0)) == []
    (bar,) = builder.flush(T0 + 4 * MIN)
    assert bar.open_ms == T0 + 3 * MIN and bar.ticks == 1


def test_late_ticks_are_dropped_counted_and_never_rewrite_a_published_bar() -> None:
    builder = BarBuilder(["1m"])
    builder.on_tick(tick(T0 + 10_000, 100.0))
    (published,) = builder.on_tick(tick(T0 + MIN + 5_000, 101.0))
    assert builder.on_tick(tick(T0 + 50_000, 500.0)) == []
    assert builder.late_ticks == 1
    assert builder.late_ticks_for("sim:BTCUSDT") == 1
    forming = builder.current("sim:BTCUSDT", "1m")
    assert forming is not None and forming.high == 101.0 and forming.ticks == 1
    (nxt,) = builder.flush(T0 + 2 * MIN)
    assert nxt.high == 101.0
    assert published.high == 100.0


def test_a_tick_behind_a_flushed_bar_is_late() -> None:
    builder = BarBuilder(["1m"])
    builder.on_tick(tick(T0 + 10_000, 100.0))
    builder.flush(T0 + MIN)
    assert builder.on_tick(tick(T0 + 59_000, 90.0)) == []
    assert builder.late_ticks == 1
    assert builder.current("sim:BTCUSDT", "1m") is None


def test_symbols_are_built_independently() -> None:
    builder = BarBuilder(["1m"])
    builder.on_tick(tick(T0 + 1_000, 100.0, symbol="BTC"))
    builder.on_tick(tick(T0 + 2_000, 20.0, symbol="ETH"))
    closed = builder.on_tick(tick(T0 + MIN, 101.0, symbol="BTC"))
    assert [(b.symbol, b.close) for b in closed] == [("BTC", 100.0)]
    eth = builder.current("sim:ETH", "1m")
    assert eth is not None and eth.close == 20.0
    assert sorted(builder.keys()) == ["sim:BTC", "sim:ETH"]


def test_bars_closed_together_come_oldest_first_shorter_first() -> None:
    builder = BarBuilder(["5m", "1m", "15s"])
    builder.on_tick(tick(T0 + 4 * MIN + 50_000, 100.0))
    closed = builder.on_tick(tick(T0 + 5 * MIN + 1, 101.0))
    assert [(b.timeframe, b.close_ms) for b in closed] == [
        ("15s", T0 + 5 * MIN),
        ("1m", T0 + 5 * MIN),
        ("5m", T0 + 5 * MIN),
    ]
    assert builder.timeframes == ("15s", "1m", "5m")


def test_unknown_timeframe_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="'7m'"):
        BarBuilder(["7m"])


# ---- property: the builder agrees with a pandas resample of the same ticks -------------------
PANDAS_RULE = {"1s": "1s", "5s": "5s", "15s": "15s", "1m": "1min", "5m": "5min"}


def resample(ticks: list[Tick], timeframe: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"price": [t.price for t in ticks], "size": [t.size for t in ticks]},
        index=pd.to_datetime([t.ts_ms for t in ticks], unit="ms", utc=True),
    )
    agg = frame.resample(PANDAS_RULE[timeframe], origin="epoch", closed="left", label="left")
    out = agg["price"].ohlc()
    out["volume"] = agg["size"].sum()
    out["ticks"] = agg["price"].count()
    return out[out["ticks"] > 0]


tick_lists = st.lists(
    st.tuples(
        st.integers(0, 7 * MIN),
        st.floats(1.0, 1000.0, allow_nan=False),
        st.floats(0.0, 5.0, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=tick_lists, timeframe=st.sampled_from(sorted(PANDAS_RULE)))
def test_bars_from_random_ticks_equal_a_pandas_resample(
    raw: list[tuple[int, float, float]], timeframe: str
) -> None:
    ticks = [tick(T0 + off, price, size) for off, price, size in sorted(raw, key=lambda r: r[0])]
    builder = BarBuilder([timeframe])
    bars = [b for t in ticks for b in builder.on_tick(t)]
    bars += builder.flush(T0 + 10 * MIN)
    expected = resample(ticks, timeframe)
    got_open_ms = np.array([b.open_ms for b in bars], dtype=np.int64)
    want_open_ms = np.array(
        [datetime_to_ms(ts.to_pydatetime()) for ts in expected.index], dtype=np.int64
    )
    np.testing.assert_array_equal(got_open_ms, want_open_ms)
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(
            [getattr(b, column) for b in bars], expected[column].to_numpy(), rtol=1e-12
        )
    assert [b.ticks for b in bars] == expected["ticks"].tolist()
    assert builder.late_ticks == 0
