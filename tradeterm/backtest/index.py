"""The research run index: every backtest in `state/research.db` (SQLite, WAL).

    index = RunIndex.open(state_dir)
    run_id = index.add(RunRecord(...))          # status "queued"
    index.start(run_id); index.finish(run_id, metrics, report_path)   # or index.fail(run_id, why)
    index.list(); index.get(run_id); index.delete(run_id)

A run's status moves along one table (queued -> running -> finished | failed; queued -> failed);
any other move is refused. Times are epoch ms UTC; lists and mappings are stored as JSON text.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tradeterm.errors import StorageError, UserError
from tradeterm.storage import sqlite_utils_lite

sqlite_utils = sqlite_utils_lite.load()

DB_NAME = "research.db"
Status = Literal["queued", "running", "finished", "failed"]
TRANSITIONS: dict[tuple[str, str], str] = {
    ("queued", "start"): "running",
    ("queued", "fail"): "failed",
    ("running", "finish"): "finished",
    ("running", "fail"): "failed",
}
"""(status, event) -> next status; nothing else is allowed."""

HEADLINE = ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown",
            "calmar", "win_rate", "profit_factor", "trade_count", "fees_paid", "funding_paid",
            "liquidated")  # fmt: skip
"""The metrics kept in the index (the report's metrics.json has them all)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    strategy TEXT NOT NULL,
    symbols TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    start_ms INTEGER,
    end_ms INTEGER,
    engine TEXT NOT NULL,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    report_path TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
"""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One indexed run as stored (id 0 before it is added)."""

    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    engine: str
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "backtest"
    start_ms: int | None = None
    end_ms: int | None = None
    id: int = 0
    status: str = "queued"
    created_ms: int = 0
    updated_ms: int = 0
    metrics: Mapping[str, Any] = field(default_factory=dict)
    report_path: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "kind": self.kind, "strategy": self.strategy,
            "symbols": list(self.symbols), "timeframe": self.timeframe, "engine": self.engine,
            "start_ms": self.start_ms, "end_ms": self.end_ms, "params": dict(self.params),
            "metrics": dict(self.metrics), "report_path": self.report_path, "error": self.error,
            "created_ms": self.created_ms, "updated_ms": self.updated_ms,
        }  # fmt: skip


def _now_ms() -> int:
    return int(time.time() * 1000)


def _row(row: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=int(row["id"]),
        status=str(row["status"]),
        kind=str(row["kind"]),
        strategy=str(row["strategy"]),
        symbols=tuple(json.loads(row["symbols"])),
        timeframe=str(row["timeframe"]),
        engine=str(row["engine"]),
        start_ms=row["start_ms"],
        end_ms=row["end_ms"],
        params=json.loads(row["params"]),
        metrics=json.loads(row["metrics"]),
        report_path=str(row["report_path"]),
        error=str(row["error"]),
        created_ms=int(row["created_ms"]),
        updated_ms=int(row["updated_ms"]),
    )


class RunIndex:
    """The runs table of `research.db`."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=busy_timeout_ms / 1000.0)
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.executescript(_SCHEMA)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StorageError(f"{self.path}: cannot open the research index: {exc}") from exc

    @classmethod
    def open(cls, state_dir: str | Path) -> RunIndex:
        return cls(Path(state_dir) / DB_NAME)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, sql: str, values: Sequence[Any]) -> sqlite3.Cursor:
        try:
            with self.db.conn:
                cursor: sqlite3.Cursor = self.db.conn.execute(sql, list(values))
                return cursor
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    def add(self, record: RunRecord) -> int:
        """Index a new run (status queued); returns its id."""
        now = _now_ms()
        cursor = self._write(
            "INSERT INTO runs (created_ms, updated_ms, status, kind, strategy, symbols, "
            "timeframe, start_ms, end_ms, engine, params) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [now, now, "queued", record.kind, record.strategy, json.dumps(list(record.symbols)),
             record.timeframe, record.start_ms, record.end_ms, record.engine,
             json.dumps(dict(record.params), default=str)],
        )  # fmt: skip
        return int(cursor.lastrowid or 0)

    def _move(self, run_id: int, event: str, **columns: Any) -> RunRecord:
        current = self.get(run_id)
        nxt = TRANSITIONS.get((current.status, event))
        if nxt is None:
            raise StorageError(f"run {run_id}: cannot {event} a {current.status} run")
        sets = {"status": nxt, "updated_ms": _now_ms(), **columns}
        assignments = ", ".join(f"{name} = ?" for name in sets)
        self._write(
            f"UPDATE runs SET {assignments} WHERE id = ? AND status = ?",
            [*sets.values(), run_id, current.status],
        )
        return self.get(run_id)

    def start(self, run_id: int) -> RunRecord:
        return self._move(run_id, "start")

    def finish(
        self, run_id: int, metrics: Mapping[str, Any], report_path: str | Path = ""
    ) -> RunRecord:
        """Mark finished with the headline metrics (the HEADLINE keys of `metrics`)."""
        headline = {k: metrics.get(k) for k in HEADLINE if k in metrics}
        return self._move(
            run_id, "finish", metrics=json.dumps(headline), report_path=str(report_path)
        )

    def fail(self, run_id: int, error: str) -> RunRecord:
        return self._move(run_id, "fail", error=error[:2000])

    def get(self, run_id: int) -> RunRecord:
        """The run, or UserError naming the unknown id."""
        row = self.db.conn.execute("SELECT * FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            raise UserError(
                f"backtests: no backtest run with id {run_id} (see `tradeterm backtests list`)"
            )
        names = [d[0] for d in self.db.conn.execute("SELECT * FROM runs LIMIT 0").description]
        return _row(dict(zip(names, row, strict=True)))

    def list(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        sql = "SELECT * FROM runs ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cursor = self.db.conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def delete(self, run_id: int) -> RunRecord:
        """Remove a run from the index (UserError for an unknown id); returns what it was."""
        record = self.get(run_id)
        self._write("DELETE FROM runs WHERE id = ?", [run_id])
        return record

    def delete_all(self) -> builtins.list[RunRecord]:
        records = self.list()
        self._write("DELETE FROM runs", [])
        return records
