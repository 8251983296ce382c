"""The confirmation detail: one pending order intent in full, with its time left to decide.

Opened with enter on the confirmations pane. y approves, n rejects, escape goes back without
deciding. When the time to live runs out the intent is shown as EXPIRED and y does nothing (the
engine cancels it on its own); the countdown reads the injected clock, never the wall clock.

Also home of the small number formats the screens share (prices, quantities, money, durations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tradeterm.tui.views import ConfirmationRow

TICK_S = 0.25
"""How often the countdown redraws (the remaining time is always computed from now_ms())."""


def price_text(price: float) -> str:
    """A price with 2 to 6 decimals depending on its size: 60,000.00 / 1.0852 / 0.000123."""
    if not math.isfinite(price) or price == 0.0:
        return "-"
    size = abs(price)
    decimals = 2 if size >= 100 else 4 if size >= 1 else 6
    text = f"{price:,.{decimals}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def qty_text(qty: float) -> str:
    """A quantity without trailing zeros: 2, 0.01, 1,250."""
    text = f"{qty:,.8f}".rstrip("0").rstrip(".")
    return text or "0"


def money_text(amount: float, currency: str = "", *, signed: bool = False) -> str:
    """Money with 2 decimals, a sign when asked (PnL) and the currency when known."""
    text = f"{amount:+,.2f}" if signed else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def duration_text(seconds: float) -> str:
    """A duration the way the console shows ages: 42s, 3m12s, 2h05m."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def wallet_badge(wallet_id: str) -> str:
    """LIVE or PAPER, from a wallet id such as `live:crypto_spot`."""
    return "LIVE" if wallet_id.startswith("live:") else "PAPER"


def flags_text(row: ConfirmationRow) -> str:
    """The intent's special flags in words: explore (bandit exploration), canary (small live)."""
    flags = [name for name, on in (("explore", row.explore), ("canary", row.canary)) if on]
    return ", ".join(flags) if flags else "none"


def mark_text(row: ConfirmationRow) -> str:
    """The current mark against the entry: "60,010.00 (+10.00 vs entry, against a BUY)"."""
    if not math.isfinite(row.mark) or row.mark <= 0:
        return "no price yet"
    move = row.mark - row.entry
    buying = row.side.upper() in ("BUY", "LONG")
    worse = move > 0 if buying else move < 0
    side = row.side.upper()
    verdict = "" if move == 0 else (f": worse for a {side}" if worse else f": better for a {side}")
    return f"{price_text(row.mark)} ({move:+,.6g} vs entry{verdict})"


def cost_lines(row: ConfirmationRow) -> list[tuple[str, str]]:
    """The gate's expected costs of the round trip through the stop, and the net reward:risk."""
    c = row.costs
    if c is None:
        return [("Costs", "not priced by the risk gate")]
    return [
        ("Expected fill", price_text(c.expected_entry)),
        ("Fees", money_text(c.fees)),
        ("Spread", money_text(c.spread)),
        ("Slippage", money_text(c.slippage)),
        ("Funding", money_text(c.funding)),
        ("Costs total", f"{money_text(c.total)}  ({c.cost_r:.2f}R)"),
        ("Net reward:risk", f"{c.net_reward_risk:.2f} after costs (gross {row.reward_risk:.2f})"),
    ]


def detail_lines(row: ConfirmationRow) -> list[tuple[str, str]]:
    """The intent as (label, value) lines, in the order a trader reads an order ticket."""
    return [
        ("Id", row.id),
        ("Wallet", f"{row.wallet_id}  [{wallet_badge(row.wallet_id)}]"),
        ("Strategy", f"{row.strategy or '-'}  on {row.timeframe or '?'} bars"),
        ("Order", f"{row.side.upper()} {qty_text(row.qty)} {row.symbol}"),
        ("Entry", price_text(row.entry)),
        ("Mark now", mark_text(row)),
        ("Stop loss", price_text(row.stop_loss)),
        ("Take profit", price_text(row.take_profit)),
        ("Reward:risk", f"{row.reward_risk:.2f}"),
        *cost_lines(row),
        ("Notional", money_text(row.notional)),
        ("Risk amount", money_text(row.risk_amount)),
        ("Flags", flags_text(row)),
        ("Risk notes", row.reasons or "ok"),
    ]


class ConfirmationDetail(ModalScreen[str | None]):
    """One pending confirmation in full; dismisses "approve", "reject" or None (undecided)."""

    DEFAULT_CSS = """
    ConfirmationDetail {
        align: center middle;
    }
    ConfirmationDetail > #confirm-box {
        width: 70%;
        min-width: 60;
        max-width: 100;
        height: auto;
        max-height: 100%;
        border: thick $accent;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    ConfirmationDetail #confirm-body {
        height: auto;
        max-height: 60vh;
    }
    ConfirmationDetail .title {
        text-style: bold;
        width: 100%;
        content-align: center middle;
    }
    ConfirmationDetail #ttl {
        margin-top: 1;
        text-style: bold;
        color: $warning;
    }
    ConfirmationDetail #ttl.-expired {
        color: $error;
    }
    ConfirmationDetail .hint {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "Approve"),
        Binding("n", "reject", "Reject"),
        Binding("escape", "close", "Back"),
    ]

    def __init__(self, row: ConfirmationRow, now_ms: Callable[[], int]) -> None:
        super().__init__()
        self.row = row
        self._now_ms = now_ms

    @property
    def remaining_ms(self) -> int:
        """Milliseconds left before the confirmation expires (0 once expired)."""
        return max(0, self.row.expires_ms - self._now_ms())

    @property
    def expired(self) -> bool:
        return self.remaining_ms <= 0

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="confirm-box") as box:
            box.border_title = "CONFIRM ORDER"
            yield Static(
                f"{row.side.upper()} {qty_text(row.qty)} {row.symbol}"
                f"  [{wallet_badge(row.wallet_id)}]",
                classes="title",
                markup=False,
            )
            with VerticalScroll(id="confirm-body"):
                width = max(len(label) for label, _ in detail_lines(row)) + 2
                for label, value in detail_lines(row):
                    yield Static(f"{label:<{width}}{value}", markup=False)
            yield Static(id="ttl")
            yield Static(id="hint", classes="hint")

    def on_mount(self) -> None:
        self.refresh_ttl()
        self.set_interval(TICK_S, self.refresh_ttl, name="confirmation-ttl")

    def refresh_ttl(self) -> None:
        """Redraw the countdown and the key hint (y is gone once the time is up)."""
        ttl = self.query_one("#ttl", Static)
        hint = self.query_one("#hint", Static)
        if self.expired:
            ttl.update("EXPIRED: this confirmation timed out and can no longer be approved")
            ttl.add_class("-expired")
            hint.update("expired: y does nothing · n reject · escape back")
        else:
            ttl.update(f"expires in {duration_text(math.ceil(self.remaining_ms / 1000))}")
            hint.update("y approve · n reject · escape back (decide later)")

    def action_approve(self) -> None:
        self.refresh_ttl()
        if self.expired:
            self.notify("This confirmation has expired: it cannot be approved.", severity="warning")
            return
        self.dismiss("approve")

    def action_reject(self) -> None:
        self.dismiss("reject")

    def action_close(self) -> None:
        self.dismiss(None)
