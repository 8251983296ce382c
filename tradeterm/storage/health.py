"""Whether tradeterm can write its state right now: OK, or DEGRADED with the reason.

A full disk, a read-only remount or an I/O error must not crash the node (nothing acknowledged is
lost: a failed write is never acknowledged), but neither may the node carry on as if all were
well. The databases and the log file report each failed write here; the first failure flips the
health to DEGRADED and is logged once, with the reason; the next write that works from every
failing source clears it (logged once too). While degraded, the risk gate refuses new entries
(exits and flatten still run) and `status` shows DEGRADED with the reason.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Listener = Callable[["HealthChange"], None]


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A transition: `degraded` now or not, and why (the failing sources' reasons)."""

    degraded: bool
    reason: str


def describe_failure(exc: BaseException) -> str:
    """One line for a failed write: the OS or SQLite reason, without Python reprs."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, sqlite3.Error):
        return str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


class StorageHealth:
    """Failing write sources (a database file, the log file) and their reasons."""

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}
        self._listeners: list[Listener] = []

    @property
    def degraded(self) -> bool:
        return bool(self._failing)

    @property
    def reason(self) -> str:
        """Every failing source and why, e.g. `state/paper.db: database or disk is full`."""
        return "; ".join(f"{source}: {why}" for source, why in self._failing.items())

    def listen(self, listener: Listener) -> None:
        """Call `listener` on every transition (degraded <-> ok)."""
        self._listeners.append(listener)

    def failed(self, source: str, why: str) -> None:
        """A write to `source` failed. The first failure of a source is logged (once)."""
        if source in self._failing:
            return
        was = self.degraded
        self._failing[source] = why
        log.error(
            "storage DEGRADED: cannot write %s: %s; new entries are refused until writes work",
            source,
            why,
            extra={"event": "storage.degraded", "source": source},
        )
        if not was:
            self._notify(HealthChange(True, self.reason))

    def succeeded(self, source: str) -> None:
        """A write to `source` worked: it no longer counts as failing."""
        if source not in self._failing:
            return
        del self._failing[source]
        log.warning(
            "storage: %s can be written again%s",
            source,
            "" if self.degraded else "; health OK, entries allowed",
            extra={"event": "storage.recovered", "source": source},
        )
        if not self.degraded:
            self._notify(HealthChange(False, ""))

    def _notify(self, change: HealthChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("storage health listener failed")
