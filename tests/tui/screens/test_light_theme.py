"""Every screen and modal reads the same under the light theme (colours come from theme variables)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen

from tests.tui.screens.kit import Host, screen_text
from tests.tui.screens.test_confirmation import T0, _row
from tests.tui.screens.test_domains import ROWS
from tests.tui.screens.test_flatten import _preview, _report
from tests.tui.screens.test_help import KEYS
from tests.tui.screens.test_stages import _view
from tradeterm.clock import SimClock
from tradeterm.tui.screens import (
    ConfirmationDetail,
    DomainsModal,
    FlattenModal,
    FlattenResultModal,
    HelpScreen,
    PromoteModal,
    QuitModal,
    StageScreen,
)

SCREENS: list[tuple[Callable[[], Screen[Any]], str]] = [
    (lambda: HelpScreen(KEYS), "b opens the backtest lab"),
    (lambda: FlattenModal(_preview()), "not armed: type FLATTEN"),
    (lambda: FlattenResultModal(_report()), "FAILED: cancel c7: unknown order"),
    (lambda: ConfirmationDetail(_row(), SimClock(T0).now_ms), "expires in 1m30s"),
    (lambda: StageScreen(_view(1, ready=False)), "NOT READY"),
    (lambda: PromoteModal(_view(1, ready=False)), "y is disabled until FORCE is typed"),
    (lambda: DomainsModal(ROWS), "[ ] forex OFF paper"),
    (lambda: QuitModal(False, 0, 0), "0 open positions stay open"),
]


@pytest.mark.parametrize(("build", "expected"), SCREENS)
async def test_screen_reads_under_the_light_theme(
    build: Callable[[], Screen[Any]], expected: str
) -> None:
    app = Host(build())
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "textual-light"
        await pilot.pause()
        assert expected in screen_text(app)
