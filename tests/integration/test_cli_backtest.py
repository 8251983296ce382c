"""`tradeterm backtest` and `tradeterm backtests ...` end to end: the default config on a fresh
folder (a real subprocess), imported futures with their funding, walk-forward, and the index
commands with their refusals (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli_kit import DEFAULT, default_config_in, run
from tests.integration.parity_kit import SHARED

DONE_WHEN = ("metrics.json", "trades.csv", "trades.json", "equity.png", "underwater.png",
             "report.html", "config.json", "data.json")  # fmt: skip
CRYPTO = SHARED / "crypto"


def assert_refused(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    assert needle in err, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert re.match(r"^(--|\S+?: )", err), f"{err!r} names no option, command or file"


def test_default_config_backtests_on_a_fresh_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADETERM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tradeterm", "backtest", "--config", str(DEFAULT)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "final_equity" in out and "max_drawdown" in out and "calmar" in out
    assert "Equity: ema_trend" in out and "HODL" in out  # the terminal chart
    folders = sorted((tmp_path / "reports").iterdir())
    strategies = ("ema_trend", "mean_revert", "breakout", "vol_squeeze", "impulse_fade")
    assert len(folders) == len(strategies)
    for name in strategies:
        (folder,) = [f for f in folders if f"_backtest_{name}_" in f.name]
        for file in DONE_WHEN:
            assert (folder / file).stat().st_size > 0, f"{folder.name}/{file}"
        assert f"report: reports/{folder.name}" in out
    metrics = json.loads(next(f for f in folders if "ema_trend" in f.name).joinpath(
        "metrics.json").read_text())  # fmt: skip
    assert metrics["trade_count"] > 0 and metrics["bar_count"] > 3000
    # the run index lists all five; show / export / delete work on it
    monkeypatch.chdir(tmp_path)
    code, listed, _ = run(capsys, "backtests", "list", "--json", "--config", str(DEFAULT))
    records = json.loads(listed)
    assert code == 0 and len(records) == 5 and {r["status"] for r in records} == {"finished"}
    first = records[-1]
    code, shown, _ = run(capsys, "backtests", "show", str(first["id"]), "--config", str(DEFAULT))
    assert code == 0 and f"run {first['id']}: finished backtest" in shown and "calmar" in shown
    code, exported, _ = run(capsys, "backtests", "export", str(first["id"]), "--format", "csv",
                            "--config", str(DEFAULT))  # fmt: skip
    assert code == 0 and exported.startswith("symbol,side,entry_time,exit_time")
    assert exported.count("\n") == metrics_of(first) + 1
    code, _, _ = run(capsys, "backtests", "delete", str(first["id"]), "--config", str(DEFAULT))
    assert code == 0 and not Path(first["report_path"]).exists()
    code, _, err = run(capsys, "backtests", "show", str(first["id"]), "--config", str(DEFAULT))
    assert_refused(code, err, f"no backtest run with id {first['id']}")


def metrics_of(record: dict[str, object]) -> int:
    metrics = record["metrics"]
    assert isinstance(metrics, dict)
    return int(metrics["trade_count"])


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    return default_config_in(tmp_path)


def test_imported_futures_include_their_funding(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = ("--config", str(config))
    code, _, err = run(capsys, "data", "import", str(CRYPTO / "usdm_BTCUSDT_15m_2024-02.csv"),
                       "--venue", "binance_futures", "--symbol", "BTCUSDT", "--timeframe", "15m", *c)  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "data", "import", str(CRYPTO / "usdm_BTCUSDT_8h_funding_2024-02.csv"),
                         "--venue", "binance_futures", "--symbol", "BTCUSDT", "--kind", "funding", *c)  # fmt: skip
    assert code == 0 and "51 funding rows" in out, err
    code, out, err = run(capsys, "data", "import", str(CRYPTO / "usdm_BTCUSDT_8h_mark_2024-02.csv"),
                         "--venue", "binance_futures", "--symbol", "BTCUSDT", "--kind", "mark",
                         "--timeframe", "8h", "--json", *c)  # fmt: skip
    assert code == 0 and json.loads(out)["rows_added"] == 51, err
    code, out, err = run(capsys, "backtest", "--symbol", "BTCUSDT", "--strategy", "breakout",
                         "--cash", "10000", "--json", *c)  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)  # stdout is only JSON
    assert doc["trade_count"] > 0 and doc["final_equity"] == doc["metrics"]["final_equity"]
    assert doc["metrics"]["funding_paid"] != 0.0
    assert doc["timeframe"] == "15m" and "binance_futures" in doc["data"]["source"]
    assert sum(t["funding"] for t in json.loads(
        (Path(doc["report"]) / "trades.json").read_text())) != 0.0  # fmt: skip


def test_walk_forward_from_the_command_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "backtest", "--strategy", "ema_trend", "--symbol", "R_100",
                         "--bars", "4000", "--walk-forward", "--splits", "2", "--is-ratio", "0.6",
                         "--grid", "fast=8,12", "--grid", "slow=30,48", "--json",
                         "--config", str(config))  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    wf = doc["walk_forward"]
    assert wf["splits"] == 2 and wf["grid_size"] == 4 and len(wf["per_split"]) == 2
    assert all(s["params"]["fast"] in (8, 12) for s in wf["per_split"])
    assert (Path(doc["report"]) / "walkforward.png").stat().st_size > 0
    assert Path(doc["report"]).name.split("_", 1)[1].startswith("walkforward_ema_trend_R_100")


def test_the_event_engine_from_the_command_line_both_ways(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--engine event` skips idle bars by default; `--live-windows` plays every bar with the
    strategy on its rolling window; both make the same trades and end on the same equity."""
    docs = []
    for extra in ((), ("--live-windows",)):
        code, out, err = run(capsys, "backtest", "--strategy", "breakout", "--symbol", "R_100",
                             "--bars", "2500", "--engine", "event", "--no-report", "--json",
                             *extra, "--config", str(config))  # fmt: skip
        assert code == 0, err
        docs.append(json.loads(out))
    fast, live = docs
    assert fast["trade_count"] == live["trade_count"] > 0
    assert fast["final_equity"] == pytest.approx(live["final_equity"], rel=1e-9)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("backtests", "show", "424242"), "no backtest run with id 424242"),
        (("backtests", "export", "424242"), "no backtest run with id 424242"),
        (("backtests", "delete", "424242"), "no backtest run with id 424242"),
        (("backtests", "show", "abc"), "run id must be a number"),
        (("backtests", "delete", "--all"), "add --yes"),
        (("backtest", "--strategy", "nope"), "unknown strategy 'nope'"),
        (("backtest", "--symbol", "NOPEUSDT"), "NOPEUSDT: not in the candle store"),
        (("backtest", "--timeframe", "7m"), "unknown timeframe '7m'"),
        (("backtest", "--param", "fast"), "expected NAME=VALUE"),
        (("backtest", "--from", "yesterday"), "is not a date"),
        (("backtest", "--is-ratio", "1.5"), "--is-ratio 1.5"),
        (("backtest", "--live-windows"), "--live-windows applies to --engine event"),
        (
            ("data", "import", "x.csv", "--venue", "nope", "--symbol", "X", "--kind", "funding"),
            "not a venue kind",
        ),
    ],
)
def test_refusals_exit_2_with_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], needle: str
) -> None:
    code, _out, err = run(capsys, *argv, "--config", str(config))
    assert_refused(code, err, needle)
