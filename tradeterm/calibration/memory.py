"""The memory guard a calibration worker checks before each trial (psutil).

A trial needs `min_available_mb` MB or `min_available_pct` % of total memory available, whichever
is smaller (so a 1 GB Pi asks ~200 MB, a big box 300 MB). Below it the worker waits, polling, up to
`wait_s`; if memory does not come back it stops cleanly, saying so on its log, and the study is
left resumable. `available` can be injected (tests, other probes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psutil

from tradeterm.config.models import CalibrationConfig

log = logging.getLogger(__name__)
MB = 1 << 20


def _available() -> int:
    return int(psutil.virtual_memory().available)


def _total() -> int:
    return int(psutil.virtual_memory().total)


@dataclass(frozen=True)
class MemoryGuard:
    """See the module text. `poll_s` is the wait between checks while memory is low."""

    min_available_mb: float = 300.0
    min_available_pct: float = 20.0
    wait_s: float = 60.0
    poll_s: float = 1.0
    available: Callable[[], int] = field(default=_available)
    total: Callable[[], int] = field(default=_total)

    @classmethod
    def from_config(cls, cfg: CalibrationConfig) -> MemoryGuard:
        return cls(cfg.min_available_mb, cfg.min_available_pct, cfg.memory_wait_s)

    def threshold(self) -> int:
        """Bytes of available memory a trial needs."""
        by_pct = self.total() * self.min_available_pct / 100.0
        return int(min(self.min_available_mb * MB, by_pct))

    def clear(self) -> bool:
        return self.available() >= self.threshold()

    def wait(self, stop: threading.Event | None = None, worker: str = "worker") -> bool:
        """True when a trial may start; False after waiting `wait_s` in vain (logged)."""
        if self.clear():
            return True
        need = self.threshold() / MB
        log.warning(
            "memory guard: %s waits: %.0f MB available, a trial needs %.0f MB",
            worker,
            self.available() / MB,
            need,
        )
        waited = 0.0
        pause = stop or threading.Event()
        while waited < self.wait_s:
            if pause.wait(min(self.poll_s, self.wait_s - waited)):
                return False
            waited += self.poll_s
            if self.clear():
                log.info("memory guard: %s resumes", worker)
                return True
        log.warning(
            "memory guard: %s stops: %.0f MB available after waiting %.0f s (needs %.0f MB); "
            "the study is left as is, resume it with the same command",
            worker,
            self.available() / MB,
            self.wait_s,
            need,
        )
        return False


def total_rss(pids: Iterable[int]) -> int:
    """Sum of the resident memory of these processes (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            total += int(psutil.Process(pid).memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total
