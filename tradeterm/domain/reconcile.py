"""Reconciliation differences as data: what the venue and tradeterm disagree about, kept.

Each difference a reconciliation finds is one `Difference` with a stable id (the same orphan
found again keeps its id), stored in the `reconcile_diffs` table (committed before it is
published on the RECONCILE topic) and moved by the operator (adopt / close / ignore, through
control.py, audited) or by the venue (it disappears: resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RECONCILE = "reconcile"
"""Bus topic: a Difference was found, changed status or disappeared."""

DiffKind = Literal["orphan_order", "orphan_position", "missing_position", "balance", "size"]
DiffStatus = Literal["open", "adopted", "closed", "ignored", "resolved"]

KIND_TEXT: dict[str, str] = {
    "orphan_order": "orphan order",
    "orphan_position": "orphan position",
    "missing_position": "missing position",
    "balance": "balance difference",
    "size": "size difference",
}

ACTIVE: frozenset[str] = frozenset({"open", "ignored"})
"""Statuses of a difference that still exists at the venue (the others are history)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement between a live wallet and its venue.

    `local` and `at_venue` are what each side holds, in words ("nothing", "buy 0.01 @ 91000");
    `side`, `qty`, `price` and `client_order_id` are the venue's figures the actions need."""

    id: str
    wallet_id: str
    venue: str
    kind: str
    symbol: str
    local: str
    at_venue: str
    first_seen_ms: int
    last_seen_ms: int
    status: str = "open"
    updated_ms: int = 0
    side: str = ""
    qty: float = 0.0
    price: float = 0.0
    client_order_id: str = ""
    by: str = ""
    """Who last changed the status (an interface: console/cli/telegram; "reconcile"; "venue")."""
    note: str = ""
    """The outcome of the last action, or why it was refused."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def halts(self) -> bool:
        """An open difference stops trading under the "halt" policy; an ignored one does not."""
        return self.status == "open"

    @property
    def what(self) -> str:
        return KIND_TEXT.get(self.kind, self.kind)

    @property
    def text(self) -> str:
        where = f" {self.symbol}" if self.symbol else ""
        return (
            f"{self.id} {self.wallet_id} {self.what}{where}: local {self.local}, venue "
            f"{self.at_venue} [{self.status}]"
        )
