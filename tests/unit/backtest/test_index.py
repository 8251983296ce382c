"""The research run index: statuses along one table, JSON columns, unknown ids refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeterm.backtest.index import RunIndex, RunRecord
from tradeterm.errors import StorageError, UserError


def record() -> RunRecord:
    return RunRecord(strategy="ema_trend", symbols=("R_100", "R_50"), timeframe="5m",
                     engine="vector", params={"fast": 8}, start_ms=1, end_ms=2)  # fmt: skip


def test_lifecycle_and_persistence(tmp_path: Path) -> None:
    with RunIndex.open(tmp_path) as index:
        run_id = index.add(record())
        assert index.get(run_id).status == "queued"
        assert index.start(run_id).status == "running"
        done = index.finish(run_id, {"final_equity": 1010.0, "sharpe": None, "exposure": 0.5},
                            tmp_path / "reports" / "x")  # fmt: skip
        assert done.status == "finished"
        assert done.metrics == {"final_equity": 1010.0, "sharpe": None}  # headline keys only
    assert (tmp_path / "research.db").is_file()
    with RunIndex.open(tmp_path) as again:  # reopened from disk
        got = again.get(run_id)
        assert got.symbols == ("R_100", "R_50") and got.params == {"fast": 8}
        assert got.report_path.endswith("reports/x")
        mode = again.db.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_illegal_moves_refused(tmp_path: Path) -> None:
    with RunIndex.open(tmp_path) as index:
        run_id = index.add(record())
        with pytest.raises(StorageError, match="cannot finish a queued run"):
            index.finish(run_id, {})
        index.start(run_id)
        assert index.fail(run_id, "boom").status == "failed"
        with pytest.raises(StorageError, match="cannot start a failed run"):
            index.start(run_id)
        assert index.get(run_id).error == "boom"


def test_list_newest_first_delete_and_unknown_ids(tmp_path: Path) -> None:
    with RunIndex.open(tmp_path) as index:
        ids = [index.add(record()) for _ in range(3)]
        assert [r.id for r in index.list()] == ids[::-1]
        assert index.delete(ids[1]).id == ids[1]
        assert [r.id for r in index.list()] == [ids[2], ids[0]]
        with pytest.raises(UserError, match=f"no backtest run with id {ids[1]}"):
            index.get(ids[1])
        with pytest.raises(UserError):
            index.delete(999)
        assert len(index.delete_all()) == 2 and index.list() == []
