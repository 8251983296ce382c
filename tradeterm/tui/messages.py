"""Textual messages from the bridge to the app (the engines never post anything themselves)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

PANES = ("header", "universe", "wallets", "signals", "risk", "stages", "confirmations", "allocator")
"""Names of the views the bridge keeps current; one ViewChanged per pane per flush at most."""


class ViewChanged(Message):
    """A pane's view model changed. A newer one replaces an unprocessed older one (coalescing)."""

    def __init__(self, pane: str, view: Any) -> None:
        super().__init__()
        self.pane = pane
        self.view = view

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ViewChanged) and message.pane == self.pane


class AlertRaised(Message):
    """Something the operator should see now: shown as a notification (toast)."""

    def __init__(self, level: str, text: str) -> None:
        super().__init__()
        self.level = level
        self.text = text


class NodeStarted(Message):
    """The node finished restoring and reconciling and is streaming."""


class NodeFailed(Message):
    """The node could not start (the text says why); the console shows it and stays up."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
