"""The help screen: every key of the console and what it does, plus how the keys act."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

NOTES = (
    "Keys act on the selected confirmation: move the cursor in the confirmations pane, "
    "y approves, n rejects, enter opens its details. "
    "1-7 go to a pane (on a small terminal, its tab): Confirm, Positions, Signals, Universe, "
    "Risk, Stages, Arms. "
    "! flatten-all asks you to type FLATTEN before anything is closed. "
    "Exploration never goes below 10%. Forex and options start OFF at every boot. "
    "b opens the backtest lab, B its run browser; c the calibration lab (studies, trials, "
    "n new study, p/P promote after a confirm). P promotes inside the stage screen (s). "
    "p is Pause while entries run, Resume while paused; after a flatten you are asked whether to pause entries too."
)


class HelpScreen(ModalScreen[None]):
    """The key map of the console: (key, what it does) for every binding the app passes in."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help-box {
        width: 100%;
        height: 100%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen .title {
        width: 100%;
        content-align: center middle;
        text-style: bold;
    }
    HelpScreen #keys {
        height: 1fr;
    }
    HelpScreen #notes {
        height: auto;
        margin-top: 1;
    }
    HelpScreen .hint {
        color: $text-muted;
    }
    """
    AUTO_FOCUS = "#keys"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, bindings: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.key_map = tuple(bindings)
        """(key as shown, what it does), in the app's order."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("KEYS", classes="title")
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
            yield Static(NOTES, id="notes", markup=False)
            yield Static("up/down/pgdn scroll · escape / q / ? close", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#keys", DataTable)
        table.add_column("key", key="key")
        table.add_column("what it does", key="action")
        for index, (key, description) in enumerate(self.key_map):
            table.add_row(Text(key, style="bold"), Text(description), key=str(index))

    def action_close(self) -> None:
        self.dismiss(None)
