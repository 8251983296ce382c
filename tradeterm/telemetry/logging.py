"""JSON-lines logging with correlation ids, and secret redaction on every record.

A correlation id follows one trade idea end to end: the signal id, carried by the allocator
decision, the intent, the risk decision, the orders (Order.signal_id) and their fills. The
`EventLogger` subscriber writes one line per pipeline event with `corr` set, so
`grep sig-3f2a... state/tradeterm.log` shows signal -> decision -> order -> fill.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from tradeterm.clock import Clock, format_ms
from tradeterm.errors import UserError

_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Replaces every loaded secret in a record's message and extras with ***."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RESERVED and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ms), level, logger, msg, then any `extra` fields."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": format_ms(self._clock.now_ms(), "%Y-%m-%dT%H:%M:%S")
            + f".{self._clock.now_ms() % 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


FailureHook = Callable[[str, str], None]
SuccessHook = Callable[[str], None]


class GuardedFileHandler(logging.FileHandler):
    """A log file that survives a full disk: a failed write never prints Python's
    "--- Logging error ---" block; the first failure of a spell is reported to `on_failure`
    (source, reason) or, before that is wired, as one line on stderr, and the next write that
    works is reported to `on_success`. Records that could not be written are dropped (the stderr
    stream and the databases are separate)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.on_failure: FailureHook | None = None
        self.on_success: SuccessHook | None = None
        self._failing = False
        self._failed_now = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging API)
        self._failed_now = True
        if self._failing:
            return
        self._failing = True
        exc = sys.exc_info()[1]
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or "write failed"
        if self.on_failure is not None:
            self.on_failure(self.baseFilename, why)
        else:
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"tradeterm: cannot write the log file {self.baseFilename}: {why}\n"
                )

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if self._failing and not self._failed_now:
            self._failing = False
            if self.on_success is not None:
                self.on_success(self.baseFilename)


def route_log_failures(on_failure: FailureHook, on_success: SuccessHook) -> None:
    """Send the log files' write failures and recoveries to the storage health."""
    for handler in logging.getLogger("tradeterm").handlers:
        if isinstance(handler, GuardedFileHandler):
            handler.on_failure = on_failure
            handler.on_success = on_success


def _text(value: Any) -> str:
    """An extra field as text: tables and lists as JSON, never as a Python repr."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


class TextFormatter(logging.Formatter):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={_text(v)}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        )
        line = f"{format_ms(self._clock.now_ms())} {record.levelname:<7} {record.name}: {record.getMessage()}"
        return f"{line} {extras}".rstrip()


def setup_logging(
    clock: Clock,
    *,
    level: str = "info",
    fmt: str = "json",
    stream: TextIO | None = sys.stderr,
    files: Iterable[str | Path] = (),
    redact: Callable[[str], str] = lambda s: s,
) -> logging.Logger:
    """Configure the `tradeterm` logger tree (idempotent: replaces handlers set earlier). Log
    files are opened in folders that must exist (nothing is created for them); UserError names a
    file that cannot be opened."""
    root = logging.getLogger("tradeterm")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level.upper())
    root.propagate = False
    formatter: logging.Formatter = JsonFormatter(clock) if fmt == "json" else TextFormatter(clock)
    handlers: list[logging.Handler] = []
    if stream is not None:
        handlers.append(logging.StreamHandler(stream))
    for path in files:
        p = Path(path)
        try:
            handlers.append(GuardedFileHandler(p))
        except OSError as exc:
            for handler in handlers:
                handler.close()
            raise UserError(
                f"{p}: cannot open the log file ({exc.strerror or exc}); check the folder exists"
                " and is writable (telemetry.log_file, storage.state_dir)"
            ) from None
    redactor = RedactingFilter(redact)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    return root
