"""Domain toggles: which market families may open new trades in this session.

Each domain is one line with a checkbox and the word ON or OFF; the current stage's mode for it
(paper, live, off) is shown beside it. Toggles are not stored: forex and options start OFF at
every boot. `a` applies and hands back only the domains that changed; escape cancels (no change),
so a stray toggle followed by escape never switches a market family on or off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from tradeterm.tui.views import DomainRow

BOOT_NOTE = "forex and options always start OFF after a restart"


class DomainToggle(Widget, can_focus=True):
    """One domain's on/off switch, drawn as `[x] crypto_spot  paper  ON`."""

    DEFAULT_CSS = """
    DomainToggle {
        height: 1;
        width: 100%;
        padding: 0 1;
    }
    DomainToggle:focus {
        background: $accent 30%;
        text-style: bold;
    }
    DomainToggle.-on {
        color: $success;
    }
    DomainToggle.-off {
        color: $text-muted;
    }
    DomainToggle:focus.-off {
        color: $text;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "flip", "Toggle"),
    ]

    enabled: reactive[bool] = reactive(False)

    def __init__(self, row: DomainRow) -> None:
        super().__init__()
        self.row = row
        self.set_reactive(DomainToggle.enabled, row.enabled and row.available)

    @property
    def changed(self) -> bool:
        """True when the operator flipped it from what the session had."""
        return self.enabled != (self.row.enabled and self.row.available)

    def render(self) -> Content:
        if not self.row.available:
            return Content(f"[-] {self.row.domain:<12} unavailable: not in [domains]")
        box = "[x]" if self.enabled else "[ ]"
        state = "ON " if self.enabled else "OFF"
        mode = "off in this stage" if self.row.mode == "off" else self.row.mode
        edited = "  (changed)" if self.changed else ""
        return Content(f"{box} {self.row.domain:<12} {state}  {mode}{edited}")

    def watch_enabled(self, enabled: bool) -> None:
        self.set_class(enabled, "-on")
        self.set_class(not enabled, "-off")

    def on_mount(self) -> None:
        self.watch_enabled(self.enabled)

    def action_flip(self) -> None:
        if self.row.available:  # a domain no venue provides cannot be switched on
            self.enabled = not self.enabled


class DomainsModal(ModalScreen[dict[str, bool]]):
    """The session's domain switches; dismisses {domain: enabled} for the changed ones only."""

    DEFAULT_CSS = """
    DomainsModal {
        align: center middle;
    }
    DomainsModal > #domains-box {
        width: 70%;
        min-width: 60;
        max-width: 90;
        height: auto;
        max-height: 100%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DomainsModal .title {
        width: 100%;
        content-align: center middle;
        text-style: bold;
    }
    DomainsModal #toggles {
        height: auto;
        max-height: 60vh;
        margin: 1 0;
    }
    DomainsModal .note {
        color: $warning;
    }
    DomainsModal .hint {
        color: $text-muted;
    }
    """
    AUTO_FOCUS = "DomainToggle"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "app.focus_previous", "Previous", show=False),
        Binding("down,j", "app.focus_next", "Next", show=False),
        Binding("a", "apply", "Apply"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, rows: Sequence[DomainRow]) -> None:
        super().__init__()
        self.rows = tuple(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="domains-box"):
            yield Static("DOMAINS THIS SESSION", classes="title")
            with VerticalScroll(id="toggles", can_focus=False):
                for row in self.rows:
                    yield DomainToggle(row)
            yield Static(BOOT_NOTE, classes="note")
            yield Static(
                "up/down move · space/enter toggle · a apply · escape cancel", classes="hint"
            )

    def changes(self) -> dict[str, bool]:
        """{domain: enabled} for every toggle the operator flipped (empty when none)."""
        return {t.row.domain: t.enabled for t in self.query(DomainToggle) if t.changed}

    def action_apply(self) -> None:
        self.dismiss(self.changes())

    def action_cancel(self) -> None:
        self.dismiss({})
