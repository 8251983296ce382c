"""h opens the trade history: every closed trade from the wallets' databases, newest first,
filtered by wallet/strategy/symbol words, with a summary and each wallet's equity curve."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import DataTable, Static

from tests.tui.kit import WIDE, ConsoleUnderTest, paper_db, press, run_until, started, text
from tradeterm.tui.screens import TradeHistoryScreen
from tradeterm.tui.screens.history import equity_series
from tradeterm.tui.screens.main import MainScreen

Factory = Callable[..., ConsoleUnderTest]


async def test_h_lists_closed_trades_filters_them_and_draws_equity(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: len(paper_db(app).load_trades()) >= 3, limit_s=1800)
        trades = sorted(paper_db(app).load_trades(), key=lambda t: t.closed_ms, reverse=True)

        await press(pilot, "h")
        screen = app.screen
        assert isinstance(screen, TradeHistoryScreen)
        table = screen.query_one("#trades", DataTable)
        assert [str(k.value) for k in table.rows] == [t.id for t in trades]
        newest = trades[0]
        cells = [str(c) for c in table.get_row(newest.id)]
        assert cells[2] == newest.symbol and cells[3] == newest.strategy
        assert cells[7] == (newest.exit_reason or "-")
        assert cells[8] == f"{newest.pnl:+,.2f}" and cells[10] == f"{newest.r_multiple:+.2f}R"
        shown = text(pilot)
        assert f"{len(trades)} trades" in shown and "net PnL" in shown
        assert "equity per wallet" in shown

        symbol = newest.symbol
        await press(pilot, "slash", *symbol)
        kept = [t.id for t in trades if t.symbol == symbol]
        assert [str(k.value) for k in table.rows] == kept
        assert f"{len(kept)} trades" in str(screen.query_one("#summary", Static).render())

        await press(pilot, "escape", "escape")
        assert isinstance(app.screen, MainScreen)


def test_the_equity_curve_starts_at_the_starting_balance_and_adds_each_trade() -> None:
    class T:
        def __init__(self, wallet: str, closed: int, pnl: float) -> None:
            self.wallet_id, self.closed_ms, self.pnl = wallet, closed, pnl

    trades = [T("a", 3, -1.0), T("a", 1, 2.0), T("b", 2, 5.0)]
    series = equity_series(trades, {"a": 100.0, "b": 50.0})  # type: ignore[arg-type]
    assert series == {"a": [100.0, 102.0, 101.0], "b": [50.0, 55.0]}
