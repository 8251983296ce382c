"""The allocator pane: exploration and learning in words, arms best-first."""

from __future__ import annotations

from tests.tui.panes.conftest import WIDE, Host, allocator, arm
from tradeterm.tui.panes import AllocatorPane


async def test_status_line_and_arms_sorted_by_posterior_mean() -> None:
    pane = AllocatorPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = allocator(arms=(arm("b", -0.1), arm("a", 0.42), arm("c", 0.9, trades=0)))
        await pilot.pause()
        assert str(pane.status.content) == "exploration 10% (25% in chop)  learning ON"
        assert pane.table.keys == ("c", "a", "b")
        assert [c.plain for c in pane.table.get_row("a")] == [
            "a",
            "+0.42",
            "0.31",
            "12",
            "10",
            "40.0%",
            "1.8",
        ]
        assert pane.table.text("c", "win") == "—"
        assert not pane.regimes.display


async def test_a_changed_ranking_reorders_arms_and_keeps_the_cursor_on_its_arm() -> None:
    pane = AllocatorPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = allocator(arms=(arm("a", 0.5), arm("b", 0.1)))
        await pilot.pause()
        pane.table.move_cursor(row=0)
        pane.view = allocator(arms=(arm("a", 0.05), arm("b", 0.1)), learning=False, exploration=0.2)
        await pilot.pause()
        assert pane.table.keys == ("b", "a")
        assert pane.table.selected_key() == "a"
        assert str(pane.status.content) == "exploration 20% (25% in chop)  learning OFF"


async def test_regimes_show_when_the_classifier_has_spoken() -> None:
    pane = AllocatorPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = allocator(regimes=(("sim:R_100", "trend/bull"), ("sim:R_75", "chop/bear")))
        await pilot.pause()
        assert pane.regimes.display
        assert str(pane.regimes.content) == "regimes sim:R_100 trend/bull  sim:R_75 chop/bear"
