"""The allocator pane: how the bandit rates each strategy arm, and how much it explores.

A status line ("exploration 10% (25% in chop)  learning ON"), the market regimes when known,
then one row per arm (strategy on a market) with its posterior mean reward in R, its spread,
pulls, trades, win rate and payoff, best arm on top.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive

from tradeterm.tui.panes.format import MISSING, fmt_pct, fmt_ratio, fmt_signed
from tradeterm.tui.panes.table import CellStyles, ColumnSpec, KeyedTable, Row, ViewPane, cell
from tradeterm.tui.panes.textblock import TextBlock
from tradeterm.tui.views import AllocatorView, ArmRow

COLUMNS = (
    ColumnSpec("arm", "Arm"),
    ColumnSpec("mean", "Mean R", right=True),
    ColumnSpec("sd", "SD", right=True, priority=3),
    ColumnSpec("pulls", "Pulls", right=True, priority=2),
    ColumnSpec("trades", "Trades", right=True),
    ColumnSpec("win", "Win%", right=True),
    ColumnSpec("payoff", "Payoff", right=True, priority=1),
)


def fmt_count(value: float) -> str:
    """A count that may be discounted (fractional): 12 or 11.6."""
    if not math.isfinite(value):
        return MISSING
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def status_line(view: AllocatorView) -> Content:
    """ "exploration 10% (25% in chop)  learning ON" (learning OFF in the warning colour)."""
    learning = (
        Content.styled("learning ON", "$text-success")
        if view.learning
        else Content.styled("learning OFF", "bold $text-warning")
    )
    return Content.assemble(
        f"exploration {view.exploration:.0%} ({view.chop_exploration:.0%} in chop)  ", learning
    )


def regimes_line(view: AllocatorView) -> Content:
    """The regime of each market, when the classifier has said."""
    if not view.regimes:
        return Content("")
    return Content.assemble(
        (
            f"regimes ({view.regime_timeframe}) " if view.regime_timeframe else "regimes ",
            "$text-muted",
        ),
        "  ".join(f"{market} {regime}" for market, regime in view.regimes),
    )


def arm_row(arm: ArmRow, styles: CellStyles) -> Row:
    """One arm as table cells."""
    return (
        arm.arm,
        (
            cell(arm.arm, "bold"),
            cell(fmt_signed(arm.mean), styles.signed(round(arm.mean, 2)), right=True),
            cell(f"{arm.sd:.2f}" if math.isfinite(arm.sd) else MISSING, styles.muted, right=True),
            cell(fmt_count(arm.pulls), right=True),
            cell(fmt_count(arm.trades), right=True),
            cell(fmt_pct(arm.win_rate) if arm.trades else MISSING, right=True),
            cell(fmt_ratio(arm.payoff) if arm.trades else MISSING, right=True),
        ),
    )


def _best_first(arm: ArmRow) -> tuple[float, str]:
    return (-arm.mean if math.isfinite(arm.mean) else math.inf, arm.arm)


class AllocatorPane(ViewPane):
    """Allocator arms (posterior mean, pulls, win rate), exploration rate and learning switch."""

    DEFAULT_CSS = """
    AllocatorPane {
        height: 1fr;
        layout: vertical;
    }
    AllocatorPane > .allocator-line {
        height: auto;
        padding: 0 1;
    }
    """

    view: reactive[AllocatorView | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows = self.memo(arm_row)

    def compose(self) -> ComposeResult:
        yield TextBlock(
            "waiting for the allocator…", id="allocator-status", classes="allocator-line"
        )
        yield TextBlock(id="allocator-regimes", classes="allocator-line")
        yield KeyedTable(COLUMNS, id="allocator-table")

    @property
    def table(self) -> KeyedTable:
        """The arm table, best posterior mean first."""
        return self.query_one("#allocator-table", KeyedTable)

    @property
    def status(self) -> TextBlock:
        """The exploration / learning line."""
        return self.query_one("#allocator-status", TextBlock)

    @property
    def regimes(self) -> TextBlock:
        """The market regimes line (hidden when there are none)."""
        return self.query_one("#allocator-regimes", TextBlock)

    def show_view(self) -> None:
        view = self.view
        if view is None:
            return
        self.status.show(status_line(view))
        self.regimes.show(regimes_line(view))
        self.regimes.display = bool(view.regimes)
        arms = sorted(view.arms, key=_best_first)
        self.table.sync(self._rows.rows(arms))
