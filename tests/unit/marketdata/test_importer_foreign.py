"""History files of the tools users come from import as they are: freqtrade's feather files
(bars, marks, funding) and backtrader's / Yahoo Finance's dated CSVs. Each original in
../shared/data/orig must read to exactly the bars (or rates) of its converted twin in the shared
data, and a broken file fails with one line naming the file and the place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from tradeterm.errors import DataError
from tradeterm.marketdata.funding import read_funding_file
from tradeterm.marketdata.importer import read_bar_file

PAIRS = {
    "freqtrade/UNITTEST_BTC-1m.feather": ("crypto/spot_UNITTESTBTC_1m_2017-11.csv", "1m"),
    "freqtrade/UNITTEST_BTC-5m.feather": ("crypto/spot_ETHBTC_5m_2018-01.csv", "5m"),
    "freqtrade/XRP_ETH-1m.feather": ("crypto/spot_XRPETH_1m_2019-10.csv", "1m"),
    "freqtrade/XRP_USDT_USDT-5m-futures.feather": ("crypto/usdm_XRPUSDT_5m_2021-11.csv", "5m"),
    "freqtrade/XRP_USDT_USDT-1h-mark.feather": ("crypto/usdm_XRPUSDT_1h_mark_2021-11.csv", "1h"),
    "BurningSpy_freqtrade/BTC_USDT_USDT-15m-futures.feather": (
        "crypto/usdm_BTCUSDT_15m_2024-02.csv", "15m"),
    "BurningSpy_freqtrade/ETH_USDT_USDT-8h-mark.feather": (
        "crypto/usdm_ETHUSDT_8h_mark_2024-02.csv", "8h"),
    "backtrader/orcl-1995-2014.txt": ("equities/daily_ORCL_1995-2014.csv", "1d"),
    "backtrader/2006-day-001.txt": ("equities/daily_INDEX-2006-day-001_2006.csv", "1d"),
    "backtrader/2006-min-005.txt": ("equities/5m_INDEX-2006-min-005_2006.csv", "5m"),
}  # fmt: skip
FUNDING = {
    "freqtrade/XRP_USDT_USDT-8h-funding_rate.feather": "crypto/usdm_XRPUSDT_8h_funding_2021-11.csv",
    "BurningSpy_freqtrade/BTC_USDT_USDT-8h-funding_rate.feather": (
        "crypto/usdm_BTCUSDT_8h_funding_2024-02.csv"),
}  # fmt: skip


@pytest.mark.parametrize("original", PAIRS)
def test_an_original_file_reads_to_its_converted_twin(original: str, shared_data: Path) -> None:
    twin, timeframe = PAIRS[original]
    got = read_bar_file(shared_data / "orig" / original, timeframe)
    want = read_bar_file(shared_data / twin, timeframe)
    assert len(got) == len(want) > 50
    np.testing.assert_array_equal(got.open_ms, want.open_ms)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


@pytest.mark.parametrize("original", FUNDING)
def test_a_freqtrade_funding_file_reads_to_its_converted_twin(
    original: str, shared_data: Path
) -> None:
    got = read_funding_file(shared_data / "orig" / original)
    want = read_funding_file(shared_data / FUNDING[original])
    assert len(got) == len(want) > 40
    np.testing.assert_array_equal(got.ts, want.ts)  # the source's ms offsets kept
    np.testing.assert_array_equal(got.rate, want.rate)


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume"


def test_a_dated_csv_takes_iso_times_any_case_and_no_volume(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", ["datetime,OPEN,high,Low,close",
                                     "2024-02-22T09:00:00+01:00,10,11,9,10.5",
                                     "2024-02-22 08:15,10.5,11,10,10.75"])  # fmt: skip
    bars = read_bar_file(path, "15m")
    assert bars.open_ms.tolist() == [1708588800000, 1708589700000]
    assert bars.volume.tolist() == [0.0, 0.0] and bars.close.tolist() == [10.5, 10.75]


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        ([YAHOO, "2024-02-30,1,2,0.5,1.5,1.4,10"],
         "line 2, column 'Date': cannot read '2024-02-30' as a date"),
        ([YAHOO, "2024-02-22,1,2,0.5,null,1.4,10"],
         "line 2, column 'Close': cannot read 'null' as a finite number"),
        (["Date,Open,High,Low,Close,Volume,Dividends", "2024-02-22,1,2,0.5,1.5,10,0"],
         "unexpected column(s) Dividends (expected Date[,Time],Open,High,Low,Close[,Volume]"),
        (["Date,Open,High,Close", "2024-02-22,1,2,1.5"], "missing column(s) low"),
        ([YAHOO, "2024-02-23,1,2,0.5,1.5,1.4,10", "2024-02-22,1,2,0.5,1.5,1.4,10"],
         "line 3: ts 1708560000000 is not after the previous row's ts 1708646400000"),
        ([YAHOO, "2024-02-22,1,2,0.5,1.5,1.4", ], "line 2: expected 7 values, found 6"),
    ],
    ids=["bad date", "null price", "unknown column", "no low", "not increasing", "short row"],
)  # fmt: skip
def test_a_broken_dated_csv_is_one_line_naming_the_place(
    tmp_path: Path, lines: list[str], needle: str
) -> None:
    path = write(tmp_path, "yahoo.txt", lines)
    with pytest.raises(DataError) as err:
        read_bar_file(path, "1d")
    assert str(err.value).startswith(f"{path}: ") and needle in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_a_broken_feather_file_is_one_line(tmp_path: Path) -> None:
    junk = write(tmp_path, "x.feather", ["not arrow"])
    with pytest.raises(DataError, match=r"x\.feather: not a readable Arrow/feather file"):
        read_bar_file(junk)
    table = pa.table({"date": pa.array([1, 2], pa.timestamp("ms", tz="UTC")),
                      "open": [1.0, 2.0]})  # fmt: skip
    short = tmp_path / "short.feather"
    feather.write_feather(table, short)
    with pytest.raises(DataError, match="missing column"):
        read_bar_file(short)
    with pytest.raises(DataError, match=r"funding\.feather: row 2: duplicate timestamp 5$"):
        read_funding_file(_funding(tmp_path, [5, 5]))


def _funding(tmp_path: Path, stamps: list[int]) -> Path:
    path = tmp_path / "funding.feather"
    table = pa.table({"date": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
                      "open": [0.0001] * len(stamps)})  # fmt: skip
    feather.write_feather(table, path)
    return path


def test_json_rows_as_ccxt_gives_them_read_exactly(tmp_path: Path, shared_data: Path) -> None:
    """`[[ts, open, high, low, close, volume], ...]`, as ccxt's fetch_ohlcv returns them."""
    import json

    want = read_bar_file(shared_data / "crypto" / "usdm_BTCUSDT_15m_2024-02.csv", "15m")
    rows = [[int(t), o, h, lo, c, v] for t, o, h, lo, c, v in zip(
        want.open_ms.tolist(), want.open.tolist(), want.high.tolist(), want.low.tolist(),
        want.close.tolist(), want.volume.tolist(), strict=True)]  # fmt: skip
    path = tmp_path / "BTCUSDT-15m.json"
    path.write_text(json.dumps(rows))
    got = read_bar_file(path, "15m")
    np.testing.assert_array_equal(got.open_ms, want.open_ms)
    np.testing.assert_array_equal(got.close, want.close)
    np.testing.assert_array_equal(got.volume, want.volume)
    rows[3][2] = "x"
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError, match=r"json: row 4, column 'high': cannot read 'x' as a finite"):
        read_bar_file(path, "15m")
    path.write_text("[[1, 2")
    with pytest.raises(DataError, match=r"json: not valid JSON \(line 1"):
        read_bar_file(path)
