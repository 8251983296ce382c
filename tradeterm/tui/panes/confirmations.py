"""The confirmations pane: orders waiting for the operator's yes or no, with a live countdown.

Rows are keyed by confirmation id, oldest (first to expire) on top. The TTL column counts down
every second from each row's expiry -- "42s", in the warning colour under 15 s, the error colour
under 5 s, then "expired" -- while the rest of the row is left untouched. The app's y/n keys ask
`selected_id()` which confirmation the cursor is on; enter posts `ConfirmationsPane.Selected`
so the app can open its details.

The countdown reads a UI clock (`now_ms`, wall time by default): it only paints seconds; the
engine's confirmation queue decides when a confirmation really expires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.events import Key
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from tradeterm.tui.panes.format import (
    fmt_level,
    fmt_price,
    fmt_qty,
    fmt_ratio,
    fmt_ttl,
    row_decimals,
    wallet_domain,
)
from tradeterm.tui.panes.table import CellStyles, ColumnSpec, KeyedTable, Row, ViewPane, cell
from tradeterm.tui.views import ConfirmationRow, ConfirmationsView

_NAVIGATION_KEYS = frozenset({"up", "down", "pageup", "pagedown", "home", "end", "k", "j"})

SETTLE_S = 0.6
"""How long a row that slid under the cursor (its predecessor expired or was decided) must have
been highlighted before y/n act on it: longer than a keypress already on its way, shorter than it
takes to read the row."""
WARN_UNDER_S = 15.0
URGENT_UNDER_S = 5.0

COLUMNS = (
    ColumnSpec("id", "Id", priority=2),
    ColumnSpec("ttl", "TTL", right=True),
    ColumnSpec("side", "Side"),
    ColumnSpec("qty", "Qty", right=True),
    ColumnSpec("symbol", "Symbol"),
    ColumnSpec("entry", "Entry", right=True),
    ColumnSpec("sl", "SL", right=True, priority=3),
    ColumnSpec("tp", "TP", right=True, priority=3),
    ColumnSpec("rr", "RR", right=True),
    ColumnSpec("net_rr", "NetRR", right=True, priority=6),
    ColumnSpec("costs", "Costs", right=True, priority=7),
    ColumnSpec("mark", "Mark", right=True, priority=8),
    ColumnSpec("wallet", "Wallet", priority=4),
    ColumnSpec("strategy", "Strategy", priority=5),
    ColumnSpec("tf", "TF", priority=5),
)
"""What is being approved comes first (side, size, market, levels); context after. Every decisive
column (side, qty, symbol, entry, SL, TP, RR, wallet, strategy, timeframe, TTL) fits from 120
columns up; a narrower pane hides the highest priority numbers first (mark, costs, net RR, then
strategy and timeframe, wallet, SL/TP, id) and the details view (enter) carries everything."""


def wall_clock_ms() -> int:
    """The console's own clock for countdowns (never used by an engine)."""
    return time.time_ns() // 1_000_000


def ttl_cell(expires_ms: int, now_ms: int, styles: CellStyles) -> Text:
    """The countdown cell: seconds left, coloured as expiry nears, "expired" at zero."""
    left = (expires_ms - now_ms) / 1000
    if left < URGENT_UNDER_S:
        style = f"bold {styles.bad}"
    elif left < WARN_UNDER_S:
        style = styles.caution
    else:
        style = ""
    return cell(fmt_ttl(left), style, right=True)


def confirmation_row(row: ConfirmationRow, now_ms: int, styles: CellStyles) -> Row:
    """One pending confirmation as table cells."""
    side = row.side.upper()
    places = (
        row.decimals
        if row.decimals >= 0
        else row_decimals(row.entry, row.stop_loss, row.take_profit)
    )
    strategy = " ".join(
        [row.strategy, *(["explore"] if row.explore else []), *(["canary"] if row.canary else [])]
    )
    costs = row.costs
    net = costs.net_reward_risk if costs is not None else float("nan")
    return (
        row.id,
        (
            cell(row.id, styles.muted),
            ttl_cell(row.expires_ms, now_ms, styles),
            cell(side, f"bold {styles.good}" if side in ("LONG", "BUY") else f"bold {styles.bad}"),
            cell(fmt_qty(row.qty), right=True),
            cell(row.symbol, "bold"),
            cell(fmt_price(row.entry, places), right=True),
            cell(fmt_level(row.stop_loss, places), right=True),
            cell(fmt_level(row.take_profit, places), right=True),
            cell(fmt_ratio(row.reward_risk), right=True),
            cell(fmt_ratio(net), "bold" if math.isfinite(net) else styles.muted, right=True),
            cell(f"{costs.cost_r:.2f}R" if costs is not None else "-", right=True),
            cell(fmt_price(row.mark, places) if math.isfinite(row.mark) else "-", right=True),
            cell(
                f"{'LIVE' if row.wallet_id.startswith('live:') else 'PAPER'} {wallet_domain(row.wallet_id)}"
            ),
            cell(strategy),
            cell(row.timeframe or "-"),
        ),
    )


class ConfirmationsPane(ViewPane):
    """Pending confirmations with a live TTL countdown; enter opens one, y/n act on the cursor."""

    DEFAULT_CSS = """
    ConfirmationsPane {
        height: 1fr;
        layout: vertical;
    }
    ConfirmationsPane > #confirmations-empty {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    view: reactive[ConfirmationsView | None] = reactive(None, always_update=True)

    class Selected(Message):
        """The operator pressed enter on a confirmation: show its details."""

        def __init__(self, confirmation_id: str) -> None:
            super().__init__()
            self.confirmation_id = confirmation_id

    def __init__(
        self,
        now_ms: Callable[[], int] = wall_clock_ms,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._now_ms = now_ms
        self.selection_lost = False
        """True while the row under the cursor is one that slid there by itself (the one before
        it expired or was decided) less than `SETTLE_S` ago: a key pressed in that moment was
        meant for the row that left, so it acts on nothing. Once the new row has been on screen
        under the cursor for `SETTLE_S`, it is what the operator sees highlighted, and y/n act on
        it. Moving the cursor is always a deliberate selection."""
        self._slid_ms = 0
        """When the row now under the cursor slid there (UI clock, ms)."""

    def compose(self) -> ComposeResult:
        yield Static("no pending confirmations", id="confirmations-empty")
        yield KeyedTable(COLUMNS, id="confirmations-table")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_ttl, name="confirmation-ttl")

    @property
    def table(self) -> KeyedTable:
        """The confirmation table (one row per pending confirmation)."""
        return self.query_one("#confirmations-table", KeyedTable)

    def selected_id(self) -> str | None:
        """The id of the confirmation under the cursor; None when there is none or when it slid
        under the cursor a moment ago (see `selection_lost`)."""
        if self.selection_lost and self._now_ms() - self._slid_ms >= SETTLE_S * 1000:
            self.selection_lost = False  # highlighted long enough to be the operator's choice
        return None if self.selection_lost else self.table.selected_key()

    def confirmation(self, confirmation_id: str) -> ConfirmationRow | None:
        """The full row of a confirmation on screen (for the details view)."""
        rows = self.view.rows if self.view is not None else ()
        return next((r for r in rows if r.id == confirmation_id), None)

    def show_view(self) -> None:
        rows = self.view.rows if self.view is not None else ()
        self.query_one("#confirmations-empty", Static).display = not rows
        now = self._now_ms()
        before = self.table.selected_key()
        self.table.sync([confirmation_row(r, now, self.cell_styles) for r in rows])
        after = self.table.selected_key()
        if before is not None and after != before:
            self.selection_lost = True
            self._slid_ms = now
        if after is None:
            self.selection_lost = False

    def on_key(self, event: Key) -> None:
        """Any cursor movement by the operator is a new, deliberate selection."""
        if event.key in _NAVIGATION_KEYS:
            self.selection_lost = False

    def refresh_ttl(self) -> None:
        """Repaint only the countdown cells (called every second)."""
        if self.view is None:
            return
        now = self._now_ms()
        table = self.table
        for row in self.view.rows:
            if table.has_row(row.id):
                table.set_cell(row.id, "ttl", ttl_cell(row.expires_ms, now, self.cell_styles))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:  # the app checks `selected_id()` (selection lost?)
            self.post_message(self.Selected(event.row_key.value))
