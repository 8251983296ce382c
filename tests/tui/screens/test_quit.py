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


@pytest.mark.parametrize("size", SIZES)
async def test_positions_without_a_resting_stop_are_called_unprotected(
    size: tuple[int, int],
) -> None:
    app = Host(QuitModal(flatten_on_shutdown=False, pending=0, positions=3, unprotected=2))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "3 open positions stay open" in text
        assert (
            "2 of them have NO stop resting at the venue: UNPROTECTED while the node is down"
            in (text)
        )
        assert "protected while the node is down" not in text.replace("UNPROTECTED", "")


async def test_positions_with_resting_stops_are_said_to_be_protected() -> None:
    app = Host(QuitModal(flatten_on_shutdown=False, pending=0, positions=2, unprotected=0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "their stops and targets rest at the venue: protected while the node is down" in (
            text
        )
        assert "UNPROTECTED" not in text
