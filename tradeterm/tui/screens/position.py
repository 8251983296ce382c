"""Actions on one open position: close it at market, move its stop or its target.

PositionCloseModal asks before closing (y close, n / escape keep); PositionLevelModal takes the
new stop or target as a price (enter sends it, escape keeps the old one). Both only return the
operator's choice: the app sends it through the Control facade, where a close is a reduce-only
market order, a stop may only tighten (the risk engine refuses a widening and the console shows
its reason) and the resting orders at the venue are amended to match.
"""

from __future__ import annotations

import math
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tradeterm.tui.screens.confirmation import money_text, price_text, qty_text
from tradeterm.tui.views import PositionRow

_BOX_CSS = """
    align: center middle;
    & > .box {
        width: 70%;
        min-width: 60;
        max-width: 100;
        height: auto;
        max-height: 100%;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    & .title { text-style: bold; width: 100%; content-align: center middle; }
    & .hint { color: $text-muted; margin-top: 1; }
    & .error { color: $error; text-style: bold; }
"""


def position_lines(wallet_id: str, row: PositionRow) -> list[str]:
    """The position as the operator checks it before acting."""
    return [
        f"{row.side.upper()} {qty_text(row.qty)} {row.symbol}  ({wallet_id}/{row.key})",
        f"entry {price_text(row.entry)}  mark {price_text(row.mark)}"
        f"  uPnL {money_text(row.unrealized, signed=True)}",
        f"stop {price_text(row.stop_loss)}  target {price_text(row.take_profit)}",
    ]


class PositionCloseModal(ModalScreen[bool]):
    """Close one position at market? Dismisses True to close."""

    DEFAULT_CSS = "PositionCloseModal {" + _BOX_CSS + "}"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "close_it", "Close"),
        Binding("n", "keep", "Keep"),
        Binding("escape", "keep", "Keep"),
    ]

    def __init__(self, wallet_id: str, row: PositionRow) -> None:
        super().__init__()
        self.wallet_id = wallet_id
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static("CLOSE POSITION AT MARKET?", classes="title")
            for line in position_lines(self.wallet_id, self.row):
                yield Static(line, markup=False)
            yield Static(
                "A reduce-only market order; its resting stop and target are cancelled first."
            )
            yield Static("y close at market · n / escape keep", classes="hint")

    def action_close_it(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)


class PositionLevelModal(ModalScreen[float | None]):
    """A new stop (`level="stop"`) or target (`level="target"`); dismisses the price or None."""

    DEFAULT_CSS = "PositionLevelModal {" + _BOX_CSS + "}"
    AUTO_FOCUS = "#level"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "keep", "Keep")]

    def __init__(self, wallet_id: str, row: PositionRow, level: str) -> None:
        super().__init__()
        self.wallet_id = wallet_id
        self.row = row
        self.level = level

    def compose(self) -> ComposeResult:
        stop = self.level == "stop"
        with Vertical(classes="box"):
            yield Static("MOVE STOP" if stop else "MOVE TARGET", classes="title")
            for line in position_lines(self.wallet_id, self.row):
                yield Static(line, markup=False)
            rule = (
                "A stop may only tighten (toward the price); the risk engine refuses a widening."
                if stop
                else "The target must sit on the profit side of the price."
            )
            yield Static(rule)
            yield Input(placeholder=f"new {self.level} price", id="level")
            yield Static("", id="level-error", classes="error")
            yield Static("enter move · escape keep", classes="hint")

    @on(Input.Submitted, "#level")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            price = float(event.value.replace(",", ""))
        except ValueError:
            price = math.nan
        if not math.isfinite(price) or price <= 0:
            self.query_one("#level-error", Static).update(f"'{event.value}' is not a price")
            return
        self.dismiss(price)

    def action_keep(self) -> None:
        self.dismiss(None)
