"""Positions per wallet: one tab each (mode in words), tabs appear as wallets do, the operator's
tab stays put, and a closed position's row goes away."""

from __future__ import annotations

from tests.tui.panes.conftest import COMPACT, DERIV_CONTRACT, WIDE, Host, position, wallet
from tradeterm.tui.panes import PositionsPane
from tradeterm.tui.panes.positions import MULT_COLUMNS, PERP_COLUMNS
from tradeterm.tui.views import WalletsView


def label(pane: PositionsPane, wallet_id: str) -> str:
    return pane.tabs.get_tab(pane.tab_id(wallet_id)).label.plain


async def test_each_wallet_gets_a_tab_labelled_with_its_mode() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView((wallet("synthetics", "PAPER"),))
        await pilot.pause()
        assert pane.tabs.tab_count == 1
        pane.view = WalletsView((wallet("synthetics", "PAPER"), wallet("crypto_spot", "LIVE")))
        await pilot.pause()
        assert pane.tabs.tab_count == 2
        assert label(pane, "synthetics") == "PAPER synthetics"
        assert label(pane, "crypto_spot") == "LIVE crypto_spot"


async def test_the_summary_line_and_positions_show_inside_the_wallet_tab() -> None:
    pane = PositionsPane()
    positions = (position("p1"), position("p2", symbol="R_75", unrealized=-1.5, take_profit=1300.0))
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView((wallet("synthetics", positions=positions),))
        await pilot.pause()
        panel = pane.panel("synthetics")
        summary = str(panel.summary.content)
        assert summary == "equity 1,012.34 USD  uPnL +3.21  day +12.34  dd 1.2%  exposure 298.00"
        row = [c.plain for c in panel.table.get_row("p2")]
        assert row == [
            "R_75",
            "LONG",
            "0.5",
            "1,234.50",
            "1,240.00",
            "-1.50",
            "1,200.00",
            "1,300.00",
            "3m12s",
        ]
        assert panel.table.text("p1", "tp") == "—"


async def test_updates_keep_the_operators_tab_and_remove_closed_positions() -> None:
    pane = PositionsPane()
    both = (position("p1"), position("p2"))
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = WalletsView(
            (wallet("synthetics", positions=both), wallet("crypto_spot", "LIVE"))
        )
        await pilot.pause()
        pane.tabs.active = pane.tab_id("crypto_spot")
        await pilot.pause()

        pane.view = WalletsView(
            (wallet("synthetics", positions=(position("p2"),)), wallet("crypto_spot", "LIVE"))
        )
        await pilot.pause()
        assert pane.tabs.active == pane.tab_id("crypto_spot")
        assert pane.panel("synthetics").table.keys == ("p2",)


async def test_an_empty_wallet_says_no_open_positions() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView((wallet("synthetics", positions=(position("p1"),)),))
        await pilot.pause()
        panel = pane.panel("synthetics")
        empty = panel.query_one(".wallet-empty")
        assert not empty.display
        pane.view = WalletsView((wallet("synthetics"),))
        await pilot.pause()
        assert empty.display
        assert not panel.table.display
        assert panel.table.row_count == 0


async def test_a_wallet_turning_live_relabels_its_tab() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView((wallet("crypto_spot", "PAPER"),))
        pane.view = WalletsView((wallet("crypto_spot", "LIVE"),))
        await pilot.pause()
        assert label(pane, "crypto_spot") == "LIVE crypto_spot"


PERP = dict(
    symbol="ETHUSDT",
    entry=3000.0,
    mark=2950.0,
    stop_loss=2500.0,
    decimals=2,
    leverage=10.0,
    margin_mode="isolated",
    liquidation=2710.84,
    liq_distance=(2950.0 - 2710.84) / 2950.0,
    funding=0.6,
)


async def test_a_perp_wallet_shows_leverage_margin_liquidation_and_funding() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView(
            (
                wallet("paper:crypto_perp", positions=(position("e1", **PERP),)),
                wallet("paper:synthetics", positions=(position("s1"),)),
            )
        )
        await pilot.pause()
        table = pane.panel("paper:crypto_perp").table
        assert table.text("e1", "lev") == "10x"
        assert table.text("e1", "margin") == "isolated"
        assert table.text("e1", "liq") == "2,710.84"
        assert table.text("e1", "liq_dist") == "8.1%"
        assert table.text("e1", "funding") == "-0.60"  # paid: shown as what it cost
        shown = table.shown_columns
        assert {"lev", "margin", "liq", "liq_dist", "funding"} <= set(shown), shown
        # other wallets keep their columns
        assert "liq" not in pane.panel("paper:synthetics").table.shown_columns


async def test_a_narrow_perp_table_keeps_the_liquidation_distance_longest() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = WalletsView((wallet("paper:crypto_perp", positions=(position("e1", **PERP),)),))
        await pilot.pause()
        table = pane.panel("paper:crypto_perp").table
        for _ in range(50):  # the fit runs once the table knows its width
            if len(table.shown_columns) < len(PERP_COLUMNS):
                break
            await pilot.pause()
        shown = table.shown_columns
        assert "liq_dist" in shown, shown
        assert "margin" not in shown and "lev" not in shown, shown
        assert table.text("e1", "margin") == "isolated"  # kept for the details view


async def test_a_perp_without_a_liquidation_price_shows_dashes() -> None:
    pane = PositionsPane()
    flat = {**PERP, "liquidation": float("nan"), "liq_distance": float("nan"), "leverage": 1.0}
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView((wallet("paper:crypto_perp", positions=(position("e1", **flat),)),))
        await pilot.pause()
        table = pane.panel("paper:crypto_perp").table
        assert (table.text("e1", "liq"), table.text("e1", "liq_dist")) == ("—", "—")
        assert table.text("e1", "lev") == "1x"


def deriv_wallet(*rows: object) -> WalletsView:
    return WalletsView(
        (wallet("live:synthetics", "LIVE", positions=tuple(rows), multipliers=True),)  # type: ignore[arg-type]
    )


async def test_a_multiplier_wallet_shows_its_contracts() -> None:
    pane = PositionsPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = deriv_wallet(position("c1", **DERIV_CONTRACT))
        await pilot.pause()
        table = pane.panel("live:synthetics").table
        cells = {
            name: table.text("c1", name)
            for name in ("contract", "mult", "stake", "tp_amt", "sl_amt", "stop_out", "upnl")
        }
        assert cells == {
            "contract": "…000017",
            "mult": "x10",
            "stake": "120.27",
            "tp_amt": "15.73",
            "sl_amt": "-6.39",
            "stop_out": "1,092.38",
            "upnl": "+0.43",
        }
        assert set(table.shown_columns) == {c.key for c in MULT_COLUMNS}


async def test_a_narrow_multiplier_table_keeps_stake_pnl_and_tp_sl() -> None:
    pane = PositionsPane()
    no_tp = {**DERIV_CONTRACT, "tp_amount": float("nan")}
    async with Host(pane).run_test(size=COMPACT) as pilot:
        pane.view = deriv_wallet(position("c1", **no_tp))
        await pilot.pause()
        table = pane.panel("live:synthetics").table
        for _ in range(50):  # the fit runs once the table knows its width
            if len(table.shown_columns) < len(MULT_COLUMNS):
                break
            await pilot.pause()
        shown = table.shown_columns
        assert {"symbol", "stake", "upnl", "tp_amt", "sl_amt"} <= set(shown), shown
        assert "contract" not in shown, shown
        assert table.text("c1", "tp_amt") == "—"


async def test_a_cross_perp_shows_cross_and_its_wallet_liquidation_price() -> None:
    """Paper cross wallets (execution.paper_margin_mode = "cross") report "cross" and the
    wallet-wide liquidation price (ExecutionEngine.perp_margin); the pane shows both."""
    pane = PositionsPane()
    cross = {**PERP, "margin_mode": "cross", "liquidation": 2008.03,
             "liq_distance": (2950.0 - 2008.03) / 2950.0}  # fmt: skip
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = WalletsView(
            (wallet("paper:crypto_perp", positions=(position("e1", **cross),)),)
        )
        await pilot.pause()
        table = pane.panel("paper:crypto_perp").table
        assert table.text("e1", "margin") == "cross"
        assert table.text("e1", "liq") == "2,008.03"
        assert table.text("e1", "liq_dist") == "31.9%"
