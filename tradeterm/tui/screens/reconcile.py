"""The reconciliation screen (`R`): what the live venues and tradeterm disagree about.

One row per difference -- open and ignored first, then recent history (adopted, closed,
resolved) -- with its id, status, wallet, kind, symbol, what we hold, what the venue holds and
its age. Keys act on the row under the cursor, each after a confirm modal showing what will be
sent ("reduce-only close 0.01 BTC/USDT:USDT at market", "cancel order ... at the venue"):

    a adopt    take the venue's side (through the risk gate; refused with its reason)
    c close    orphan position: reduce-only close at the venue; orphan order: cancel it there
    i ignore   keep it listed, no longer halting
    r re-run   reconcile now

Every action goes through the Control facade (source "console", audited). The rows come from
`Control.reconcile_list` and are read again whenever the bridge reports a RECONCILE event (the
header view it refreshes), so a difference found by the periodic run appears without a key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tradeterm.domain.reconcile import Difference
from tradeterm.tui.screens.confirmation import duration_text

COLUMNS = (
    ("id", "Id"),
    ("status", "Status"),
    ("kind", "Kind"),
    ("symbol", "Symbol"),
    ("local", "Local"),
    ("venue", "Venue"),
    ("age", "Age"),
    ("wallet", "Wallet"),
)
HISTORY_ROWS = 30
"""Settled differences shown under the active ones."""

_STATUS_STYLE = {
    "open": "bold red",
    "ignored": "yellow",
    "adopted": "green",
    "closed": "green",
    "resolved": "dim",
}
_VERB = {"adopt": "ADOPT", "close": "CLOSE", "ignore": "IGNORE"}


class ReconcileHost(Protocol):
    """What the screen needs from the console (TradetermApp satisfies it)."""

    control: Any

    def act(
        self, name: str, call: Callable[[], Awaitable[Any]], done: Callable[[Any], None] | None
    ) -> None: ...


def cells(d: Difference, now_ms: int) -> tuple[Text, ...]:
    return (
        Text(d.id, style="dim"),
        Text(d.status, style=_STATUS_STYLE.get(d.status, "")),
        Text(d.what),
        Text(d.symbol or "-", style="bold"),
        Text(d.local),
        Text(d.at_venue),
        Text(duration_text(max(0, now_ms - d.first_seen_ms) / 1000), justify="right"),
        Text(d.wallet_id),
    )


def summary_text(diffs: list[Difference], state: str, reason: str) -> str:
    opened = sum(d.status == "open" for d in diffs)
    ignored = sum(d.status == "ignored" for d in diffs)
    text = f"{opened} open · {ignored} ignored · {len(diffs) - opened - ignored} settled"
    if state == "halted" and "reconcile" in reason:
        text += " · trading HALTED by reconcile"
        text += ": p resumes" if not opened else " until every open one is settled"
    return text


class ReconcileConfirm(ModalScreen[bool]):
    """What an action will send, before it is sent: y go ahead, n / escape keep."""

    DEFAULT_CSS = """
    ReconcileConfirm { align: center middle; }
    ReconcileConfirm > .box {
        width: 100%; max-width: 100; height: auto; max-height: 100%; margin: 0 2;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ReconcileConfirm .title { text-style: bold; width: 100%; content-align: center middle; }
    ReconcileConfirm .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "go", "Go ahead"),
        Binding("n", "keep", "Keep"),
        Binding("escape", "keep", "Keep"),
    ]

    def __init__(self, action: str, diff: Difference, preview: str) -> None:
        super().__init__()
        self.action_name = action
        self.diff = diff
        self.preview = preview

    def compose(self) -> ComposeResult:
        d = self.diff
        with Vertical(classes="box"):
            yield Static(f"{_VERB[self.action_name]} {d.what.upper()}?", classes="title")
            yield Static(f"{d.id}  {d.wallet_id}  {d.symbol or '-'}", markup=False)
            yield Static(f"local: {d.local}", markup=False)
            yield Static(f"venue: {d.at_venue}", markup=False)
            yield Static(f"will send: {self.preview}", markup=False, id="preview")
            yield Static("y go ahead · n / escape keep", classes="hint")

    def action_go(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)


class ReconcileScreen(ModalScreen[None]):
    """Reconciliation differences with adopt / close / ignore / re-run."""

    DEFAULT_CSS = """
    ReconcileScreen { align: center middle; }
    ReconcileScreen > #reconcile-box {
        width: 100%; height: 100%; border: thick $accent; border-title-align: center;
        background: $surface; padding: 0 1;
    }
    ReconcileScreen #diffs { height: 1fr; min-height: 4; }
    ReconcileScreen #summary { text-style: bold; }
    ReconcileScreen #note { color: $text-muted; }
    ReconcileScreen .hint { color: $text-muted; }
    """
    AUTO_FOCUS = "#diffs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "act('adopt')", "Adopt"),
        Binding("c", "act('close')", "Close"),
        Binding("i", "act('ignore')", "Ignore"),
        Binding("r", "rerun", "Re-run"),
        Binding("escape", "close_screen", "Back"),
    ]

    def __init__(self, host: ReconcileHost, now_ms: Callable[[], int]) -> None:
        super().__init__()
        self.host = host
        self.now_ms = now_ms
        self.diffs: list[Difference] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="reconcile-box") as box:
            box.border_title = "RECONCILIATION"
            yield Static(id="summary")
            yield DataTable(id="diffs", cursor_type="row", zebra_stripes=True)
            yield Static(id="note", markup=False)
            yield Static(
                "a adopt · c close · i ignore · r re-run · up/down choose · escape back",
                classes="hint",
            )

    def on_mount(self) -> None:
        table = self.query_one("#diffs", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.reload()

    @property
    def keys(self) -> tuple[str, ...]:
        """The difference ids on screen, top to bottom."""
        return tuple(d.id for d in self.diffs)

    def reload(self) -> None:
        """Read the differences again and redraw, keeping the cursor on the same id."""
        everything = list(self.host.control.reconcile_list())
        active = [d for d in everything if d.active]
        self.diffs = active + [d for d in everything if not d.active][:HISTORY_ROWS]
        table = self.query_one("#diffs", DataTable)
        chosen = self.selected()
        table.clear()
        now = self.now_ms()
        for d in self.diffs:
            table.add_row(*cells(d, now), key=d.id)
        if chosen is not None and chosen.id in self.keys:
            table.move_cursor(row=self.keys.index(chosen.id))
        status = self.host.control.status()
        self.query_one("#summary", Static).update(
            summary_text(self.diffs, status.trading_state.value, status.trading_reason)
            if self.diffs
            else "no reconciliation differences: the venues agree with the books"
        )
        self.show_note()

    def selected(self) -> Difference | None:
        table = self.query_one("#diffs", DataTable)
        if not self.diffs or table.cursor_row < 0 or table.cursor_row >= len(self.diffs):
            return None
        return self.diffs[table.cursor_row]

    def show_note(self) -> None:
        d = self.selected()
        text = f"{d.id}: {d.note}" if d is not None and d.note else ""
        self.query_one("#note", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_note()

    def action_act(self, action: str) -> None:
        d = self.selected()
        if d is None:
            self.notify("no difference selected", severity="warning")
            return
        if not d.active:
            self.notify(f"{d.id} is already {d.status}", severity="warning")
            return
        control = self.host.control
        try:
            preview = control.reconcile_preview(d.id, action)
        except Exception as exc:  # a difference gone meanwhile: say so, no modal
            self.notify(str(exc), severity="warning")
            return
        calls = {
            "adopt": control.reconcile_adopt,
            "close": control.reconcile_close,
            "ignore": control.reconcile_ignore,
        }

        def answered(yes: bool | None) -> None:
            if yes:
                self.host.act(
                    f"reconcile_{action}",
                    lambda: calls[action](d.id, source="console"),
                    self._done,
                )

        self.app.push_screen(ReconcileConfirm(action, d, preview), answered)

    def _done(self, diff: Any) -> None:
        self.notify(f"{diff.id} {diff.status}: {diff.note}")
        self.reload()

    def action_rerun(self) -> None:
        def ran(report: Any) -> None:
            found = len(report.differences)
            self.notify(f"reconciled: {found} difference{'s' if found != 1 else ''}")
            self.reload()

        self.host.act(
            "reconcile_run", lambda: self.host.control.reconcile_now(source="console"), ran
        )

    def action_close_screen(self) -> None:
        self.dismiss(None)
