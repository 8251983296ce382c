"""Slippage (key f): per pair, what fills paid against their decision prices and the model
fitted to it -- the same table as `tradeterm slippage show` (tradeterm.execution.slippage).

Per wallet database (paper, live) and pair: fills recorded, mean / median / p90 slippage in bps
of the decision price (adverse positive), the newest fit (taker fills it used, fixed bps, ATR
coefficient, residual, its slippage at the pair's median volatility), the configured slippage,
and which of the two prices the pair now (`costs.slippage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tradeterm.execution.slippage import (
    IN_FORCE_COLUMN,
    REPORT_HEADERS,
    SlippageRow,
    report_cells,
)

NUMERIC_FROM = 2
"""Columns from this index on are numbers (right-aligned), except the model in force."""


def row_cells(row: SlippageRow) -> tuple[Text, ...]:
    cells = report_cells(row)
    out = []
    for i, cell in enumerate(cells):
        if i == IN_FORCE_COLUMN:
            out.append(Text(cell, style="bold" if cell == "fitted" else "dim"))
        elif i >= NUMERIC_FROM:
            out.append(Text(cell, justify="right"))
        else:
            out.append(Text(cell, style="bold" if i == 1 else ""))
    return tuple(out)


def summary_text(rows: Sequence[SlippageRow], mode: str, min_fills: int) -> str:
    if not rows:
        return "no fills recorded yet: every paper and live fill records its slippage"
    fitted = sum(1 for r in rows if r.fit is not None)
    fills = sum(r.stats.n for r in rows)
    return (
        f"{len(rows)} pairs  {fills} fills  {fitted} fitted (min {min_fills} taker fills)"
        f"  costs.slippage = {mode}"
    )


class SlippageScreen(ModalScreen[None]):
    """Recorded slippage and fitted models per pair."""

    DEFAULT_CSS = """
    SlippageScreen { align: center middle; }
    SlippageScreen > #slippage-box {
        width: 100%;
        height: 100%;
        border: thick $accent;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    SlippageScreen #slippage { height: 1fr; min-height: 4; }
    SlippageScreen #slip-summary { text-style: bold; }
    SlippageScreen .hint { color: $text-muted; }
    """
    AUTO_FOCUS = "#slippage"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, rows: Sequence[SlippageRow], mode: str, min_fills: int) -> None:
        super().__init__()
        self.rows = tuple(rows)
        self.mode = mode
        self.min_fills = min_fills

    def compose(self) -> ComposeResult:
        with Vertical(id="slippage-box") as box:
            box.border_title = "SLIPPAGE"
            yield Static(summary_text(self.rows, self.mode, self.min_fills), id="slip-summary")
            yield DataTable(id="slippage", cursor_type="row", zebra_stripes=True)
            yield Static(
                "bps of the decision price, adverse positive · fitted = fixed + coef x ATR"
                " · up/down/left/right scroll · escape close",
                classes="hint",
            )

    def on_mount(self) -> None:
        table = self.query_one("#slippage", DataTable)
        for header in REPORT_HEADERS:
            table.add_column(header, key=header)
        for row in self.rows:
            table.add_row(*row_cells(row), key=f"{row.book}/{row.key}")

    def action_close(self) -> None:
        self.dismiss(None)
