"""The positions pane: one tab per wallet with its equity line and open positions.

Tabs are labelled with the wallet's mode in words ("PAPER synthetics", "LIVE crypto_spot") and
are added as wallets appear; the operator's active tab is never changed by an update. Inside a
tab, a one-line summary (equity, unrealised PnL, day PnL, drawdown, exposure) sits above the
position table, whose rows are keyed by position and disappear when a position closes.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from tradeterm.tui.panes.format import (
    MISSING,
    fmt_age,
    fmt_level,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_qty,
    fmt_signed,
    row_decimals,
    wallet_domain,
)
from tradeterm.tui.panes.table import (
    CellStyles,
    ColumnSpec,
    KeyedTable,
    Row,
    RowMemo,
    ViewPane,
    cell,
)
from tradeterm.tui.panes.textblock import TextBlock
from tradeterm.tui.views import PositionRow, WalletsView, WalletView

COLUMNS = (
    ColumnSpec("symbol", "Symbol"),
    ColumnSpec("side", "Side"),
    ColumnSpec("qty", "Qty", right=True),
    ColumnSpec("entry", "Entry", right=True),
    ColumnSpec("mark", "Mark", right=True, priority=1),
    ColumnSpec("upnl", "uPnL", right=True),
    ColumnSpec("sl", "SL", right=True),
    ColumnSpec("tp", "TP", right=True),
    ColumnSpec("age", "Age", right=True, priority=2),
)

PERP_COLUMNS = (
    *COLUMNS[:-1],
    ColumnSpec("lev", "Lev", right=True, priority=3),
    ColumnSpec("margin", "Margin", priority=4),
    ColumnSpec("liq", "Liq", right=True, priority=2),
    ColumnSpec("liq_dist", "Liq dist", right=True, priority=1),
    ColumnSpec("funding", "Funding", right=True, priority=3),
    COLUMNS[-1],
)
"""Perpetual wallets add leverage, margin mode, liquidation price and distance, and the funding
booked so far; the distance is hidden last, the margin mode first."""

MULT_COLUMNS = (
    COLUMNS[0],
    COLUMNS[1],
    ColumnSpec("contract", "Contract", priority=4),
    ColumnSpec("mult", "Mult", right=True, priority=3),
    ColumnSpec("stake", "Stake", right=True),
    ColumnSpec("entry", "Entry", right=True, priority=2),
    COLUMNS[4],
    COLUMNS[5],
    ColumnSpec("tp_amt", "TP $", right=True),
    ColumnSpec("sl_amt", "SL $", right=True),
    ColumnSpec("stop_out", "Stop-out", right=True, priority=1),
    ColumnSpec("age", "Age", right=True, priority=3),
)
"""Multiplier wallets (Deriv) show contracts as the venue does: contract id, multiplier, stake,
take profit and stop loss in currency and the stop-out price, beside the live PnL; the contract
id is hidden first on a narrow screen, the stop-out last."""

CONTRACT_DIGITS = 6
"""A contract id is shown by its last digits (the details view has it whole)."""

LIQ_DANGER = 0.05
"""A liquidation this close to the mark (fraction) shows in the "bad" colour."""
LIQ_CAUTION = 0.15


def is_perp_wallet(wallet_id: str) -> bool:
    """Whether a wallet trades perpetuals (its table carries the margin columns)."""
    return wallet_domain(wallet_id).endswith("perp")


def wallet_label(wallet: WalletView) -> str:
    """A wallet's tab label: its mode in words, then its id ("LIVE crypto_spot")."""
    return f"{wallet.mode.upper()} {wallet_domain(wallet.wallet_id)}"


def wallet_tab_label(wallet: WalletView) -> Content:
    """The tab label with the mode word styled: LIVE loud, PAPER calm."""
    mode = wallet.mode.upper()
    style = "bold $text-error" if mode == "LIVE" else "$text-success"
    return Content.assemble((mode, style), f" {wallet_domain(wallet.wallet_id)}")


def wallet_summary(wallet: WalletView) -> Content:
    """The wallet's one-line account summary, signed so it reads without colour."""

    def pnl(value: float) -> tuple[str, str]:
        style = "$text-success" if value > 0 else "$text-error" if value < 0 else ""
        return (fmt_signed(value), style)

    return Content.assemble(
        f"equity {fmt_money(wallet.equity)} {wallet.currency}  uPnL ",
        pnl(wallet.unrealized),
        "  day ",
        pnl(wallet.daily_pnl),
        f"  dd {fmt_pct(wallet.drawdown)}  exposure {fmt_money(wallet.exposure)}",
    )


def perp_cells(position: PositionRow, places: int, styles: CellStyles) -> tuple[Text, ...]:
    """The margin cells of a perpetual position (dashes where the venue did not say)."""
    distance = position.liq_distance
    style = (
        styles.bad
        if distance < LIQ_DANGER
        else styles.caution
        if distance < LIQ_CAUTION
        else styles.muted
    )  # NaN compares false: no liquidation price reads calm
    return (
        cell(f"{position.leverage:g}x" if position.leverage > 0 else MISSING, right=True),
        cell(position.margin_mode or MISSING, styles.muted),
        cell(fmt_level(position.liquidation, places), right=True),
        cell(fmt_pct(distance), style, right=True),
        cell(fmt_signed(-position.funding), styles.signed(-position.funding), right=True),
    )


def contract_row(position: PositionRow, styles: CellStyles, places: int) -> Row:
    """A multiplier position as MULT_COLUMNS cells (dashes where the contract has no TP/SL)."""
    side = position.side.upper()
    short = position.contract[-CONTRACT_DIGITS:] if position.contract else ""
    sl = position.sl_amount
    return (
        position.key,
        (
            cell(position.symbol, "bold"),
            cell(side, styles.good if side in ("LONG", "BUY") else styles.bad),
            cell(f"…{short}" if short else MISSING, styles.muted),
            cell(f"x{position.multiplier:g}" if position.multiplier > 0 else MISSING, right=True),
            cell(fmt_level(position.stake, 2), right=True),
            cell(fmt_price(position.entry, places), right=True),
            cell(fmt_price(position.mark, places), right=True),
            cell(fmt_signed(position.unrealized), styles.signed(position.unrealized), right=True),
            cell(fmt_level(position.tp_amount, 2), right=True),
            cell(fmt_level(-sl, 2), right=True),  # a loss: shown negative
            cell(fmt_level(position.stop_out, places), styles.caution, right=True),
            cell(fmt_age(position.age_s), styles.muted, right=True),
        ),
    )


def position_row(
    position: PositionRow, styles: CellStyles, *, perp: bool = False, mult: bool = False
) -> Row:
    """One open position as table cells (`perp`: with the margin columns of PERP_COLUMNS;
    `mult`: as a multiplier contract, MULT_COLUMNS)."""
    side = position.side.upper()
    places = (
        position.decimals if position.decimals >= 0 else row_decimals(position.entry, position.mark)
    )
    if mult:
        return contract_row(position, styles, places)
    return (
        position.key,
        (
            cell(position.symbol, "bold"),
            cell(side, styles.good if side in ("LONG", "BUY") else styles.bad),
            cell(fmt_qty(position.qty), right=True),
            cell(fmt_price(position.entry, places), right=True),
            cell(fmt_price(position.mark, places), right=True),
            cell(fmt_signed(position.unrealized), styles.signed(position.unrealized), right=True),
            cell(fmt_level(position.stop_loss, places), right=True),
            cell(fmt_level(position.take_profit, places), right=True),
            *(perp_cells(position, places, styles) if perp else ()),
            cell(fmt_age(position.age_s), styles.muted, right=True),
        ),
    )


class WalletPanel(Widget):
    """The inside of one wallet tab: summary line, "no open positions" or the position table."""

    DEFAULT_CSS = """
    WalletPanel {
        height: 1fr;
        layout: vertical;
    }
    WalletPanel > .wallet-summary {
        height: auto;
        padding: 0 1;
    }
    WalletPanel > .wallet-empty {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, wallet: WalletView, styles: CellStyles) -> None:
        super().__init__()
        self.wallet = wallet
        self._styles = styles
        self._ready = False
        self._perp = is_perp_wallet(wallet.wallet_id)
        self._mult = wallet.multipliers
        self._rows: RowMemo[PositionRow] = RowMemo(
            lambda p: position_row(p, self._styles, perp=self._perp, mult=self._mult)
        )

    def compose(self) -> ComposeResult:
        yield TextBlock(classes="wallet-summary")
        yield Static("no open positions", classes="wallet-empty")
        columns = MULT_COLUMNS if self._mult else PERP_COLUMNS if self._perp else COLUMNS
        yield KeyedTable(columns, classes="wallet-positions")

    @property
    def table(self) -> KeyedTable:
        """This wallet's position table."""
        return self.query_one(KeyedTable)

    @property
    def summary(self) -> TextBlock:
        """This wallet's summary line."""
        return self.query_one(".wallet-summary", TextBlock)

    def on_mount(self) -> None:
        self._ready = True
        self.show(self.wallet, self._styles)

    def show(self, wallet: WalletView, styles: CellStyles) -> None:
        """Show this wallet's latest state (kept until mounted if the tab is still being added)."""
        if styles != self._styles:
            self._rows.forget()
        self.wallet, self._styles = wallet, styles
        if not self._ready:
            return
        self.summary.show(wallet_summary(wallet))
        empty = not wallet.positions
        self.query_one(".wallet-empty", Static).display = empty
        self.table.display = not empty
        self.table.sync(self._rows.rows(wallet.positions))


class PositionsPane(ViewPane):
    """Open positions per wallet, one tab each, with each wallet's equity and PnL."""

    DEFAULT_CSS = """
    PositionsPane {
        height: 1fr;
        layout: vertical;
    }
    PositionsPane > #positions-empty {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    PositionsPane > TabbedContent {
        height: 1fr;
    }
    PositionsPane TabPane {
        padding: 0;
        height: 1fr;
    }
    PositionsPane ContentSwitcher {
        height: 1fr;
    }
    """

    view: reactive[WalletsView | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._panels: dict[str, WalletPanel] = {}
        self._tab_ids: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._tabs_added = 0

    def compose(self) -> ComposeResult:
        yield Static("no wallets yet", id="positions-empty")
        yield TabbedContent(id="wallet-tabs")

    @property
    def tabs(self) -> TabbedContent:
        """The wallet tabs."""
        return self.query_one("#wallet-tabs", TabbedContent)

    def panel(self, wallet_id: str) -> WalletPanel:
        """The tab content of one wallet."""
        return self._panels[wallet_id]

    def tab_id(self, wallet_id: str) -> str:
        """The id of a wallet's tab (what `TabbedContent.active` holds when it is shown)."""
        return self._tab_ids[wallet_id]

    def selected_position(self) -> tuple[str, PositionRow] | None:
        """(wallet id, row) of the position under the cursor in the wallet tab on show."""
        active = self.tabs.active
        for wallet_id, tab_id in self._tab_ids.items():
            if tab_id != active:
                continue
            panel = self._panels[wallet_id]
            key = panel.table.selected_key()
            row = next((p for p in panel.wallet.positions if p.key == key), None)
            return (wallet_id, row) if row is not None else None
        return None

    def show_view(self) -> None:
        wallets = self.view.wallets if self.view is not None else ()
        self.query_one("#positions-empty", Static).display = not wallets
        present = {w.wallet_id for w in wallets}
        for wallet_id in [w for w in self._panels if w not in present]:
            self._close_tab(wallet_id)
        for wallet in wallets:
            if wallet.wallet_id in self._panels:
                self._update_tab(wallet)
            else:
                self._open_tab(wallet)

    def _open_tab(self, wallet: WalletView) -> None:
        self._tabs_added += 1
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", wallet.wallet_id)
        tab_id = f"wallet-{self._tabs_added}-{safe}"
        panel = WalletPanel(wallet, self.cell_styles)
        label = wallet_label(wallet)
        self._panels[wallet.wallet_id] = panel
        self._tab_ids[wallet.wallet_id] = tab_id
        self._labels[wallet.wallet_id] = label
        self.tabs.add_pane(TabPane(wallet_tab_label(wallet), panel, id=tab_id))

    def _update_tab(self, wallet: WalletView) -> None:
        label = wallet_label(wallet)
        if self._labels[wallet.wallet_id] != label:
            self._labels[wallet.wallet_id] = label
            self.tabs.get_tab(self._tab_ids[wallet.wallet_id]).label = wallet_tab_label(wallet)
        self._panels[wallet.wallet_id].show(wallet, self.cell_styles)

    def _close_tab(self, wallet_id: str) -> None:
        self.tabs.remove_pane(self._tab_ids.pop(wallet_id))
        del self._panels[wallet_id]
        del self._labels[wallet_id]
