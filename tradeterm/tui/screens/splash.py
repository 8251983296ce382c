"""The start-up splash: what the console is doing while the node starts, with the time spent.

The first launch on a machine compiles the numba kernels (cached on disk afterwards) and every
launch warms each market's indicators from history; both can take a while on a small, busy
machine, so the console says so instead of showing an empty screen. Dismissed when the node has
started (or refused to start).
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

STEPS = (
    "opening the state databases and restoring wallets, positions and orders",
    "loading price history and warming every market's indicators",
    "compiling the numba kernels the strategies use (first launch only; cached afterwards)",
    "connecting the venues and reconciling what they hold",
)


class SplashScreen(ModalScreen[None]):
    """Shown while the node starts; the app dismisses it."""

    DEFAULT_CSS = """
    SplashScreen { align: center middle; }
    SplashScreen > #splash-box {
        width: 80%;
        max-width: 90;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    SplashScreen .title { text-style: bold; width: 100%; content-align: center middle; }
    SplashScreen #elapsed { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self) -> None:
        super().__init__()
        self._t0 = time.monotonic()

    def compose(self) -> ComposeResult:
        with Vertical(id="splash-box"):
            yield Static("tradeterm is starting", classes="title")
            for step in STEPS:
                yield Static(f"- {step}", markup=False)
            yield Static("", id="elapsed")

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(0.5, self.tick, name="splash-elapsed")

    def tick(self) -> None:
        seconds = time.monotonic() - self._t0
        self.query_one("#elapsed", Static).update(f"{seconds:.0f} s so far")
