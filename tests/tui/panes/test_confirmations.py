"""Pending confirmations: a live TTL countdown, a stable selection for y/n, and enter for details."""

from __future__ import annotations

import asyncio
import time

from textual.app import ComposeResult
from textual.widgets import DataTable

from tests.tui.panes.conftest import COMPACT, WIDE, Host, UiClock, confirmation
from tradeterm.tui.panes import ConfirmationsPane
from tradeterm.tui.views import ConfirmationCosts, ConfirmationRow, ConfirmationsView


class RecordingHost(Host):
    """Host that records the confirmations the operator opened with enter."""

    def __init__(self, pane: ConfirmationsPane) -> None:
        super().__init__(pane)
        self.opened: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_confirmations_pane_selected(self, message: ConfirmationsPane.Selected) -> None:
        self.opened.append(message.confirmation_id)


COSTS = ConfirmationCosts(
    expected_entry=1235.1,
    fees=0.62,
    spread=0.3,
    slippage=0.2,
    funding=0.0,
    total=1.12,
    cost_r=0.065,
    net_reward_risk=2.7,
)
DECISIVE = ("ttl", "side", "qty", "symbol", "entry", "sl", "tp", "rr", "wallet", "strategy", "tf")


def costly(confirmation_id: str, ttl_s: float, **kw: object) -> ConfirmationRow:
    """A confirmation the gate priced: costs, current mark and timeframe included."""
    return confirmation(confirmation_id, ttl_s, timeframe="15s", mark=1236.0, costs=COSTS, **kw)


async def test_a_pending_confirmation_shows_its_order_and_seconds_left() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = ConfirmationsView((costly("c1", 42, explore=True),))
        await pilot.pause()
        row = [c.plain for c in pane.table.get_row("c1")]
        assert row == [
            "c1",
            "42s",
            "BUY",
            "0.5",
            "R_100",
            "1,234.50",
            "1,200.00",
            "1,338.00",
            "3.0",
            "2.7",
            "0.07R",
            "1,236.00",
            "PAPER synthetics",
            "ema_trend explore",
            "15s",
        ]
        assert not pane.query_one("#confirmations-empty").display


async def test_the_countdown_ticks_warns_and_ends_in_expired() -> None:
    clock = UiClock()
    pane = ConfirmationsPane(now_ms=clock)
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = ConfirmationsView((confirmation("c1", 42),))
        await pilot.pause()
        normal_style = pane.table.get_cell("c1", "ttl").style

        clock.advance(30)
        pane.refresh_ttl()
        warning = pane.table.get_cell("c1", "ttl")
        assert warning.plain == "12s"
        assert warning.style != normal_style

        clock.advance(9)
        pane.refresh_ttl()
        urgent = pane.table.get_cell("c1", "ttl")
        assert urgent.plain == "3s"
        assert urgent.style not in (normal_style, warning.style)

        clock.advance(5)
        pane.refresh_ttl()
        assert pane.table.text("c1", "ttl") == "expired"
        assert pane.table.text("c1", "symbol") == "R_100"


async def test_the_countdown_runs_by_itself_every_second() -> None:
    clock = UiClock()
    pane = ConfirmationsPane(now_ms=clock)
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = ConfirmationsView((confirmation("c1", 42),))
        await pilot.pause()
        clock.advance(60)
        deadline = time.monotonic() + 30  # the 1 s timer fires on its own; wait for it, bounded
        while pane.table.text("c1", "ttl") != "expired":
            assert time.monotonic() < deadline, "the 1 s countdown timer did not fire in 30 s"
            await asyncio.sleep(0.1)
        assert pane.table.text("c1", "ttl") == "expired"


async def test_the_selection_stays_on_the_same_confirmation_as_others_come_and_go() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = ConfirmationsView((confirmation("c1", 20), confirmation("c2", 40)))
        await pilot.pause()
        pane.table.move_cursor(row=1)
        assert pane.selected_id() == "c2"

        pane.view = ConfirmationsView((confirmation("c2", 40), confirmation("c3", 60)))
        await pilot.pause()
        assert pane.selected_id() == "c2"
        assert pane.confirmation("c3") is not None


async def test_enter_on_a_row_asks_the_app_to_open_that_confirmation() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    app = RecordingHost(pane)
    async with app.run_test(size=WIDE) as pilot:
        pane.view = ConfirmationsView((confirmation("c1", 20), confirmation("c2", 40)))
        await pilot.pause()
        pane.query_one(DataTable).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.opened == ["c2"]


async def test_with_nothing_pending_the_pane_says_so() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = ConfirmationsView((confirmation("c1", 20),))
        await pilot.pause()
        pane.view = ConfirmationsView(())
        await pilot.pause()
        assert pane.query_one("#confirmations-empty").display
        assert pane.selected_id() is None
        assert pane.table.row_count == 0


async def test_every_decisive_column_is_on_screen_from_120_columns() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    async with Host(pane).run_test(size=(120, 30)) as pilot:
        pane.view = ConfirmationsView(
            (costly("c1", 42, explore=True), costly("c2", 50, strategy="mean_revert"))
        )
        await pilot.pause()
        shown = pane.table.shown_columns
        assert set(DECISIVE) <= set(shown), shown
        assert [str(c.label) for c in pane.table.columns.values()][:3] == ["Id", "TTL", "Side"]


async def test_a_narrow_pane_hides_context_columns_first_and_keeps_the_order() -> None:
    pane = ConfirmationsPane(now_ms=UiClock())
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = ConfirmationsView((costly("c1", 42, explore=True),))
        await pilot.pause()
        shown = pane.table.shown_columns
        for key in ("ttl", "side", "qty", "symbol", "entry", "rr"):
            assert key in shown, shown
        assert "mark" not in shown and "strategy" not in shown
        assert pane.table.text("c1", "strategy") == "ema_trend explore"  # kept, for details
        # the widest row decides: no column is drawn past the pane's edge
        assert pane.table.virtual_size.width <= pane.table.scrollable_content_region.width
