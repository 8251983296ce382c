"""Signals, newest first, with risk's decision filling in place and reasons kept whole."""

from __future__ import annotations

from tests.tui.panes.conftest import NOW, WIDE, Host, signal
from tradeterm.tui.panes import SignalsPane
from tradeterm.tui.panes.signals import MAX_ROWS, REASON_WIDTH
from tradeterm.tui.views import SignalsView


async def test_a_signal_shows_its_levels_and_its_decision_fills_in_place() -> None:
    pane = SignalsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = SignalsView((signal("s1", timeframe="15s"),))
        await pilot.pause()
        row = [c.plain for c in pane.table.get_row("s1")]
        assert row == [
            "14:26:07",
            "R_100",
            "ema_trend",
            "15s",
            "LONG",
            "",
            "1,234.50",
            "1,200.00",
            "1,338.00",
            "3.0",
            "72.0%",
            "",
        ]
        pane.view = SignalsView((signal("s1", decision="approved"),))
        await pilot.pause()
        assert pane.table.text("s1", "decision") == "approved"
        assert pane.table.row_count == 1


async def test_newest_signals_go_on_top_and_the_cursor_stays_with_a_chosen_signal() -> None:
    pane = SignalsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = SignalsView((signal("s2", ts_ms=NOW + 1000), signal("s1")))
        await pilot.pause()
        pane.table.move_cursor(row=1)
        pane.view = SignalsView(
            (signal("s3", ts_ms=NOW + 2000), signal("s2", ts_ms=NOW + 1000), signal("s1"))
        )
        await pilot.pause()
        assert pane.table.keys == ("s3", "s2", "s1")
        assert pane.table.selected_key() == "s1"


async def test_a_long_denial_reason_is_cut_on_screen_but_kept_whole() -> None:
    reason = "reward:risk 2.1 is below the wallet minimum of 3.0 (after resizing to the pair cap)"
    pane = SignalsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = SignalsView((signal("s1", decision="denied", reason=reason),))
        await pilot.pause()
        assert pane.reason("s1") == reason
        assert pane.table.text("s1", "decision") == "denied"
        on_screen = pane.table.render_line(1).text
        assert reason[: REASON_WIDTH - 2] in on_screen
        assert reason not in on_screen


async def test_at_most_200_signals_are_kept() -> None:
    pane = SignalsPane()
    many = tuple(signal(f"s{i}", ts_ms=NOW - i * 1000) for i in range(MAX_ROWS + 30))
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = SignalsView(many)
        await pilot.pause()
        assert pane.table.row_count == MAX_ROWS
        assert pane.table.keys[0] == "s0"


async def test_two_runners_of_one_strategy_differ_by_their_timeframe_column() -> None:
    pane = SignalsPane()
    async with Host(pane).run_test(size=(90, 24)) as pilot:
        pane.view = SignalsView(
            (
                signal("a", timeframe="5s", reason="x" * 40),
                signal("b", timeframe="15s", reason="x" * 40),
            )
        )
        await pilot.pause()
        assert pane.table.get_cell("a", "tf").plain == "5s"
        assert pane.table.get_cell("b", "tf").plain == "15s"
        # a narrow pane hides the levels and cuts nothing past its edge
        assert pane.table.virtual_size.width <= pane.table.scrollable_content_region.width
        assert "tf" in pane.table.shown_columns and "conf" not in pane.table.shown_columns
