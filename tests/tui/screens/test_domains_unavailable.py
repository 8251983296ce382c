"""Issue 11 item 8: a domain the config does not provide reads "unavailable", never ON, and
cannot be switched on from the console."""

from __future__ import annotations

from tests.tui.screens.kit import Host, screen_text
from tradeterm.tui.screens import DomainsModal
from tradeterm.tui.views import DomainRow

ROWS = (
    DomainRow("synthetics", "paper", True),
    DomainRow("crypto_spot", "paper", True, available=False),
)


async def test_an_unavailable_domain_is_said_so_and_stays_off() -> None:
    app = Host(DomainsModal(ROWS))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[x] synthetics ON paper" in text
        assert "[-] crypto_spot unavailable: not in [domains]" in text
        assert "crypto_spot ON" not in text
        await pilot.press("down", "space", "enter", "a")  # try to switch it on
        await pilot.pause()
        assert app.results == [{}]
