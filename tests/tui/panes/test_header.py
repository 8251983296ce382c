"""The header tells the operator, at a glance and without colour, which book runs and how."""

from __future__ import annotations

import pytest

from tests.tui.panes.conftest import COMPACT, WIDE, Host, header
from tradeterm.tui.panes import HeaderBar
from tradeterm.tui.views import VenueBadge, WalletBadge


def shown(bar: HeaderBar) -> list[str]:
    return bar.render().plain.split("\n")


async def test_wide_header_shows_badges_stage_state_pending_venues_and_utc_clock() -> None:
    bar = HeaderBar()
    async with Host(bar).run_test(size=WIDE) as pilot:
        bar.view = header()
        await pilot.pause()
        top, venues = shown(bar)
        assert "[PAPER synthetics]" in top
        assert "[LIVE crypto_spot]" in top
        assert "STAGE 2/5 crypto-live" in top
        assert "ACTIVE" in top
        assert "3 pending" in top
        assert top.endswith("14:26:07 UTC")
        assert "sim up 0.4s r0" in venues
        assert "deriv up 1.2s r1" in venues


async def test_compact_header_is_one_line_within_80_columns_and_keeps_the_essentials() -> None:
    bar = HeaderBar()
    async with Host(bar, compact=True).run_test(size=COMPACT) as pilot:
        bar.view = header(trading_state="HALTED", trading_reason="drawdown 15.3% >= 15%")
        await pilot.pause()
        lines = shown(bar)
        assert bar.size.height == 1
        assert len(lines) == 1
        line = lines[0]
        assert len(line) <= 80
        assert "LIVE" in line
        assert "PAPER" in line
        assert "HALTED" in line
        assert "14:26:07 UTC" in line
        assert "3 pending" in line


async def test_a_down_venue_says_down_and_stale_in_words() -> None:
    bar = HeaderBar()
    down = (VenueBadge("sim", True, 0.4, 0), VenueBadge("deriv", False, 12.0, 3))
    async with Host(bar).run_test(size=WIDE) as pilot:
        bar.view = header(venues=down, pending=0)
        await pilot.pause()
        top, venues = shown(bar)
        assert "deriv DOWN 12s r3 stale" in venues
        assert "pending" not in top


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_many_wallets_fold_into_counts_before_the_line_overflows(width: int) -> None:
    papers = [WalletBadge(f"paper_wallet_{i}", "PAPER") for i in range(4)]
    wallets = (*papers, WalletBadge("crypto_spot", "LIVE"))
    bar = HeaderBar()
    async with Host(bar, compact=True).run_test(size=(width, 24)) as pilot:
        bar.view = header(wallets=wallets)
        await pilot.pause()
        (line,) = shown(bar)
        assert len(line) <= width
        assert "[1 LIVE] [4 PAPER]" in line
        assert line.endswith("14:26:07 UTC")


async def test_before_the_first_view_the_header_says_it_is_starting() -> None:
    bar = HeaderBar()
    async with Host(bar).run_test(size=COMPACT):
        assert "starting" in bar.render().plain
