"""Optuna storage for calibration studies: SQLite in WAL mode by default, PostgreSQL to share a
study between hosts (Optuna's own RDB storage; every worker is the same CLI command).

`sqlite:///state/optuna.db` is created in WAL mode before Optuna opens it (journal_mode=WAL is a
property of the file, so every later connection uses it), with a generous busy timeout so
several worker processes can write. `postgresql://user@host/db` is driven by psycopg 3.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from pathlib import Path

import optuna

from tradeterm.errors import UserError

SQLITE_TIMEOUT_S = 60.0
OPEN_ATTEMPTS = 4


def default_url(state_dir: str | Path) -> str:
    return f"sqlite:///{Path(state_dir) / 'optuna.db'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for other storages)."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def redact(url: str) -> str:
    """The URL without a password (user:secret@host -> user:***@host)."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    auth, _, host = rest.rpartition("@")
    user = auth.split(":", 1)[0]
    return f"{head}://{user}{':***' if ':' in auth else ''}@{host}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres://"))


def prepare_sqlite(path: Path) -> None:
    """Create the file (and its folder) in WAL mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    finally:
        conn.close()
    if str(mode).lower() != "wal":
        raise UserError(f"{path}: cannot switch the Optuna database to WAL mode (got {mode})")


def _sqlite_connection(path: Path) -> sqlite3.Connection:
    """One connection of the storage's pool: WAL (set on the file), synchronous=NORMAL (in WAL
    mode a crash can lose the last trials' writes but never corrupts the file; FULL would fsync
    every one of a trial's dozens of small writes, which costs ~100 ms a trial on an SD card or
    a busy disk), and a long busy timeout so several workers can share the file."""
    conn = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S, check_same_thread=False)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The Optuna storage behind `url` (sqlite:/// in WAL mode, or postgresql://)."""
    if not url.startswith(("sqlite:///", "postgresql", "postgres://", "mysql")):
        raise UserError(
            f"--storage {redact(url)!r}: expected sqlite:///PATH or postgresql://user@host/db"
        )
    path = sqlite_path(url)
    kwargs: dict[str, object] = {}
    if path is not None:
        prepare_sqlite(path)
        kwargs = {"creator": functools.partial(_sqlite_connection, path)}
    else:
        kwargs = {"pool_pre_ping": True}
    failure: Exception | None = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                _sqlalchemy_url(url), engine_kwargs=kwargs, heartbeat_interval=None
            )
        except Exception as exc:  # sqlalchemy/psycopg: unreachable server, bad credentials
            # workers starting together on a fresh database race to create Optuna's tables:
            # the loser sees a duplicate key; a moment later the tables are there
            failure = exc
            time.sleep(0.5 * (attempt + 1))
    what = str(failure).splitlines()[0][:200]
    raise UserError(f"--storage {redact(url)!r}: cannot open the study storage ({what})")
