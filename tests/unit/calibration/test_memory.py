"""The memory guard: under the threshold a worker waits; if memory does not come back it stops
cleanly (no trial started, the study resumable); when memory comes back it carries on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.unit.calibration.kit import settings, task
from tradeterm.calibration.memory import MB, MemoryGuard
from tradeterm.calibration.study import run_study

GB = 1 << 30


def test_threshold_is_the_smaller_of_mb_and_percent() -> None:
    guard = MemoryGuard(300, 20, total=lambda: GB)  # 20% of 1 GB = 205 MB < 300 MB
    assert guard.threshold() == int(0.2 * GB)
    big = MemoryGuard(300, 20, total=lambda: 16 * GB)
    assert big.threshold() == 300 * MB


def test_a_worker_under_the_threshold_waits_then_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    polls: list[int] = []

    def scarce() -> int:
        polls.append(1)
        return 10 * MB

    guard = MemoryGuard(300, 20, wait_s=0.3, poll_s=0.1, available=scarce, total=lambda: 8 * GB)
    with caplog.at_level(logging.INFO, logger="tradeterm.calibration.memory"):
        report = run_study(task(), settings(tmp_path, 5, guard=guard), poll_s=0.05)
    assert report.memory_stops == 1
    assert report.progress.done == 0  # no trial was started
    assert len(polls) >= 3  # it waited (polled again) before giving up
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "memory guard: worker 0 waits" in messages
    assert "memory guard: worker 0 stops" in messages and "resume" in messages
    again = run_study(task(), settings(tmp_path, 2, resume=True), poll_s=0.05)
    assert again.progress.done == 2  # resumable as it was left


def test_a_worker_resumes_when_memory_comes_back(tmp_path: Path) -> None:
    readings = iter([10 * MB, 10 * MB])

    def recovering() -> int:
        return next(readings, 4 * GB)

    guard = MemoryGuard(300, 20, wait_s=60, poll_s=0.05, available=recovering, total=lambda: 8 * GB)
    report = run_study(task(), settings(tmp_path, 2, guard=guard), poll_s=0.05)
    assert report.memory_stops == 0 and report.progress.done == 2
