"""Trade history: every closed round trip, filtered by wallet, strategy or symbol, with each
wallet's equity curve drawn in the terminal (tradeterm.charts, plotext), so the operator need not open SQLite.

The table lists, newest first: close time (UTC), wallet, symbol, strategy, side, entry, exit,
exit reason, net PnL, fees, net R and hold time. The filter box takes words; a trade stays when
every word is found in its wallet, strategy or symbol. The curve of each wallet starts at its
starting balance and adds the net PnL of the listed trades in the order they closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from tradeterm.charts import Chart, Series, render_text
from tradeterm.domain.events import ClosedTrade
from tradeterm.tui.screens.confirmation import duration_text, price_text, qty_text

COLUMNS = (
    ("closed", "Closed UTC"),
    ("wallet", "Wallet"),
    ("symbol", "Symbol"),
    ("strategy", "Strategy"),
    ("side", "Side"),
    ("entry", "Entry"),
    ("exit", "Exit"),
    ("reason", "Exit reason"),
    ("pnl", "PnL"),
    ("fees", "Fees"),
    ("r", "Net R"),
    ("hold", "Hold"),
)


def matches(trade: ClosedTrade, words: Sequence[str]) -> bool:
    """Every word is in the trade's wallet, strategy or symbol (case-insensitive)."""
    hay = f"{trade.wallet_id} {trade.strategy} {trade.venue}:{trade.symbol}".lower()
    return all(word.lower() in hay for word in words)


def trade_cells(trade: ClosedTrade) -> tuple[Text, ...]:
    when = datetime.fromtimestamp(trade.closed_ms / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")
    pnl_style = "green" if trade.pnl > 0 else "red" if trade.pnl < 0 else ""
    return (
        Text(when, style="dim"),
        Text(trade.wallet_id),
        Text(trade.symbol, style="bold"),
        Text(trade.strategy),
        Text(f"{trade.side.value.upper()} {qty_text(trade.qty)}"),
        Text(price_text(trade.entry_price), justify="right"),
        Text(price_text(trade.exit_price), justify="right"),
        Text(trade.exit_reason or "-"),
        Text(f"{trade.pnl:+,.2f}", style=pnl_style, justify="right"),
        Text(f"{trade.fees:,.2f}", justify="right"),
        Text(f"{trade.r_multiple:+.2f}R", justify="right"),
        Text(duration_text((trade.closed_ms - trade.opened_ms) / 1000), justify="right"),
    )


def summary_text(trades: Sequence[ClosedTrade]) -> str:
    if not trades:
        return "no closed trades match"
    wins = sum(1 for t in trades if t.pnl > 0)
    pnl = sum(t.pnl for t in trades)
    fees = sum(t.fees for t in trades)
    r = sum(t.r_multiple for t in trades)
    return (
        f"{len(trades)} trades  win {wins / len(trades):.0%}  net PnL {pnl:+,.2f}"
        f"  fees {fees:,.2f}  net {r:+.2f}R"
    )


def equity_series(
    trades: Sequence[ClosedTrade], starting: dict[str, float]
) -> dict[str, list[float]]:
    """Per wallet: its starting balance, then after each listed trade (oldest first)."""
    out: dict[str, list[float]] = {}
    for trade in sorted(trades, key=lambda t: t.closed_ms):
        curve = out.setdefault(trade.wallet_id, [starting.get(trade.wallet_id, 0.0)])
        curve.append(curve[-1] + trade.pnl)
    return out


TITLE = "equity per wallet (starting balance + net PnL of the listed trades)"
COLORS = ("blue", "green", "orange", "magenta", "cyan", "red")


def equity_chart(series: dict[str, list[float]], width: int, height: int) -> str:
    """The equity curves as terminal text (ANSI colours), one labelled line per wallet, drawn by
    the shared chart renderer (tradeterm.charts, plotext)."""
    chart = Chart(
        TITLE,
        series=tuple(
            Series(
                wallet,
                np.arange(len(curve), dtype=np.float64),
                np.asarray(curve, dtype=np.float64),
                color=COLORS[i % len(COLORS)],
            )
            for i, (wallet, curve) in enumerate(series.items())
        ),
        x_label="closed trades",
    )
    return render_text(chart, max(20, width), max(6, height))


class TradeHistoryScreen(ModalScreen[None]):
    """Closed trades with a filter, a summary and an equity curve per wallet."""

    DEFAULT_CSS = """
    TradeHistoryScreen { align: center middle; }
    TradeHistoryScreen > #history-box {
        width: 100%;
        height: 100%;
        border: thick $accent;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    TradeHistoryScreen #trades { height: 1fr; min-height: 4; }
    TradeHistoryScreen #equity { height: auto; }
    TradeHistoryScreen #summary { text-style: bold; }
    TradeHistoryScreen .hint { color: $text-muted; }
    """
    AUTO_FOCUS = "#trades"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self, trades: Sequence[ClosedTrade], starting: dict[str, float]) -> None:
        super().__init__()
        self.trades = tuple(trades)
        self.starting = dict(starting)
        self.words: tuple[str, ...] = ()

    @property
    def shown(self) -> list[ClosedTrade]:
        """The trades the filter keeps, newest first."""
        return [t for t in self.trades if matches(t, self.words)]

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box") as box:
            box.border_title = "TRADE HISTORY"
            yield Input(placeholder="filter: wallet, strategy or symbol words", id="filter")
            yield Static(id="summary")
            yield DataTable(id="trades", cursor_type="row", zebra_stripes=True)
            yield Static(id="equity")
            yield Static("/ filter · up/down scroll · escape close", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#trades", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.show()

    def on_resize(self) -> None:
        self.show_chart()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self.words = tuple(event.value.split())
        self.show()

    @on(Input.Submitted, "#filter")
    def _done(self) -> None:
        self.query_one("#trades", DataTable).focus()

    def show(self) -> None:
        shown = self.shown
        table = self.query_one("#trades", DataTable)
        table.clear()
        for trade in shown:
            table.add_row(*trade_cells(trade), key=trade.id)
        self.query_one("#summary", Static).update(summary_text(shown))
        self.show_chart()

    def show_chart(self) -> None:
        series = equity_series(self.shown, self.starting)
        chart = self.query_one("#equity", Static)
        if not series:
            chart.update("no equity curve yet: no closed trades listed")
            return
        width = max(20, self.size.width - 6)
        height = max(6, min(14, self.size.height // 3))
        chart.update(Text.from_ansi(equity_chart(series, width, height)))

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)
