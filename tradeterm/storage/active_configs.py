"""Active configs: promoted calibration results the node trades with (table `active_configs` in
`state/research.db`, SQLite WAL; the same columns in PostgreSQL when configured).

Rows are never rewritten except for the `active` flag: promoting strategy S on timeframe T marks
the previous active row of (S, T) inactive and adds the new one, so the table is its own history.
Every promotion is also written to `calibration_audit` (who, when, what) in the same transaction.
The node reads the active rows at start (`load_active`); a missing database reads as none.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESEARCH_DB = "research.db"

COLUMNS = (
    "strategy",
    "version",
    "symbols",
    "timeframe",
    "params",
    "leverage",
    "margin_mode",
    "max_position_size",
    "score",
    "metrics",
    "study",
    "trial",
    "promoted_at",
    "promoted_by",
)

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS active_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    strategy TEXT NOT NULL,
    version TEXT NOT NULL,
    symbols TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    params TEXT NOT NULL,
    leverage REAL NOT NULL,
    margin_mode TEXT NOT NULL,
    max_position_size REAL NOT NULL,
    score REAL NOT NULL,
    metrics TEXT NOT NULL,
    study TEXT NOT NULL,
    trial INTEGER NOT NULL,
    promoted_at INTEGER NOT NULL,
    promoted_by TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS active_configs_active ON active_configs (strategy, timeframe, active);
CREATE TABLE IF NOT EXISTS calibration_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class ActiveConfig:
    """One promoted configuration (see the module text). Times are epoch ms UTC."""

    strategy: str
    version: str
    symbols: tuple[str, ...]
    timeframe: str
    params: Mapping[str, Any]
    leverage: float
    margin_mode: str
    max_position_size: float
    score: float
    metrics: Mapping[str, Any]
    study: str
    trial: int
    promoted_at: int
    promoted_by: str
    id: int = field(default=0, compare=False)

    def row(self) -> tuple[Any, ...]:
        """Values in COLUMNS order (JSON for the structured ones)."""
        return (
            self.strategy,
            self.version,
            json.dumps(list(self.symbols)),
            self.timeframe,
            json.dumps(dict(self.params), sort_keys=True),
            float(self.leverage),
            self.margin_mode,
            float(self.max_position_size),
            float(self.score),
            json.dumps(dict(self.metrics), sort_keys=True),
            self.study,
            int(self.trial),
            int(self.promoted_at),
            self.promoted_by,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ActiveConfig:
        def js(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        return cls(
            strategy=row["strategy"],
            version=row["version"],
            symbols=tuple(js(row["symbols"])),
            timeframe=row["timeframe"],
            params=js(row["params"]),
            leverage=float(row["leverage"]),
            margin_mode=row["margin_mode"],
            max_position_size=float(row["max_position_size"]),
            score=float(row["score"]),
            metrics=js(row["metrics"]),
            study=row["study"],
            trial=int(row["trial"]),
            promoted_at=int(row["promoted_at"]),
            promoted_by=row["promoted_by"],
            id=int(row["id"]),
        )


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating) the research database in WAL mode with the tables above."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SQLITE_SCHEMA)
    return conn


def save_active(path: str | Path, config: ActiveConfig) -> int:
    """Make `config` the active one for its (strategy, timeframe) and audit it; returns its id."""
    conn = connect(path)
    try:
        with conn:
            conn.execute(
                "UPDATE active_configs SET active = 0 WHERE strategy = ? AND timeframe = ?",
                (config.strategy, config.timeframe),
            )
            marks = ", ".join("?" for _ in COLUMNS)
            cur = conn.execute(
                f"INSERT INTO active_configs ({', '.join(COLUMNS)}) VALUES ({marks})",
                config.row(),
            )
            new_id = int(cur.lastrowid or 0)
            detail = {
                "id": new_id,
                "study": config.study,
                "trial": config.trial,
                "strategy": config.strategy,
                "timeframe": config.timeframe,
                "params": dict(config.params),
                "leverage": config.leverage,
            }
            conn.execute(
                "INSERT INTO calibration_audit (ts_ms, who, action, detail) VALUES (?, ?, ?, ?)",
                (config.promoted_at, config.promoted_by, "promote", json.dumps(detail)),
            )
        return new_id
    finally:
        conn.close()


def load_active(path: str | Path) -> list[ActiveConfig]:
    """The active rows, oldest promotion first (none when the database does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT * FROM active_configs WHERE active = 1 ORDER BY promoted_at, id"
        ).fetchall()
    except sqlite3.OperationalError:  # a research.db without the table yet
        return []
    finally:
        conn.close()
    return [ActiveConfig.from_row(dict(r)) for r in rows]


def load_audit(path: str | Path) -> list[dict[str, Any]]:
    """Promotion audit rows, newest first."""
    conn = connect(path)
    try:
        rows = conn.execute("SELECT * FROM calibration_audit ORDER BY id DESC").fetchall()
    finally:
        conn.close()
    return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]
