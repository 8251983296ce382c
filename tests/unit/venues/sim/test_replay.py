"""Replay of real candles as a live tick feed, and the errors a broken file gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeterm.config.models import ReplaySourceConfig
from tradeterm.domain.enums import ContractKind, Domain
from tradeterm.errors import DataError
from tradeterm.venues.sim.replay import (
    ReplayChunks,
    load_candles,
    replay_instrument,
    replay_start_index,
)

HEADER = "ts,open,high,low,close,volume\n"
T0 = 1_700_000_040_000  # a whole minute


def write(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


@pytest.fixture
def three_bars(tmp_path: Path) -> Path:
    """A bullish, a bearish and a bullish one-minute bar."""
    return write(
        tmp_path / "bars.csv",
        HEADER
        + f"{T0},100,110,95,105,40\n"
        + f"{T0 + 60_000},105,108,90,92,8\n"
        + f"{T0 + 120_000},92,99,91,98,4\n",
    )


def test_each_bar_plays_open_then_the_plausible_extreme_then_close(three_bars: Path) -> None:
    candles = load_candles(three_bars)
    chunks = ReplayChunks(
        candles, bar_ms=60_000, speed=1.0, anchor_ms=5_000_000, start_index=0, loop=False
    )
    chunk = chunks()
    assert chunk is not None
    assert chunk.price.tolist() == [
        100, 95, 110, 105,  # bullish: O, L, H, C
        105, 108, 90, 92,  # bearish: O, H, L, C
        92, 91, 99, 98,
    ]  # fmt: skip
    assert chunk.size.tolist()[:4] == [10, 10, 10, 10]
    # Bar i plays at start + (ts_i - ts_first); its ticks spread over the bar.
    assert chunk.ts.tolist()[:5] == [5_000_000, 5_015_000, 5_030_000, 5_045_000, 5_060_000]
    assert chunks() is None  # no loop: the feed ends


def test_speed_compresses_time_and_loop_restarts(three_bars: Path) -> None:
    candles = load_candles(three_bars)
    chunks = ReplayChunks(candles, bar_ms=60_000, speed=60.0, anchor_ms=0, start_index=0, loop=True)
    first, second = chunks(), chunks()
    assert first is not None and second is not None
    # speed 60: one minute bar lasts one second of clock time.
    assert first.ts.tolist()[:4] == [0, 250, 500, 750]
    assert first.ts.tolist()[4] == 1000
    # After the last bar the file plays again from the first, continuing the clock.
    assert second.ts.tolist()[0] == 3000
    assert second.price.tolist()[:4] == first.price.tolist()[:4]


def test_history_position_leaves_bars_before_the_start(shared_data: Path) -> None:
    candles = load_candles(shared_data / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv")
    # 10 minutes of clock at speed 60 = 10 hours of file = 120 five-minute bars.
    assert replay_start_index(candles, speed=60.0, history_ms=600_000) == 120
    assert replay_start_index(candles, speed=60.0, history_ms=0) == 0
    # Never more than half the file goes to history.
    assert replay_start_index(candles, speed=1.0, history_ms=10**12) == len(candles) // 2
    chunks = ReplayChunks(
        candles, bar_ms=300_000, speed=60.0, anchor_ms=10**9, start_index=120, loop=False
    )
    chunk = chunks()
    assert chunk is not None
    assert int(chunk.ts[120 * 4]) == 10**9  # bar 120 plays at the start
    assert chunks.coverage_ms == 10**9 - 600_000


def test_parquet_files_replay_like_csv(three_bars: Path, tmp_path: Path) -> None:
    pq = tmp_path / "bars.parquet"
    pd.read_csv(three_bars).to_parquet(pq)
    a, b = load_candles(three_bars), load_candles(pq)
    assert np.array_equal(a.ts, b.ts) and np.array_equal(a.close, b.close)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("ts,open,high,low,close\n1,1,1,1,1\n", "missing column 'volume'"),
        (HEADER + f"{T0},1,2,0.5,1,1\n{T0 + 60_000},1,2,abc,1,1\n", "line 3: column 'low'"),
        (HEADER + f"{T0},1,2,0.5,1,1\n{T0 + 60_000},1,2,,1,1\n", "line 3: column 'low'"),
        (HEADER + f"{T0},1,2,0.5,1,1\n{T0},1,2,0.5,1,1\n", "line 3: column 'ts'"),
        (HEADER + f"{T0 + 60_000},1,2,0.5,1,1\n{T0},1,2,0.5,1,1\n", "not after"),
        (HEADER + f"{T0}.5,1,2,0.5,1,1\n", "line 2: column 'ts' is not whole"),
        (HEADER + f"{T0},1,0.9,0.5,1,1\n", "line 2: columns 'high'/'low'"),
        (HEADER, "no rows"),
        (HEADER + f"{T0},1,2,0.5,1,1,9\n", "cannot read"),
    ],
)
def test_broken_files_give_one_line_naming_file_and_place(
    tmp_path: Path, body: str, fragment: str
) -> None:
    path = write(tmp_path / "bad.csv", body)
    with pytest.raises(DataError) as err:
        load_candles(path)
    message = str(err.value)
    assert str(path) in message
    assert fragment in message
    assert "\n" not in message


def test_missing_file_and_bad_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_candles(tmp_path / "nope.csv")
    pq = tmp_path / "bad.parquet"
    pd.DataFrame({"ts": [1, 2], "open": [1.0, 2.0]}).to_parquet(pq)
    with pytest.raises(DataError, match="missing column 'high'"):
        load_candles(pq)
    ones = [1.0, 1.0]
    frame = {"ts": [1, 2], "open": ones, "high": ones, "low": [1.0, None], "close": ones}
    pd.DataFrame({**frame, "volume": ones}).to_parquet(pq)
    with pytest.raises(DataError, match="row 2: column 'low'"):
        load_candles(pq)


def test_replayed_instrument_kind_follows_the_domain(three_bars: Path) -> None:
    perp = ReplaySourceConfig(symbol="BTCUSDT", path=str(three_bars), timeframe="1m")
    spot = perp.model_copy(update={"domain": Domain.CRYPTO_SPOT})
    forex = perp.model_copy(update={"domain": Domain.FOREX})
    assert replay_instrument("sim", perp).kind is ContractKind.PERPETUAL
    assert replay_instrument("sim", spot).kind is ContractKind.SPOT
    assert replay_instrument("sim", forex).kind is ContractKind.SPOT
    inst = replay_instrument("sim", perp)
    assert (inst.tick_size, inst.lot_step, inst.min_notional) == (0.01, 0.001, 5.0)
    assert inst.domain is Domain.CRYPTO_PERP


def test_the_sim_venue_loads_without_pandas() -> None:
    """pandas (about 40 MB) is loaded only when a replay file is read, not by the venue."""
    code = "import sys, tradeterm.venues.sim.venue; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_plain_csv_reads_without_pandas_and_equals_the_pandas_read(shared_data: Path) -> None:
    """Small plain CSVs skip pandas' import (most of a first backtest's start-up); the numbers
    are the pandas path's, bit for bit, on every candle file of the shared data."""
    from tradeterm.venues.sim import replay

    files = sorted((shared_data / "crypto").glob("*_[0-9]*m_*.csv"))
    assert files
    for path in files:
        plain = replay._plain_csv(path)
        assert plain is not None, path
        frame, kind = replay._read_frame(path)
        for column in replay.COLUMNS:
            assert np.array_equal(plain[column], replay._numeric(frame, column, path, kind))
    code = (
        "import sys; from tradeterm.venues.sim.replay import load_candles; "
        f"c = load_candles({str(files[0])!r}); print(len(c), 'pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[1] == "False"


def test_plain_csv_takes_columns_by_name_and_leaves_odd_files_to_pandas(tmp_path: Path) -> None:
    from tradeterm.venues.sim import replay

    path = write(tmp_path / "wide.csv", f"volume,close,extra,ts,open,low,high\n"
                 f"4,98,x,{T0},92,91,99\n7,90,y,{T0 + 60_000},98,89,99\n")  # fmt: skip
    candles = load_candles(path)
    assert candles.ts.tolist() == [T0, T0 + 60_000]
    assert candles.high.tolist() == [99.0, 99.0] and candles.low.tolist() == [91.0, 89.0]
    assert candles.volume.tolist() == [4.0, 7.0]
    for body in (HEADER + f'"{T0}",1,2,0.5,1,1\n', HEADER + f"{T0},1,2,0.5,1, 1\n",
                 HEADER + f"{T0},1,2,0.5,1,1_0\n", "\ufeff" + HEADER + f"{T0},1,2,0.5,1,1\n"):  # fmt: skip
        assert replay._plain_csv(write(tmp_path / "odd.csv", body)) is None
