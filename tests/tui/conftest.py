"""Fixtures shared by the whole-console tests (flows and snapshots)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tui.kit import ConsoleUnderTest, make_console


@pytest.fixture
def new_console(tmp_path: Path) -> Callable[..., ConsoleUnderTest]:
    """Builds the console on a fresh state folder: `new_console(confirm="always", extra=...)`.
    Each call makes a new SimClock at START_MS unless `clock=` is passed (a restart)."""

    def build(**kw: Any) -> ConsoleUnderTest:
        return make_console(tmp_path, **kw)

    return build
