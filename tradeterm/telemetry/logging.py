"""JSON-lines logging with correlation ids, and secret redaction on every record.

A correlation id follows one trade idea end to end: the signal id, carried by the allocator
decision, the intent, the risk decision, the orders (Order.signal_id) and their fills. The
`EventLogger` subscriber writes one line per pipeline event with `corr` set, so
`grep sig-3f2a... state/tradeterm.log` shows signal -> decision -> order -> fill.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from tradeterm.clock import Clock, format_ms

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


class TextFormatter(logging.Formatter):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
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
    """Configure the `tradeterm` logger tree (idempotent: replaces handlers set earlier)."""
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
        p.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(p, encoding="utf-8"))
    redactor = RedactingFilter(redact)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    return root
