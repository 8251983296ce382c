"""Report folders: every file, readable trades, a self-contained HTML page, no NaN in JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from tradeterm.backtest.metrics import compute_metrics
from tradeterm.backtest.reports import REPORT_FILES, fingerprint, write_report
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.config import config_from_dict
from tradeterm.domain.series import BarSeries

HOUR = 3_600_000
START = 1_709_251_200_000


def result() -> BacktestResult:
    trades = (
        BacktestTrade("BTCUSDT", 1, 1, 3, START + HOUR, START + 3 * HOUR, 0.5, 100.0, 110.0,
                      4.9, 0.1, 0.0, 2.0, 2.45, "take_profit", "ema_trend"),
        BacktestTrade("BTCUSDT", -1, 4, 5, START + 4 * HOUR, START + 5 * HOUR, 0.5, 108.0,
                      110.0, -1.2, 0.1, 0.1, 1.0, -1.2, "stop_loss", "ema_trend"),
    )  # fmt: skip
    return BacktestResult(
        engine="vector", strategy="ema_trend", params={"fast": 8}, symbols=("BTCUSDT",),
        timeframe="1h", initial_cash=1000.0, ts=START + np.arange(6, dtype=np.int64) * HOUR,
        equity=np.asarray([1000, 1000, 1002, 1004.9, 1004, 1003.7]),
        hodl=np.linspace(1000, 1100, 6), trades=trades, fees_paid=0.2, funding_paid=0.1,
        warnings=("BTCUSDT: 3 missing bars in 1 gaps (not filled)",),
    )  # fmt: skip


def test_report_folder_has_every_file(tmp_path: Path) -> None:
    run = result()
    bars = BarSeries.from_columns(run.ts, *(np.full(6, 100.0) for _ in range(4)), np.ones(6))
    cfg = config_from_dict({"wallets": {"paper_balance": 4242.0}})
    folder = write_report(run, compute_metrics(run), tmp_path / "reports", config=cfg,
                          data=fingerprint({"BTCUSDT": bars}, "1h", "test"))  # fmt: skip
    assert folder.parent == tmp_path / "reports"
    assert folder.name.endswith("_backtest_ema_trend_BTCUSDT")
    for name in REPORT_FILES:
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["trade_count"] == 2 and metrics["final_equity"] == 1003.7
    assert metrics["warnings"] == ["BTCUSDT: 3 missing bars in 1 gaps (not filled)"]
    with (folder / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["side"] for r in rows] == ["long", "short"]
    assert rows[0]["entry_time"] == "2024-03-01T01:00:00Z" and rows[1]["exit_reason"] == "stop_loss"
    assert json.loads((folder / "trades.json").read_text())[0]["pnl"] == 4.9
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # equity, underwater, pnl inline
    assert "http" not in page  # nothing fetched: opens offline
    assert "take_profit" in page and "missing bars" in page
    data = json.loads((folder / "data.json").read_text())
    assert data["bars"] == {"BTCUSDT": 6} and len(data["sha256"]) == 64
    assert json.loads((folder / "run.json").read_text())["params"] == {"fast": 8}
    assert json.loads((folder / "config.json").read_text())["wallets"]["paper_balance"] == 4242.0
    again = write_report(run, compute_metrics(run), tmp_path / "reports")
    assert again != folder  # the same second twice gets its own folder


def test_fingerprint_changes_with_the_data() -> None:
    ts = START + np.arange(4, dtype=np.int64) * HOUR
    a = BarSeries.from_columns(ts, *(np.full(4, 1.0) for _ in range(4)), np.ones(4))
    b = BarSeries.from_columns(
        ts, *(np.full(4, 1.0) for _ in range(3)), np.full(4, 2.0), np.ones(4)
    )
    assert fingerprint({"X": a}, "1h").sha256 != fingerprint({"X": b}, "1h").sha256
    assert fingerprint({"X": a}, "1h").sha256 == fingerprint({"X": a}, "1h").sha256
