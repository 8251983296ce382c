"""The quit prompt: what a safe shutdown will do to the book before the console closes."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


UNPROTECTED = "UNPROTECTED while the node is down"


def shutdown_lines(
    flatten_on_shutdown: bool, pending: int, positions: int, unprotected: int = 0
) -> list[str]:
    """What the safe shutdown does, one step a line, in the order it happens. `unprotected`:
    open positions whose stop does not rest at the venue (only the node's monitor guards them)."""
    held = _count(positions, "open position")
    verb = "is" if positions == 1 else "are"
    lines = ["no new entries are taken", "working entry orders are cancelled"]
    if flatten_on_shutdown:
        lines.append(f"{held} {verb} CLOSED at market (execution.flatten_on_shutdown)")
    else:
        stay = "stays" if positions == 1 else "stay"
        lines.append(f"{held} {stay} open and {verb} restored on restart")
        if positions and unprotected:
            which = "it has" if positions == 1 else f"{unprotected} of them have"
            lines.append(
                f"{which} NO stop resting at the venue: {UNPROTECTED}"
                " (no stop, no target until you restart)"
            )
        elif positions:
            they = "its" if positions == 1 else "their"
            lines.append(
                f"{they} stops and targets rest at the venue: protected while the node is down"
            )
    will = "expires" if pending == 1 else "will expire"
    lines.append(f"{_count(pending, 'pending confirmation')} {will}")
    return lines


class QuitModal(ModalScreen[bool]):
    """Asks before quitting; dismisses True to shut down safely, False to stay."""

    DEFAULT_CSS = """
    QuitModal {
        align: center middle;
    }
    QuitModal > #quit-box {
        width: 70%;
        min-width: 60;
        max-width: 100;
        height: auto;
        max-height: 100%;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    QuitModal .title {
        width: 100%;
        content-align: center middle;
        text-style: bold;
    }
    QuitModal .step {
        padding-left: 2;
    }
    QuitModal .step.-closes {
        color: $error;
        text-style: bold;
    }
    QuitModal .hint {
        margin-top: 1;
        color: $text-muted;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "leave", "Quit"),
        Binding("n", "stay", "Stay"),
        Binding("escape", "stay", "Stay"),
    ]

    def __init__(
        self, flatten_on_shutdown: bool, pending: int, positions: int, unprotected: int = 0
    ) -> None:
        super().__init__()
        self.flatten_on_shutdown = flatten_on_shutdown
        self.pending = pending
        self.positions = positions
        self.unprotected = unprotected

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box"):
            yield Static("Quit tradeterm?", classes="title")
            yield Static("A safe shutdown runs first:")
            lines = shutdown_lines(
                self.flatten_on_shutdown, self.pending, self.positions, self.unprotected
            )
            for line in lines:
                closes = (self.flatten_on_shutdown and "CLOSED" in line) or UNPROTECTED in line
                yield Static(f"- {line}", classes="step -closes" if closes else "step")
            yield Static("y quit · n / escape stay", classes="hint")

    def action_leave(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
