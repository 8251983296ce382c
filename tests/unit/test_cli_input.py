"""Issue 9 defect 4 and issue 11 item 7: CLI input never ends in an internal error, and the data
commands print human tables with UTC times, a summary and `--json`.

Every case runs the real `tradeterm` entry point (`cli.main`) on a real config in a temporary
folder; the candle store is real parquet on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeterm.cli import main

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "configs" / "default.toml"
HEADER = "ts,open,high,low,close,volume"
T = 1_708_592_100_000  # 2024-02-22 08:55 UTC, a 5m boundary


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    text = DEFAULT.read_text(encoding="utf-8").replace(
        'state_dir = "state"', f'state_dir = "{tmp_path / "state"}"'
    )
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def csv_file(tmp_path: Path, rows: list[str], name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def bars(n: int, *, start: int = T, step: int = 300_000, skip: tuple[int, ...] = ()) -> list[str]:
    return [f"{start + i * step},10,11,9,10.5,1" for i in range(n) if i not in skip]


def assert_user_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1, err  # one line
    assert "internal error" not in err and "Traceback" not in err
    for needle in needles:
        assert needle in err, err


# ---- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "0", "-1", "1e12", "ten"])
def test_sim_ticks_seconds_must_be_a_finite_sane_number(
    value: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "sim", "ticks", "--seconds", value, "--config", str(config))
    assert_user_error(code, err, "--seconds")


@pytest.mark.parametrize("value", ["nan", "inf", "1e309", "0", "-5"])
def test_run_duration_must_be_a_finite_positive_number(
    value: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "run", "--no-ui", "--duration", value, "--config", str(config))
    assert_user_error(code, err, "--duration")


# ---- data import: names, files, cells -----------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--venue", ".."),
        ("--venue", "."),
        ("--venue", ""),
        ("--venue", "a/../b"),
        ("--symbol", ".."),
        ("--symbol", "x" * 5000),
        ("--symbol", "R 100"),
        ("--symbol", ""),
    ],
)
def test_names_are_checked_before_anything_is_written(
    option: str, value: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {"--venue": "sim", "--symbol": "R_100"}
    good[option] = value
    path = csv_file(tmp_path, bars(3))
    argv = ["data", "import", str(path), "--timeframe", "5m", "--config", str(config)]
    code, _out, err = run(capsys, *argv, "--venue", good["--venue"], "--symbol", good["--symbol"])
    assert_user_error(code, err, option)
    assert len(err) < 300
    assert not (tmp_path / "state" / "candles").exists()


def test_the_venue_must_be_configured(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, bars(3))
    code, _out, err = run(
        capsys, "data", "import", str(path), "--venue", "binance", "--symbol", "BTCUSDT",
        "--timeframe", "5m", "--config", str(config),
    )  # fmt: skip
    assert_user_error(
        code, err, "--venue: no venue named 'binance' in the config (configured: sim)"
    )


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("9000000000000000000,10,11,9,10.5,1", "line 3: ts 9000000000000000000 is after 2200"),
        ("8990000000000000,10,11,9,10.5,1", "line 3: ts 8990000000000000 is after 2200"),
        ("9e18,10,11,9,10.5,1", "line 3: ts 9000000000000000000 is after 2200"),
        (f"{T + 300_000},-10,11,-11,10.5,1", "line 3: prices must be > 0"),
        (f"{T + 300_000},0,0,0,0,1", "line 3: prices must be > 0"),
        (f"{T + 300_000},10,11,9," + "7" * 5_000_000 + ",1", "line 3: cannot be parsed as CSV"),
        (f"{T + 300_000},10,11,9,{'1' * 200},1", "line 3: close 1.1111111111111111e+199 is"),
        ("1" * 300 + ",10,11,9,10.5,1", "line 3, column 'ts': a value of 300 characters"),
    ],
    ids=[
        "ts-9e18-int",
        "ts-8.99e15",
        "ts-9e18",
        "negative",
        "zero",
        "5MB-field",
        "long-cell",
        "ts-300-digits",
    ],
)
def test_bad_cells_name_the_line(
    row: str, needle: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, [f"{T},10,11,9,10.5,1", row])
    code, _out, err = run(
        capsys, "data", "import", str(path), "--venue", "sim", "--symbol", "R_100",
        "--timeframe", "5m", "--config", str(config),
    )  # fmt: skip
    assert_user_error(code, err, str(path), needle)
    assert len(err) < 400


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_hostile_data_files_are_refused_without_reading(
    kind: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "fifo":
        path = tmp_path / "bars.csv"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path / "dir.csv"
        path.mkdir()
    else:
        path = Path("/dev/zero")
    code, _out, err = run(
        capsys, "data", "import", str(path), "--venue", "sim", "--symbol", "R_100",
        "--timeframe", "5m", "--config", str(config),
    )  # fmt: skip
    assert_user_error(code, err, str(path), "not a candle file")


# ---- data import and check: human tables, --json, exit codes ---------------------------------
def test_import_prints_a_summary_with_utc_times_and_json(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, bars(20, skip=(5, 6, 7, 12)))
    argv = ["data", "import", str(path), "--venue", "sim", "--symbol", "R_100", "--timeframe", "5m"]
    code, out, err = run(capsys, *argv, "--config", str(config))
    assert code == 0, err
    assert "Gap(" not in out and "ImportReport(" not in out
    assert "new bars               16" in out
    assert "span (UTC)     2024-02-22 08:55 .. 2024-02-22 10:30" in out
    assert "gaps                    2  (4 missing bars)" in out
    assert "  2024-02-22 09:20    2024-02-22 09:35               3" in out  # a gap, in UTC
    code, out, err = run(capsys, *argv, "--json", "--config", str(config))
    data = json.loads(out)
    assert data["rows_added"] == 0 and data["replaced"] == 16
    assert data["gaps"][0] == {
        "start_ms": T + 5 * 300_000,
        "end_ms": T + 8 * 300_000,
        "start_utc": "2024-02-22T09:20:00Z",
        "end_utc": "2024-02-22T09:35:00Z",
        "missing": 3,
    }


def test_check_exits_1_on_gaps_and_lists_them(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = run(capsys, "data", "check", "--config", str(config))
    assert code == 0 and "no candles stored" in out
    clean = csv_file(tmp_path, bars(10), "clean.csv")
    holed = csv_file(tmp_path, bars(10, skip=(3,)), "holed.csv")
    for path, symbol in ((clean, "R_10"), (holed, "R_50")):
        assert main(["data", "import", str(path), "--venue", "sim", "--symbol", symbol,
                     "--timeframe", "5m", "--config", str(config)]) == 0  # fmt: skip
    capsys.readouterr()
    code, out, _err = run(capsys, "data", "check", "--config", str(config))
    assert code == 1
    assert "sim        R_10             5m          10 2024-02-22 08:55" in out
    assert "OK" in out and "DAMAGED" in out
    assert out.strip().endswith("2 series, 1 with problems: sim/R_50/5m: 1 gaps")
    code, out, _err = run(capsys, "data", "check", "--json", "--config", str(config))
    data = json.loads(out)
    assert code == 1 and data["damaged"] is True
    assert [s["problems"] for s in data["series"]] == [[], ["1 gaps"]]


def test_check_exits_1_on_an_unreadable_day_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, bars(10))
    assert main(["data", "import", str(path), "--venue", "sim", "--symbol", "R_100",
                 "--timeframe", "5m", "--config", str(config)]) == 0  # fmt: skip
    day = next((tmp_path / "state" / "candles").rglob("*.parquet"))
    day.write_bytes(b"not parquet at all")
    capsys.readouterr()
    code, out, _err = run(capsys, "data", "check", "--config", str(config))
    assert code == 1
    assert f"unreadable: {day.name}" in out and "1 unreadable files" in out


def test_check_exits_1_on_duplicates(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = csv_file(tmp_path, bars(4))
    assert main(["data", "import", str(path), "--venue", "sim", "--symbol", "R_100",
                 "--timeframe", "5m", "--config", str(config)]) == 0  # fmt: skip
    day = next((tmp_path / "state" / "candles").rglob("*.parquet"))
    table = pq.read_table(day)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), day)  # one row twice
    capsys.readouterr()
    code, out, _err = run(capsys, "data", "check", "--config", str(config))
    assert code == 1 and "1 duplicate rows" in out


# ---- pipes ----------------------------------------------------------------------------------
def test_a_closed_pipe_is_quiet(config: Path) -> None:
    """`tradeterm config schema | head -0`: no BrokenPipeError traceback, exit 141 like any
    Unix tool whose reader went away."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradeterm", "config", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == ""
