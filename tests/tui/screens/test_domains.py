"""Domain toggles: space/enter flips the focused domain; closing returns only what changed."""

from __future__ import annotations

import pytest

from tests.tui.screens.kit import SIZES, Host, screen_text
from tradeterm.tui.screens import DomainsModal
from tradeterm.tui.views import DomainRow

ROWS = (
    DomainRow("synthetics", "paper", True),
    DomainRow("crypto_spot", "live", True),
    DomainRow("forex", "paper", False),
    DomainRow("options", "off", False),
)


@pytest.mark.parametrize("size", SIZES)
async def test_every_domain_reads_on_or_off_in_words(size: tuple[int, int]) -> None:
    app = Host(DomainsModal(ROWS))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[x] synthetics ON paper" in text
        assert "[x] crypto_spot ON live" in text
        assert "[ ] forex OFF paper" in text
        assert "[ ] options OFF off in this stage" in text
        assert "forex and options always start OFF after a restart" in text
        assert "space/enter toggle" in text and "escape cancel" in text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("close", ["a", "escape"])
async def test_nothing_changed_returns_an_empty_dict(size: tuple[int, int], close: str) -> None:
    app = Host(DomainsModal(ROWS))
    async with app.run_test(size=size) as pilot:
        await pilot.press(close)
        await pilot.pause()
        assert app.results == [{}]


@pytest.mark.parametrize("size", SIZES)
async def test_only_the_toggled_domains_come_back(size: tuple[int, int]) -> None:
    app = Host(DomainsModal(ROWS))
    async with app.run_test(size=size) as pilot:
        await pilot.press("down", "down", "space")  # forex on
        await pilot.press("up", "up", "enter")  # synthetics off
        await pilot.press("down", "space", "space")  # crypto_spot off and back on: unchanged
        await pilot.pause()
        text = screen_text(app)
        assert "[x] forex ON paper (changed)" in text
        assert "[ ] synthetics OFF paper (changed)" in text
        assert "[x] crypto_spot ON live" in text and "live (changed)" not in text
        await pilot.press("a")
        await pilot.pause()
        assert app.results == [{"forex": True, "synthetics": False}]


async def test_escape_cancels_even_after_toggling() -> None:
    app = Host(DomainsModal(ROWS))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "down", "space", "escape")
        await pilot.pause()
        assert app.results == [{}]
