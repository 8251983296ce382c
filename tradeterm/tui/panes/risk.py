"""The risk pane: how close each wallet is to its limits, in gauges that read without colour.

First the trading state ("Trading ACTIVE", or "HALTED: drawdown 15.3% >= 15%"). Then, per
wallet, four text gauges -- daily loss against its cap, drawdown against the kill level,
portfolio exposure against its cap, and the most exposed pair against the pair cap -- each like
"daily loss  [###.......]  -3.1% / 6.0%  ok", where the word is ok, WARN (at 70% of the limit)
or BREACH. Canary and kill-switch flags are words. Last, the arms and markets cooling down.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive

from tradeterm.tui.panes.format import fmt_age, fmt_hm, fmt_pct
from tradeterm.tui.panes.table import ViewPane
from tradeterm.tui.panes.textblock import TextBlock
from tradeterm.tui.views import GaugeView, RiskView

WARN_AT = 0.7
"""Share of a limit from which a gauge says WARN."""

GAUGE_CELLS = 10
LABEL_WIDTH = 12

_STATUS_STYLES = {
    "ok": "$text-success",
    "WARN": "bold $text-warning",
    "BREACH": "bold reverse $error",
}
_STATE_STYLES = {
    "ACTIVE": "bold $text-success",
    "REDUCING": "bold $text-warning",
    "HALTED": "bold reverse $error",
}


def gauge_status(value: float, limit: float) -> str:
    """ok, WARN (>= 70% of the limit) or BREACH (at or past it)."""
    if limit <= 0:
        return "ok" if value <= 0 else "BREACH"
    share = value / limit
    if share >= 1:
        return "BREACH"
    if share >= WARN_AT:
        return "WARN"
    return "ok"


def gauge_bar(value: float, limit: float, cells: int = GAUGE_CELLS) -> str:
    """A text bar "[###.......]" filled by value / limit."""
    share = 0.0 if limit <= 0 else min(max(value / limit, 0.0), 1.0)
    filled = round(share * cells)
    return "[" + "#" * filled + "." * (cells - filled) + "]"


def gauge_line(
    label: str, value: float, limit: float, *, loss: bool = False, note: str = ""
) -> Content:
    """One gauge: label, bar, value / limit, status word (and a note, e.g. which pair).
    A loss shows with a minus sign."""
    status = gauge_status(value, limit)
    shown = f"-{fmt_pct(value)}" if loss and value > 0 else fmt_pct(value)
    numbers = f"{shown:>6} / {fmt_pct(limit)}"
    return Content.assemble(
        f"  {label:<{LABEL_WIDTH}}",
        (gauge_bar(value, limit), _STATUS_STYLES[status]),
        f"  {numbers:<16}",
        (status, _STATUS_STYLES[status]),
        (f"  {note}" if note else "", "$text-muted"),
    )


def wallet_gauges(gauge: GaugeView) -> list[Content]:
    """A wallet's heading (canary and kill-switch words) and its four gauges."""
    canary = Content.styled("canary ON", "$text-warning") if gauge.canary else "canary off"
    switch = (
        Content.styled("kill switch TRIPPED", "bold reverse $error")
        if gauge.tripped
        else Content.styled("kill switch armed", "$text-muted")
    )
    heading = Content.assemble((gauge.wallet_id, "bold"), "  ", canary, "  ", switch)
    pair_name, pair_value = max(gauge.pair_exposure, key=lambda p: p[1], default=("—", 0.0))
    return [
        heading,
        gauge_line("daily loss", gauge.daily_loss, gauge.daily_loss_cap, loss=True),
        gauge_line("drawdown", gauge.drawdown, gauge.kill_level),
        gauge_line("exposure", gauge.portfolio_exposure, gauge.portfolio_cap),
        gauge_line("worst pair", pair_value, gauge.pair_cap, note=pair_name),
    ]


def trading_line(view: RiskView) -> Content:
    """ "Trading ACTIVE", or the state word with its reason ("HALTED: drawdown 15.3% >= 15%")."""
    state = view.trading_state.upper() or "UNKNOWN"
    style = _STATE_STYLES.get(state, "bold")
    if view.reason:
        return Content.assemble((state, style), f": {view.reason}")
    return Content.assemble("Trading ", (state, style))


def cooldown_lines(view: RiskView) -> list[Content]:
    """The arms and markets cooling down, with when they are free again (UTC)."""
    if not view.cooldowns:
        return [Content.styled("no cooldowns", "$text-muted")]
    lines = [Content.styled("cooldowns", "bold")]
    for name, until_ms in sorted(view.cooldowns, key=lambda c: c[1]):
        left = f" ({fmt_age((until_ms - view.now_ms) / 1000)} left)" if view.now_ms else ""
        lines.append(Content(f"  {name} until {fmt_hm(until_ms)}{left}"))
    return lines


def risk_text(view: RiskView) -> Content:
    """Everything the risk pane says, as lines."""
    lines: list[Content] = [trading_line(view)]
    for gauge in view.gauges:
        lines.extend(wallet_gauges(gauge))
    lines.extend(cooldown_lines(view))
    return Content("\n").join(lines)


class RiskPane(ViewPane):
    """Risk gauges per wallet, the trading state, and cooldowns."""

    DEFAULT_CSS = """
    RiskPane {
        height: 1fr;
        overflow-y: auto;
        padding: 0 1;
    }
    RiskPane > #risk-text {
        height: auto;
    }
    """

    view: reactive[RiskView | None] = reactive(None, always_update=True)

    def compose(self) -> ComposeResult:
        yield TextBlock("waiting for risk state…", id="risk-text")

    @property
    def text(self) -> TextBlock:
        """The pane's text (what the operator reads)."""
        return self.query_one("#risk-text", TextBlock)

    def show_view(self) -> None:
        if self.view is not None:
            self.text.show(risk_text(self.view))
