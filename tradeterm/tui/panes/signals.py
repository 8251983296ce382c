"""The signals pane: what the strategies proposed and what risk decided, newest first.

Each signal is one row keyed by its id, so when risk rules on it the Decision cell changes in
place from blank to "approved" / "denied ..." without the table jumping. Decisions are words
first, coloured second. The Reason column is cut to its width on screen; the full reason stays
in the row (`SignalsPane.reason(signal_id)`). At most `MAX_ROWS` signals are kept.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Static

from tradeterm.tui.panes.format import (
    fmt_clock,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_ratio,
    row_decimals,
)
from tradeterm.tui.panes.table import CellStyles, ColumnSpec, KeyedTable, Row, ViewPane, cell
from tradeterm.tui.views import SignalRow, SignalsView

MAX_ROWS = 200
"""Signals kept on screen; older ones scroll off the bottom for good."""

REASON_WIDTH = 32
"""Columns the Reason cell takes before it is cut."""

# what became of a signal sits beside its side: the levels after it may run past a narrow pane
COLUMNS = (
    ColumnSpec("time", "Time"),
    ColumnSpec("symbol", "Symbol"),
    ColumnSpec("strategy", "Strategy"),
    ColumnSpec("tf", "TF"),
    ColumnSpec("side", "Side"),
    ColumnSpec("decision", "Decision"),
    ColumnSpec("entry", "Entry", right=True, priority=3),
    ColumnSpec("sl", "SL", right=True, priority=4),
    ColumnSpec("tp", "TP", right=True, priority=4),
    ColumnSpec("rr", "RR", right=True, priority=2),
    ColumnSpec("conf", "Conf", right=True, priority=5),
    ColumnSpec("reason", "Reason", width=REASON_WIDTH, priority=1),
)
"""Which signal (time, market, strategy and its timeframe) and what became of it are always shown;
on a narrow pane the reason, then the levels hide (the full reason stays in the row)."""

_GOOD = ("approved", "resized", "filled", "executed", "confirmed")
_BAD = ("denied", "rejected", "expired", "cancelled", "canceled", "failed")
_WAITING = ("pending", "confirm")


def decision_style(decision: str, styles: CellStyles) -> str:
    """Colour of a decision word (the word itself is always shown)."""
    word = decision.split(" ", 1)[0].lower()
    if word in _GOOD:
        return styles.good
    if word in _BAD:
        return styles.bad
    if word in _WAITING:
        return styles.caution
    return styles.muted


def signal_row(signal: SignalRow, styles: CellStyles) -> Row:
    """One signal as table cells."""
    side = signal.side.upper()
    places = (
        signal.decimals
        if signal.decimals >= 0
        else row_decimals(signal.entry, signal.stop_loss, signal.take_profit)
    )
    return (
        signal.signal_id,
        (
            cell(fmt_clock(signal.ts_ms), styles.muted),
            cell(signal.symbol, "bold"),
            cell(signal.strategy),
            cell(signal.timeframe or "-", styles.muted),
            cell(side, styles.good if side in ("LONG", "BUY") else styles.bad),
            cell(signal.decision, decision_style(signal.decision, styles)),
            cell(fmt_price(signal.entry, places), right=True),
            cell(fmt_level(signal.stop_loss, places), right=True),
            cell(fmt_level(signal.take_profit, places), right=True),
            cell(fmt_ratio(signal.reward_risk), right=True),
            cell(fmt_pct(signal.confidence), right=True),
            cell(signal.reason, styles.muted),
        ),
    )


class SignalsPane(ViewPane):
    """Strategy signals with risk's decision and reason, newest on top."""

    DEFAULT_CSS = """
    SignalsPane {
        height: 1fr;
        layout: vertical;
    }
    SignalsPane > #signals-empty {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    view: reactive[SignalsView | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows = self.memo(signal_row)

    def compose(self) -> ComposeResult:
        yield Static("no signals yet", id="signals-empty")
        yield KeyedTable(COLUMNS, sticky_top=True, id="signals-table")

    @property
    def table(self) -> KeyedTable:
        """The signal table (one row per signal id, newest first)."""
        return self.query_one("#signals-table", KeyedTable)

    def reason(self, signal_id: str) -> str:
        """The full, uncut reason of a signal on screen."""
        return self.table.text(signal_id, "reason")

    def show_view(self) -> None:
        signals = self.view.rows[:MAX_ROWS] if self.view is not None else ()
        self.query_one("#signals-empty", Static).display = not signals
        self.table.sync(self._rows.rows(signals))
