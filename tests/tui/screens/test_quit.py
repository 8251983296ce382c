"""The quit prompt explains the safe shutdown for both shutdown policies; y quits, n stays."""

from __future__ import annotations

import pytest

from tests.tui.screens.kit import SIZES, Host, screen_text
from tradeterm.tui.screens import QuitModal


@pytest.mark.parametrize("size", SIZES)
async def test_positions_stay_open_by_default(size: tuple[int, int]) -> None:
    app = Host(QuitModal(flatten_on_shutdown=False, pending=2, positions=3))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Quit tradeterm?" in text
        assert "no new entries are taken" in text
        assert "working entry orders are cancelled" in text
        assert "3 open positions stay open" in text
        assert "CLOSED" not in text
        assert "2 pending confirmations will expire" in text
        assert "y quit · n / escape stay" in text
        await pilot.press("y")
        await pilot.pause()
        assert app.results == [True]


@pytest.mark.parametrize("size", SIZES)
async def test_flatten_on_shutdown_says_positions_are_closed(size: tuple[int, int]) -> None:
    app = Host(QuitModal(flatten_on_shutdown=True, pending=1, positions=1))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "1 open position is CLOSED at market (execution.flatten_on_shutdown)" in text
        assert "stay open" not in text and "stays open" not in text
        assert "1 pending confirmation expires" in text
        await pilot.press("n")
        await pilot.pause()
        assert app.results == [False]


async def test_escape_stays() -> None:
    app = Host(QuitModal(flatten_on_shutdown=False, pending=0, positions=1))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "1 open position stays open" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False]
