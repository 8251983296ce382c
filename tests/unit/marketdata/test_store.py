"""CandleStore: parquet by UTC day, deduplicated, atomic, with an integrity check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tradeterm.clock import datetime_to_ms, format_ms
from tradeterm.domain.series import BarSeries
from tradeterm.errors import StorageError
from tradeterm.marketdata.store import CandleStore, Gap

MIN = 60_000
DAY = 86_400_000


def datetime_to_ms_utc(y: int, mo: int, d: int, h: int, mi: int) -> int:
    return datetime_to_ms(datetime(y, mo, d, h, mi, tzinfo=UTC))


def minute_bars(
    start_ms: int, count: int, price: float = 100.0, skip: tuple[int, ...] = ()
) -> BarSeries:
    rows = [i for i in range(count) if i not in skip]
    ts = np.array([start_ms + i * MIN for i in rows], dtype=np.int64)
    p = price + np.arange(len(rows), dtype=np.float64)
    return BarSeries.from_columns(ts, p, p + 1, p - 1, p + 0.5, np.ones(len(rows)))


def assert_same(a: BarSeries, b: BarSeries) -> None:
    for name in ("open_ms", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def raw_day_file(path: Path, ts: list[int]) -> None:
    """A day file as some other program might write it (no dedup, any order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(ts)
    columns = {"ts": pa.array(ts, pa.int64())}
    for name in ("open", "high", "low", "close", "volume"):
        columns[name] = pa.array([1.0] * n, pa.float64())
    pq.write_table(pa.table(columns), path)


def test_real_bars_round_trip_and_are_filed_by_utc_day(tmp_path: Path, btc_5m: BarSeries) -> None:
    store = CandleStore(tmp_path)
    assert store.write("binance", "BTCUSDT", "5m", btc_5m) == len(btc_5m)
    assert_same(store.read("binance", "BTCUSDT", "5m"), btc_5m)
    days = {format_ms(int(ts), "%Y-%m-%d") for ts in btc_5m.open_ms}
    files = sorted(p.name for p in (tmp_path / "binance" / "BTCUSDT" / "5m").iterdir())
    assert files == sorted(f"{d}.parquet" for d in days)
    one_day = pq.read_table(tmp_path / "binance" / "BTCUSDT" / "5m" / "2024-03-01.parquet")
    assert {format_ms(ts, "%Y-%m-%d") for ts in one_day.column("ts").to_pylist()} == {"2024-03-01"}
    assert one_day.column_names == ["ts", "open", "high", "low", "close", "volume"]
    assert one_day.schema.field("ts").type == pa.int64()


def test_bars_either_side_of_midnight_go_to_their_own_day(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    start = datetime_to_ms_utc(2024, 1, 1, 23, 50)
    bars = minute_bars(start, 20)
    store.write("sim", "R_100", "1m", bars)
    folder = tmp_path / "sim" / "R_100" / "1m"
    assert sorted(p.name for p in folder.iterdir()) == ["2024-01-01.parquet", "2024-01-02.parquet"]
    assert pq.read_table(folder / "2024-01-01.parquet").num_rows == 10
    assert pq.read_table(folder / "2024-01-02.parquet").num_rows == 10
    assert_same(store.read("sim", "R_100", "1m"), bars)
    midnight = datetime_to_ms_utc(2024, 1, 2, 0, 0)
    window = store.read(
        "sim", "R_100", "1m", start_ms=midnight - 2 * MIN, end_ms=midnight + 3 * MIN
    )
    assert window.open_ms.tolist() == [midnight + k * MIN for k in range(-2, 3)]


def test_rewriting_dedups_and_the_newest_write_wins(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    start = datetime_to_ms_utc(2024, 1, 1, 0, 0)
    assert store.write("sim", "R_100", "1m", minute_bars(start, 100)) == 100
    revised = minute_bars(start + 50 * MIN, 100, price=500.0)
    assert store.write("sim", "R_100", "1m", revised) == 50
    got = store.read("sim", "R_100", "1m")
    assert len(got) == 150
    assert bool(np.all(np.diff(got.open_ms) == MIN))
    assert got.close[49] == 149.5  # untouched first write
    assert got.close[50] == 500.5  # the revision replaced the stored bar
    assert store.write("sim", "R_100", "1m", revised) == 0
    report = store.check_series("sim", "R_100", "1m")
    assert report.duplicates == 0 and report.rows == 150


def test_a_misaligned_bar_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    bars = minute_bars(datetime_to_ms_utc(2024, 1, 1, 0, 0) + 1_000, 3)
    with pytest.raises(ValueError, match="not aligned to 1m"):
        store.write("sim", "R_100", "1m", bars)
    assert store.series() == []


def test_writes_leave_no_temporary_files(tmp_path: Path, btc_5m: BarSeries) -> None:
    store = CandleStore(tmp_path)
    store.write("binance", "BTCUSDT", "5m", btc_5m.slice(slice(0, 2000)))
    store.write("binance", "BTCUSDT", "5m", btc_5m)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".parquet")]
    assert leftovers == []


def test_symbols_with_slashes_and_colons_are_listed_as_written(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    bars = minute_bars(datetime_to_ms_utc(2024, 1, 1, 0, 0), 3)
    store.write("bybit", "BTC/USDT:USDT", "1m", bars)
    store.write("sim", "R_100", "1m", bars)
    assert store.series() == [("bybit", "BTC/USDT:USDT", "1m"), ("sim", "R_100", "1m")]
    assert_same(store.read("bybit", "BTC/USDT:USDT", "1m"), bars)
    with pytest.raises(ValueError, match="symbol"):
        store.write("sim", "..", "1m", bars)


def test_reading_an_unknown_series_is_empty(tmp_path: Path) -> None:
    assert len(CandleStore(tmp_path).read("sim", "NOPE", "1m")) == 0
    assert CandleStore(tmp_path / "absent").series() == []


def test_check_reports_gaps_with_their_missing_bar_counts(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    start = datetime_to_ms_utc(2024, 1, 1, 0, 0)
    store.write("sim", "R_100", "1m", minute_bars(start, 30, skip=(10, 11, 12, 20)))
    (report,) = store.check()
    assert report.rows == 26
    assert report.first_ts == start and report.last_ts == start + 29 * MIN
    assert report.gaps == (
        Gap(start + 10 * MIN, start + 13 * MIN, 3),
        Gap(start + 20 * MIN, start + 21 * MIN, 1),
    )
    assert report.missing_bars == 4
    assert report.consistent
    assert "2 gaps (4 missing bars)" in report.summary()


def test_check_finds_duplicates_misalignment_and_misfiled_rows_from_other_writers(
    tmp_path: Path,
) -> None:
    store = CandleStore(tmp_path)
    day = datetime_to_ms_utc(2024, 1, 1, 0, 0)
    folder = tmp_path / "sim" / "R_100" / "1m"
    raw_day_file(folder / "2024-01-01.parquet", [day, day + MIN, day + MIN, day + 2 * MIN + 7])
    raw_day_file(folder / "2024-01-02.parquet", [day + 3 * MIN])  # a Jan 1 bar filed under Jan 2
    (report,) = store.check()
    assert report.files == 2
    assert report.rows == 5
    assert report.duplicates == 1
    assert report.misaligned == 1
    assert report.misplaced == 1
    assert not report.consistent
    # reading still gives one bar per time, sorted
    assert store.read("sim", "R_100", "1m").open_ms.tolist() == [
        day,
        day + MIN,
        day + 2 * MIN + 7,
        day + 3 * MIN,
    ]


def test_a_corrupt_day_file_is_named_by_check_and_by_read(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write("sim", "R_100", "1m", minute_bars(datetime_to_ms_utc(2024, 1, 1, 0, 0), 5))
    bad = tmp_path / "sim" / "R_100" / "1m" / "2024-01-03.parquet"
    bad.write_bytes(b"not parquet at all")
    (report,) = store.check()
    assert report.unreadable == ("2024-01-03.parquet",)
    assert report.rows == 5
    with pytest.raises(StorageError, match=r"2024-01-03\.parquet"):
        store.read("sim", "R_100", "1m")


def test_day_boundaries_are_utc_not_local(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    last_minute = datetime_to_ms_utc(2024, 6, 30, 23, 59)
    store.write("sim", "R_100", "1m", minute_bars(last_minute, 1))
    assert [p.name for p in (tmp_path / "sim" / "R_100" / "1m").iterdir()] == ["2024-06-30.parquet"]
    assert last_minute % DAY == DAY - MIN
