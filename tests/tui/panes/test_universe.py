"""The universe pane lists markets by symbol and updates prices without losing the cursor."""

from __future__ import annotations

from tests.tui.panes.conftest import COMPACT, WIDE, Host, market
from tradeterm.tui.panes import UniversePane
from tradeterm.tui.views import UniverseView


async def test_markets_show_sorted_by_symbol_with_market_decimals_and_signed_change() -> None:
    pane = UniversePane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = UniverseView(
            (
                market("R_75", 101.0),
                market("EURUSD", 1.084321, decimals=5, change_pct=-0.34, spread=0.00012),
            )
        )
        await pilot.pause()
        assert pane.table.keys == ("sim:EURUSD", "sim:R_75")
        eurusd = [c.plain for c in pane.table.get_row("sim:EURUSD")]
        assert eurusd == [
            "EURUSD",
            "sim",
            "1.08432",
            "-0.3%",
            "0.00012",
            "2.50000",
            "trend/bull",
            "2",
        ]
        assert pane.table.text("sim:R_75", "change") == "+1.2%"


async def test_a_price_tick_updates_the_row_in_place_and_keeps_the_cursor_on_its_market() -> None:
    pane = UniversePane()
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = UniverseView((market("R_100", 2000.0), market("R_75", 100.0)))
        await pilot.pause()
        pane.table.move_cursor(row=1)
        assert pane.table.selected_key() == "sim:R_75"

        pane.view = UniverseView(
            (market("R_100", 2001.5), market("R_75", 100.5), market("R_10", 5.0))
        )
        await pilot.pause()
        assert pane.table.keys == ("sim:R_10", "sim:R_100", "sim:R_75")
        assert pane.table.text("sim:R_75", "last") == "100.50"
        assert pane.table.selected_key() == "sim:R_75"


async def test_a_warming_market_says_what_it_waits_for_never_a_silent_dash() -> None:
    pane = UniversePane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        view = (market("R_100", 2000.0, regime="", atr=float("nan"), bars=6),)
        pane.view = UniverseView(view, timeframe="1m", atr_period=14)
        await pilot.pause()
        assert pane.table.text("sim:R_100", "regime") == "warming up"
        assert pane.table.text("sim:R_100", "atr") == "6 bars"


async def test_the_headers_name_the_bars_and_the_period() -> None:
    pane = UniversePane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = UniverseView((market("R_100", 2000.0),), timeframe="1m", atr_period=14)
        await pilot.pause()
        labels = [str(c.label) for c in pane.table.columns.values()]
        assert "Chg% sess" in labels and "ATR14 1m" in labels and "Regime 1m" in labels
        assert pane.table.text("sim:R_100", "atr") == "2.50"


async def test_switching_to_the_light_theme_recolours_the_cells() -> None:
    pane = UniversePane()
    app = Host(pane)
    async with app.run_test(size=WIDE) as pilot:
        pane.view = UniverseView((market("R_100", 2000.0),))
        await pilot.pause()
        dark = pane.table.get_cell("sim:R_100", "change").style
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        light = pane.table.get_cell("sim:R_100", "change").style
        assert light != dark
        assert light == app.theme_variables["text-success"]
        assert pane.table.text("sim:R_100", "change") == "+1.2%"
