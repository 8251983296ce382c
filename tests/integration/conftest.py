"""Integration tests run real processes on the real clock: compile the numba kernels once first,
so no test's timing depends on whether it happened to run first on a fresh install."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture(scope="session", autouse=True)
def _warm_numba_cache() -> None:
    subprocess.run(
        [sys.executable, "-m", "tradeterm.testing.warmup"],
        check=True,
        capture_output=True,
        timeout=900,
    )
