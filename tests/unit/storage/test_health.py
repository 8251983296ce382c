"""Issue 9, defect 8: a write the disk refuses makes the storage DEGRADED with the reason (logged
once), new entries are refused until writes work again, and the log file never sprays Python's
"--- Logging error ---" blocks.

The full disk is real: SQLite's own SQLITE_FULL (a database capped with `max_page_count`, the
same error a full disk gives) and the kernel's ENOSPC (`/dev/full`)."""

from __future__ import annotations

import contextlib
import io
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.risk.kit import Book, intent, make_engine, wide
from tradeterm.clock import SimClock
from tradeterm.domain.enums import RiskVerdict
from tradeterm.errors import StorageError
from tradeterm.storage.db import Storage
from tradeterm.storage.health import HealthChange, StorageHealth
from tradeterm.storage.router import Stores
from tradeterm.telemetry.logging import route_log_failures, setup_logging


def fill_up(store: Storage) -> None:
    """Cap the database at its current size: the next growing write fails with SQLITE_FULL."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def write_until_full(store: Storage) -> StorageError:
    for i in range(10_000):
        try:
            store.put_meta(f"k{i}", "x" * 2000, i)
        except StorageError as exc:
            return exc
    raise AssertionError("the capped database never filled up")


def test_a_full_database_degrades_once_then_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = Stores.open(tmp_path, live=False)
    health = stores.health
    changes: list[HealthChange] = []
    health.listen(changes.append)
    fill_up(stores.paper)
    with caplog.at_level(logging.INFO, logger="tradeterm"):
        err = write_until_full(stores.paper)
        assert "database or disk is full" in str(err)
        assert health.degraded
        assert health.reason == f"{tmp_path / 'paper.db'}: database or disk is full"
        for _ in range(5):  # more failures: still one log line, one transition
            with pytest.raises(StorageError):
                stores.paper.put_meta("again", "y" * 5000, 1)
        degraded_lines = [r for r in caplog.records if "storage DEGRADED" in r.getMessage()]
        assert len(degraded_lines) == 1
        assert changes == [HealthChange(True, health.reason)]

        stores.paper.db.execute("PRAGMA max_page_count = 1000000")  # space again
        stores.paper.put_meta("after", "z", 2)
    assert not health.degraded and health.reason == ""
    assert changes[-1] == HealthChange(False, "")
    assert sum("can be written again" in r.getMessage() for r in caplog.records) == 1
    assert stores.paper.get_meta("after") == "z"  # and it was stored
    stores.close()


def test_the_risk_gate_refuses_entries_while_storage_is_degraded(tmp_path: Path) -> None:
    book = Book()
    book.fund(1000.0)
    engine, _clock = make_engine(book)
    store = Storage(tmp_path / "paper.db")
    engine.storage_health = store.health
    assert engine.evaluate(intent(wide())).verdict is not RiskVerdict.DENIED
    fill_up(store)
    write_until_full(store)
    denied = engine.evaluate(intent(wide(), n=2))
    assert denied.verdict is RiskVerdict.DENIED
    assert denied.reason_text.startswith("storage DEGRADED (")
    assert "database or disk is full" in denied.reason_text
    store.db.execute("PRAGMA max_page_count = 1000000")
    store.put_meta("ok", 1, 1)
    assert engine.evaluate(intent(wide(), n=3)).verdict is not RiskVerdict.DENIED
    store.close()


@pytest.fixture()
def tradeterm_logger() -> Iterator[logging.Logger]:
    """The `tradeterm` logger, put back as it was afterwards (setup_logging reconfigures it)."""
    root = logging.getLogger("tradeterm")
    saved = (list(root.handlers), root.level, root.propagate)
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
        with contextlib.suppress(OSError):
            handler.close()  # /dev/full refuses the last flush too
    handlers, root.level, root.propagate = saved
    for handler in handlers:
        root.addHandler(handler)


def test_a_log_file_on_a_full_disk_reports_once_without_logging_error_blocks(
    capfd: pytest.CaptureFixture[str], tradeterm_logger: logging.Logger
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available")
    stream = io.StringIO()
    setup_logging(SimClock(0), fmt="text", stream=stream, files=[Path("/dev/full")])
    health = StorageHealth()
    route_log_failures(health.failed, health.succeeded)
    log = logging.getLogger("tradeterm.test")
    for i in range(20):
        log.warning("line %d", i)
    err = capfd.readouterr().err
    assert "--- Logging error ---" not in err and "Traceback" not in err
    assert health.degraded and health.reason == "/dev/full: No space left on device"
    assert stream.getvalue().count("storage DEGRADED") == 1  # the stderr stream still works
    assert stream.getvalue().count("line 19") == 1


def test_a_failed_write_that_is_not_the_disk_does_not_degrade(tmp_path: Path) -> None:
    store = Storage(tmp_path / "paper.db")
    row = (
        "INSERT INTO audit (id, ts_ms, source, action, ok, data) VALUES ('a', 1, 's', 'x', 1, '{}')"
    )
    with store.atomic():
        store.db.execute(row)
    with pytest.raises(StorageError), store.atomic():
        store.db.execute(row)  # the same primary key again
    assert not store.health.degraded  # a constraint is a bug, not a full disk
    with pytest.raises(sqlite3.Error):
        store.db.execute("SELECT * FROM no_such_table")
    assert not store.health.degraded
    store.close()
