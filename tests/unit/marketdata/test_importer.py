"""Candle-file import: real shared files load; broken files fail with one precise line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import load_shared_bars
from tradeterm.domain.series import BarSeries
from tradeterm.errors import DataError
from tradeterm.marketdata.importer import import_file, read_bar_file
from tradeterm.marketdata.store import CandleStore

HEADER = "ts,open,high,low,close,volume"
T = 1_708_592_100_000  # 2024-02-22 08:55 UTC, a 5m boundary
GOOD = [f"{T},10,11,9,10.5,1", f"{T + 300_000},10.5,12,10,11,2"]


def assert_same(a: BarSeries, b: BarSeries) -> None:
    for name in ("open_ms", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_real_btc_file_reads_all_5041_bars_exactly(shared_data: Path) -> None:
    path = shared_data / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"
    bars = read_bar_file(path, "5m")
    assert len(bars) == 5041
    assert int(bars.open_ms[0]) == T
    assert_same(bars, load_shared_bars(path))


def test_importing_real_btc_adds_5041_rows_and_finds_no_gaps(
    tmp_path: Path, shared_data: Path
) -> None:
    store = CandleStore(tmp_path)
    path = shared_data / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"
    report = import_file(store, path, "binance", "BTCUSDT", "5m")
    assert (report.rows_read, report.rows_added, report.duplicates_skipped) == (5041, 5041, 0)
    assert report.gaps == ()
    assert (report.first_ts, report.last_ts) == (T, T + 5040 * 300_000)
    assert len(store.read("binance", "BTCUSDT", "5m")) == 5041


def test_importing_real_bittrex_minutes_reports_its_717_missing_bars(
    tmp_path: Path, shared_data: Path
) -> None:
    store = CandleStore(tmp_path)
    path = shared_data / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv"
    report = import_file(store, path, "bittrex", "UNITTEST/BTC", "1m")
    assert report.rows_read == 13681
    assert report.missing_bars == 717
    assert all(gap.missing >= 1 for gap in report.gaps)
    again = import_file(store, path, "bittrex", "UNITTEST/BTC", "1m")
    assert (again.rows_added, again.duplicates_skipped) == (0, 13681)
    (check,) = store.check()
    assert check.rows == 13681 and check.missing_bars == 717 and check.consistent


def test_mark_price_candles_with_empty_volume_read_as_zero_volume(shared_data: Path) -> None:
    bars = read_bar_file(shared_data / "crypto" / "usdm_XRPUSDT_1h_mark_2021-11.csv", "1h")
    assert len(bars) == 100
    assert bool(np.all(bars.volume == 0.0))


def test_parquet_with_the_same_columns_reads_the_same(tmp_path: Path, btc_5m: BarSeries) -> None:
    path = tmp_path / "btc.parquet"
    pd.DataFrame(
        {
            "ts": btc_5m.open_ms,
            "open": btc_5m.open,
            "high": btc_5m.high,
            "low": btc_5m.low,
            "close": btc_5m.close,
            "volume": btc_5m.volume,
        }
    ).to_parquet(path)
    assert_same(read_bar_file(path, "5m"), btc_5m)


def test_blank_lines_at_the_end_of_a_csv_are_harmless(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *GOOD]) + "\n\n\n")
    assert len(read_bar_file(path, "5m")) == 2


def write_csv(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


BROKEN_CSV = {
    "columns": (
        ["ts,open,high,low,close,adj_close", f"{T},10,11,9,10.5,10.4"],
        None,
        "missing column(s) volume; unexpected column(s) adj_close "
        "(expected ts,open,high,low,close,volume)",
    ),
    "unparsable": (
        [HEADER, *GOOD, f"{T + 600_000},10,abc,9,10,1"],
        None,
        "line 4, column 'high': cannot read 'abc' as a finite number",
    ),
    "empty price": (
        [HEADER, f"{T},10,11,,10.5,1"],
        None,
        "line 2, column 'low': empty value",
    ),
    "float ts": (
        [HEADER, *GOOD, "1708592700000.5,10,11,9,10,1"],
        None,
        "line 4, column 'ts': cannot read '1708592700000.5' as an integer epoch-ms timestamp",
    ),
    "not increasing": (
        [HEADER, *GOOD, f"{T + 300_000},10,11,9,10,1"],
        None,
        f"line 4: ts {T + 300_000} is not after the previous row's ts {T + 300_000}",
    ),
    "high below low": (
        [HEADER, GOOD[0], f"{T + 300_000},10,9,11,10,1"],
        None,
        "line 3: high 9.0 is below low 11.0",
    ),
    "open outside": (
        [HEADER, GOOD[0], f"{T + 300_000},12,11,9,10,1"],
        None,
        "line 3: open 12.0 is outside [low 9.0, high 11.0]",
    ),
    "close outside": (
        [HEADER, GOOD[0], f"{T + 300_000},10,11,9,8.5,1"],
        None,
        "line 3: close 8.5 is outside [low 9.0, high 11.0]",
    ),
    "misaligned": (
        [HEADER, GOOD[0], f"{T + 301_000},10,11,9,10,1"],
        "5m",
        f"line 3: ts {T + 301_000} is not aligned to 5m bars",
    ),
    "seconds": (
        [HEADER, "1708592100,10,11,9,10,1"],
        None,
        "line 2: ts 1708592100 is before 1973: ts must be epoch milliseconds",
    ),
    "short row": (
        [HEADER, GOOD[0], f"{T + 300_000},10,11,9,10"],
        None,
        "line 3: expected 6 values, found 5",
    ),
    "long row": (
        [HEADER, GOOD[0], f"{T + 300_000},10,11,9,10,1,7"],
        None,
        "line 3: expected 6 values, found 7",
    ),
    "blank line inside": (
        [HEADER, GOOD[0], "", GOOD[1]],
        None,
        "line 3: empty line",
    ),
    "infinite": (
        [HEADER, f"{T},10,inf,9,10,1"],
        None,
        "line 2, column 'high': cannot read 'inf' as a finite number",
    ),
    "header only": ([HEADER], None, "no bars (only a header)"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CSV))
def test_a_broken_csv_fails_with_one_line_naming_file_and_line(tmp_path: Path, case: str) -> None:
    lines, timeframe, message = BROKEN_CSV[case]
    path = write_csv(tmp_path, lines)
    with pytest.raises(DataError) as caught:
        read_bar_file(path, timeframe)
    assert str(caught.value) == f"{path}: {message}"
    assert "\n" not in str(caught.value)


def test_the_earliest_bad_row_is_reported_first(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [HEADER, GOOD[0], f"{T + 300_000},12,11,9,10,1", f"{T},10,9,11,10,1"],
    )
    with pytest.raises(DataError, match=r"line 3: open 12\.0 "):
        read_bar_file(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError) as caught:
        read_bar_file(path)
    assert str(caught.value) == f"{path}: file not found"


def test_an_unknown_file_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bars.xlsx"
    path.write_text(HEADER + "\n")
    with pytest.raises(DataError) as caught:
        read_bar_file(path)
    expected = "expected .csv, .txt, .parquet, .feather or .json"
    assert str(caught.value) == f"{path}: unsupported file type '.xlsx' ({expected})"


def test_an_empty_csv_asks_for_the_header(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("")
    with pytest.raises(DataError) as caught:
        read_bar_file(path)
    assert str(caught.value) == f"{path}: empty file (expected the header {HEADER})"


def test_a_parquet_cell_that_is_not_a_number_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pd.DataFrame(
        {
            "ts": [T, T + 300_000],
            "open": ["10", "10"],
            "high": ["11", "11"],
            "low": ["9", "9"],
            "close": ["10", "x"],
            "volume": ["1", "1"],
        }
    ).to_parquet(path)
    with pytest.raises(DataError) as caught:
        read_bar_file(path)
    assert str(caught.value) == f"{path}: row 2, column 'close': cannot read 'x' as a finite number"


def test_a_parquet_row_problem_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pd.DataFrame(
        {
            "ts": [T, T + 300_000, T + 600_000],
            "open": [10.0, 10.0, 10.0],
            "high": [11.0, 11.0, 9.0],
            "low": [9.0, 9.0, 11.0],
            "close": [10.0, 10.0, 10.0],
            "volume": [1.0, 1.0, 1.0],
        }
    ).to_parquet(path)
    with pytest.raises(DataError) as caught:
        read_bar_file(path, "5m")
    assert str(caught.value) == f"{path}: row 3: high 9.0 is below low 11.0"


def test_a_file_that_is_not_parquet_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    path.write_bytes(b"ts,open\n1,2\n")
    with pytest.raises(DataError, match=r"bars\.parquet: not a readable parquet file"):
        read_bar_file(path)


def test_a_failed_import_writes_nothing(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "store")
    path = write_csv(tmp_path, [HEADER, GOOD[0], f"{T + 300_000},12,11,9,10,1"])
    with pytest.raises(DataError):
        import_file(store, path, "sim", "X", "5m")
    assert store.series() == []


def test_a_binary_file_named_csv_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(HEADER.encode() + b"\n" + bytes(range(128, 256)) + b"\n")
    with pytest.raises(DataError) as caught:
        read_bar_file(path)
    assert str(caught.value) == f"{path}: not a UTF-8 text file"
