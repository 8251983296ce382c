"""The universe pane: every market the book watches, with its last price and regime.

One row per market (keyed by MarketRow.key, sorted by symbol), updated in place as prices tick,
so the operator's cursor stays on the market it was on. Prices keep the market's decimals; the
change is signed so it reads without colour.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Static

from tradeterm.tui.panes.format import fmt_pct_points, fmt_price
from tradeterm.tui.panes.table import CellStyles, ColumnSpec, KeyedTable, Row, ViewPane, cell
from tradeterm.tui.views import MarketRow, UniverseView

COLUMNS = (
    ColumnSpec("symbol", "Symbol"),
    ColumnSpec("venue", "Venue", priority=3),
    ColumnSpec("last", "Last", right=True),
    ColumnSpec("change", "Chg%", right=True),
    ColumnSpec("spread", "Spread", right=True, priority=1),
    ColumnSpec("atr", "ATR", right=True),
    ColumnSpec("regime", "Regime"),
    ColumnSpec("arms", "Arms", right=True, priority=2),
)


def _regime_style(regime: str, styles: CellStyles) -> str:
    if regime.startswith("trend"):
        return styles.accent
    if regime.startswith("chop"):
        return styles.caution
    return styles.muted


def atr_cell(market: MarketRow, styles: CellStyles) -> Text:
    """The ATR, or how many bars it still waits for (never a silent dash)."""
    if math.isfinite(market.atr) and market.atr > 0:
        return cell(fmt_price(market.atr, market.decimals), right=True)
    return cell(f"{market.bars} bars", styles.muted, right=True)


def column_labels(view: UniverseView) -> dict[str, str]:
    """Headers that say which bars and period: "Chg% sess" (since the session's first price),
    "ATR14 1m", "Regime 1m" (the same regime the Arms pane shows)."""
    tf = f" {view.timeframe}" if view.timeframe else ""
    return {
        "change": "Chg% sess",
        "atr": f"ATR{view.atr_period}{tf}",
        "regime": f"Regime{tf}",
    }


def market_row(market: MarketRow, styles: CellStyles) -> Row:
    """One market as table cells: symbol, venue, last, change, spread, ATR, regime, arms."""
    change_style = styles.signed(round(market.change_pct, 1))
    return (
        market.key,
        (
            cell(market.symbol, "bold"),
            cell(market.venue, styles.muted),
            cell(fmt_price(market.last, market.decimals), right=True),
            cell(fmt_pct_points(market.change_pct), change_style, right=True),
            cell(fmt_price(market.spread, market.decimals), right=True),
            atr_cell(market, styles),
            cell(market.regime or "warming up", _regime_style(market.regime, styles)),
            cell(str(market.arms), right=True),
        ),
    )


class UniversePane(ViewPane):
    """Markets in the universe: last price, change, spread, ATR, regime and strategy arms."""

    DEFAULT_CSS = """
    UniversePane {
        height: 1fr;
        layout: vertical;
    }
    UniversePane > #universe-empty {
        height: auto;
        color: $text-muted;
        padding: 0 1;
    }
    """

    view: reactive[UniverseView | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows = self.memo(market_row)

    def compose(self) -> ComposeResult:
        yield Static("waiting for market data…", id="universe-empty")
        yield KeyedTable(COLUMNS, id="universe-table")

    @property
    def table(self) -> KeyedTable:
        """The market table (one row per market)."""
        return self.query_one("#universe-table", KeyedTable)

    def show_view(self) -> None:
        view = self.view
        markets = sorted(view.rows, key=lambda m: (m.symbol, m.venue)) if view else []
        self.query_one("#universe-empty", Static).display = not markets
        if view is not None:
            self.table.relabel(column_labels(view))
        self.table.sync(self._rows.rows(markets))
