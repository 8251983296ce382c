"""The help screen lists every key it is given, explains how keys act, and closes on escape/q/?."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tests.tui.screens.kit import SIZES, Host, screen_text
from tradeterm.tui.screens import HelpScreen

KEYS = [
    ("y", "Approve"),
    ("n", "Reject"),
    ("enter", "Details"),
    ("!", "Flatten all"),
    ("p", "Pause/Resume"),
    ("s", "Stages"),
    ("e", "Explore-"),
    ("E", "Explore+"),
    ("l", "Learning"),
    ("d", "Domains"),
    ("?", "Help"),
    ("ctrl+p", "Command palette"),
    ("q", "Quit"),
]


@pytest.mark.parametrize("size", SIZES)
async def test_help_lists_every_binding_passed_in(size: tuple[int, int]) -> None:
    help_screen = HelpScreen(KEYS)
    app = Host(help_screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = help_screen.query_one(DataTable)
        rows = [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]
        assert rows == KEYS
        text = screen_text(app)
        assert "Keys act on the selected confirmation" in text
        assert "b opens the backtest lab, B its run browser" in text
        assert "escape / q / ? close" in text


async def test_a_long_key_list_scrolls_from_the_keyboard_at_80x24() -> None:
    many = KEYS + [(f"f{i}", f"Report {i}") for i in range(1, 25)]
    app = Host(HelpScreen(many))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Report 24" not in screen_text(app)
        await pilot.press(*["pagedown"] * 6)
        await pilot.pause()
        assert "Report 24" in screen_text(app)


@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_closes_on_escape_q_and_question_mark(key: str) -> None:
    app = Host(HelpScreen(KEYS))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [None]
