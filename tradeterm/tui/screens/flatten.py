"""Flatten-all, the emergency key: a preview armed only by typing FLATTEN, then the result.

FlattenModal lists, wallet by wallet, every position it would close at market, every working
order and pending confirmation it would cancel, and the estimated cost; the Flatten action stays
disabled until the operator types FLATTEN exactly. FlattenResultModal shows what happened on
each venue, with every failure on its own line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tradeterm.domain.enums import Side
from tradeterm.domain.orders import Order
from tradeterm.execution.flatten import FlattenPreview, FlattenReport, WalletFlattenPreview
from tradeterm.tui.screens.confirmation import money_text, price_text, qty_text, wallet_badge

ARM_WORD = "FLATTEN"
NOTHING_OPEN = "Nothing open: no positions, orders or confirmations"
NOT_ARMED = "not armed: type FLATTEN"
ARMED = "ARMED: enter flattens all"

_BOX_CSS = """
    align: center middle;
    & > .box {
        width: 70%;
        min-width: 60;
        max-width: 110;
        height: auto;
        max-height: 100%;
        border: thick $error;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    & .title { text-style: bold; color: $error; width: 100%; content-align: center middle; }
    & .body { height: auto; max-height: 50vh; }
    & .wallet { text-style: bold; margin-top: 1; }
    & .fail { color: $error; text-style: bold; }
    & .ok { color: $success; text-style: bold; }
    & .hint { color: $text-muted; }
"""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _order_line(order: Order) -> str:
    price = order.price if order.price is not None else order.stop_price
    at = f" {order.order_type.value} @ {price_text(price)}" if price is not None else ""
    return (
        f"cancel {order.side.value.upper()} {qty_text(order.remaining_qty)} {order.key}"
        f"{at} ({order.purpose.value} order)"
    )


def _wallet_table(wallet: WalletFlattenPreview, currency: str) -> Table:
    """One wallet's positions to close, numbers right-aligned."""
    table = Table(box=None, padding=(0, 1, 0, 0), expand=False, show_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("position", overflow="fold")
    table.add_column("mark", justify="right")
    table.add_column(f"uPnL {currency}", justify="right")
    table.add_column("cost", justify="right")
    for pos in wallet.positions:
        side = "long" if pos.side is Side.BUY else "short"
        table.add_row(
            "close",
            f"{side} {qty_text(pos.qty)} {pos.key}",
            price_text(pos.mark),
            money_text(pos.unrealized_pnl, signed=True),
            money_text(pos.estimated_cost),
        )
    return table


def _wallet_lines(wallet: WalletFlattenPreview, currency: str) -> Iterator[Static]:
    """The widgets describing one wallet's part of the flatten."""
    yield Static(
        f"{wallet.wallet_id} [{wallet_badge(wallet.wallet_id)}]"
        f"  est. cost {money_text(wallet.estimated_cost, currency)}",
        classes="wallet",
        markup=False,
    )
    if wallet.positions:
        yield Static(_wallet_table(wallet, currency))
    for order in wallet.working_orders:
        yield Static(_order_line(order), markup=False)
    if wallet.pending_confirmations:
        count = _plural(wallet.pending_confirmations, "pending confirmation")
        yield Static(f"cancel {count}", markup=False)


class FlattenModal(ModalScreen[bool]):
    """The flatten-all preview; dismisses True only when armed with FLATTEN and confirmed."""

    DEFAULT_CSS = (
        "FlattenModal {"
        + _BOX_CSS
        + """
        & #arm-row { height: auto; }
        & #arm-state { width: 1fr; padding: 0 1; color: $text-muted; }
        & #arm-state.-armed { color: $error; text-style: bold reverse; }
    }"""
    )
    AUTO_FOCUS = "#arm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "confirm", "Flatten (when armed)"),
    ]

    def __init__(self, preview: FlattenPreview, currency: str = "USD") -> None:
        super().__init__()
        self.preview = preview
        self.currency = currency
        self._armed = False

    @property
    def empty(self) -> bool:
        """True when there is nothing to close or cancel."""
        return not self.preview.wallets

    @property
    def armed(self) -> bool:
        """True once the operator typed FLATTEN exactly."""
        return self._armed

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static("FLATTEN EVERYTHING", classes="title")
            if self.empty:
                yield Static(NOTHING_OPEN, id="nothing")
                yield Static("enter / escape close", classes="hint")
                return
            with VerticalScroll(classes="body"):
                for wallet in self.preview.wallets:
                    yield from _wallet_lines(wallet, self.currency)
            yield Static(self._total_text(), id="total", classes="wallet", markup=False)
            yield Input(placeholder="Type FLATTEN to arm", id="arm")
            with Horizontal(id="arm-row"):
                yield Static(NOT_ARMED, id="arm-state")
                yield Button("Flatten", id="flatten", variant="error", disabled=True, compact=True)
            yield Static("enter flatten (when armed) · escape cancel", classes="hint")

    def _total_text(self) -> str:
        pending = sum(w.pending_confirmations for w in self.preview.wallets)
        return (
            f"Total estimated cost {money_text(self.preview.estimated_cost, self.currency)}: "
            f"close {_plural(self.preview.position_count, 'position')}, "
            f"cancel {_plural(self.preview.order_count, 'order')} and "
            f"{_plural(pending, 'confirmation')}"
        )

    @on(Input.Changed, "#arm")
    def _arm_changed(self, event: Input.Changed) -> None:
        self._armed = event.value == ARM_WORD
        self.query_one("#flatten", Button).disabled = not self._armed
        state = self.query_one("#arm-state", Static)
        state.update(ARMED if self._armed else NOT_ARMED)
        state.set_class(self._armed, "-armed")

    @on(Input.Submitted, "#arm")
    @on(Button.Pressed, "#flatten")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.empty:
            self.dismiss(False)
        elif self._armed:
            self.dismiss(True)
        else:
            self.notify("Not armed: type FLATTEN first.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(False)


def _time_text(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%H:%M:%S")


class FlattenResultModal(ModalScreen[str | None]):
    """What flatten-all did on each venue, failures first in the operator's eye."""

    DEFAULT_CSS = "FlattenResultModal {" + _BOX_CSS + "}"
    AUTO_FOCUS = ".body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close"),
        Binding("p", "pause", "Pause entries"),
    ]

    def __init__(self, report: FlattenReport, *, entries_active: bool = False) -> None:
        super().__init__()
        self.report = report
        self.entries_active = entries_active
        """True when new entries are still allowed: the operator is asked whether to pause."""

    def compose(self) -> ComposeResult:
        report = self.report
        failures = sum(len(v.failures) for v in report.venues)
        with Vertical(classes="box"):
            if report.ok:
                yield Static("All flat", id="verdict", classes="title ok")
            else:
                verdict = f"NOT all flat: {_plural(failures, 'failure')}"
                yield Static(verdict, id="verdict", classes="title fail")
            yield Static(f"by {report.by} at {_time_text(report.ts_ms)} UTC", classes="hint")
            with VerticalScroll(classes="body"):
                if not report.venues:
                    yield Static("Nothing to flatten.")
                yield from self._venue_lines()
                if report.cancelled_confirmations:
                    count = _plural(report.cancelled_confirmations, "pending confirmation")
                    yield Static(f"cancelled {count}", classes="wallet")
            if self.entries_active:
                yield Static(
                    "Entries are still ACTIVE: strategies may open new positions.",
                    id="ask-pause",
                    classes="wallet",
                )
                yield Static("p pause entries now · enter / escape keep trading", classes="hint")
            else:
                yield Static("enter / escape close", classes="hint")

    def _venue_lines(self) -> Iterator[Static]:
        for venue in self.report.venues:
            yield Static(
                f"{venue.venue}: cancelled {_plural(venue.cancelled, 'order')}, "
                f"closed {_plural(venue.closed, 'position')}, "
                f"realised PnL {money_text(venue.realized_pnl, signed=True)}",
                classes="wallet",
                markup=False,
            )
            for reason in venue.failures:
                yield Static(f"  FAILED: {reason}", classes="fail", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_pause(self) -> None:
        """Flatten-and-pause: the operator chose to stop new entries too."""
        self.dismiss("pause" if self.entries_active else None)
