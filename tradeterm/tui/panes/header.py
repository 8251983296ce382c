"""The header bar: what book is running, at which stage, in what state, and is the feed alive.

One line in compact mode (the app sets "-compact" on the screen below 120 columns), two lines
when wide: the second carries venue health in full. Everything is words first and colour
second: "[LIVE crypto_spot]" is loud (reverse red) but still says LIVE; "HALTED" is a word.
When the line is too narrow, lower-priority detail goes first: venue detail, the "tradeterm"
brand, the trading reason, then the wallet list folds to counts ("[1 LIVE] [2 PAPER]"); the
LIVE/PAPER words, the state word and the UTC clock always stay.
"""

from __future__ import annotations

import math
from collections import Counter

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tradeterm.tui.panes.format import fmt_clock, fmt_seconds, wallet_domain
from tradeterm.tui.views import HeaderView, VenueBadge

STALE_AFTER_S = 10.0
"""A connected venue silent for longer than this is flagged "stale"."""

_STATE_STYLES = {
    "ACTIVE": "bold $text-success",
    "REDUCING": "bold $text-warning",
    "HALTED": "bold reverse $error",
}
_SEP = Content("  ")

Variants = tuple[Content, ...]
"""One header part, from most detailed to shortest (an empty Content means "left out")."""


def _wallet_badge(mode: str, label: str) -> Content:
    style = "bold reverse $error" if mode.upper() == "LIVE" else "$text-success"
    return Content.styled(f"[{label}]", style)


def _wallets(view: HeaderView) -> Variants:
    if not view.wallets:
        return (Content.styled("no wallets", "$text-muted"),)
    full = Content(" ").join(
        _wallet_badge(w.mode, f"{w.mode.upper()} {wallet_domain(w.wallet_id)}")
        for w in view.wallets
    )
    counts = Counter(w.mode.upper() for w in view.wallets)
    modes = sorted(counts, key=lambda mode: (mode != "LIVE", mode))
    grouped = Content(" ").join(_wallet_badge(mode, f"{counts[mode]} {mode}") for mode in modes)
    return (full, grouped)


def _stage(view: HeaderView) -> Variants:
    counter = f"{view.stage_index}/{view.stage_count}"
    return (
        Content.styled(f"STAGE {counter} {view.stage_name}".rstrip(), "$text-accent"),
        Content.styled(f"STAGE {counter}", "$text-accent"),
        Content.styled(f"S{counter}", "$text-accent"),
    )


def _state(view: HeaderView) -> Variants:
    state = view.trading_state.upper() or "UNKNOWN"
    word = Content.styled(state, _STATE_STYLES.get(state, "bold"))
    if not view.trading_reason:
        return (word,)
    return (Content.assemble(word, f": {view.trading_reason}"), word)


def _venue_health(venue: VenueBadge, *, detailed: bool) -> Content:
    up = venue.connected
    status = Content.styled("up" if up else "DOWN", "$text-success" if up else "bold $text-error")
    if not detailed:
        return Content.assemble(venue.name, " ", status)
    parts: list[Content | str] = [venue.name, " ", status]
    parts.append(f" {fmt_seconds(venue.age_s)} r{venue.reconnects}")
    stale = math.isfinite(venue.age_s) and venue.age_s > STALE_AFTER_S
    if stale or not up:
        parts.append(Content.styled(" stale", "$text-warning"))
    if venue.detail:
        parts.append(f" {venue.detail}")
    return Content.assemble(*parts)


def _venues(view: HeaderView) -> Variants:
    if not view.venues:
        return (Content(""),)
    down = [v for v in view.venues if not v.connected]
    full = Content(" ").join(_venue_health(v, detailed=True) for v in view.venues)
    short = Content(" ").join(_venue_health(v, detailed=False) for v in view.venues)
    if down:
        summary = Content.styled(
            f"{len(down)} venue{'s' if len(down) > 1 else ''} DOWN", "bold $text-error"
        )
        return (full, short, summary)
    return (full, short, Content.styled("venues up", "$text-success"), Content(""))


def _pending(view: HeaderView) -> Variants:
    orphans = view.orphans
    if orphans > 0:  # open reconciliation differences: the R screen lists them
        badge = Content.styled(
            f"R {orphans} orphan{'s' if orphans > 1 else ''}", "bold $text-error"
        )
        if view.pending <= 0:
            return (badge, Content.styled(f"R{orphans}", "bold $text-error"))
        pending = Content.styled(f"{view.pending} pending", "bold $text-warning")
        return (Content.assemble(pending, "  ", badge), badge)
    if view.pending <= 0:
        return (Content(""),)
    return (Content.styled(f"{view.pending} pending", "bold $text-warning"),)


def _brand() -> Variants:
    return (Content.styled("tradeterm", "bold $accent"), Content(""))


def _live_flag(view: HeaderView) -> Variants:
    text = "live trading enabled" if view.live_enabled else "paper only"
    return (Content.styled(text, "$text-muted"), Content(""))


def fit_line(
    parts: dict[str, Variants],
    order: tuple[str, ...],
    steps: tuple[str, ...],
    right: Content,
    width: int,
) -> Content:
    """Lay `order` parts left and `right` at the right edge, shortening parts in `steps` order
    (each step moves one part to its next shorter variant) until the line fits `width`."""
    level = dict.fromkeys(parts, 0)

    def left_side() -> Content:
        chosen = [parts[name][level[name]] for name in order]
        return _SEP.join(c for c in chosen if c.cell_length)

    room = width - right.cell_length - 2
    left = left_side()
    for name in steps:
        if left.cell_length <= room:
            break
        level[name] = min(level[name] + 1, len(parts[name]) - 1)
        left = left_side()
    for name in dict.fromkeys(reversed(steps)):  # give detail back where it still fits
        while level[name] > 0:
            level[name] -= 1
            if left_side().cell_length > room:
                level[name] += 1
                break
    left = left_side()
    if left.cell_length > room:
        left = left.truncate(max(room, 0), ellipsis=True)
    gap = max(width - left.cell_length - right.cell_length, 1)
    return Content.assemble(left, " " * gap, right)


class HeaderBar(Widget):
    """The top bar: wallets with PAPER/LIVE badges, stage, trading state, venue health, clock."""

    SCOPED_CSS = False  # so ".-compact HeaderBar" can match the screen's class

    DEFAULT_CSS = """
    HeaderBar {
        height: 2;
        width: 1fr;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    .-compact HeaderBar {
        height: 1;
    }
    """

    view: reactive[HeaderView | None] = reactive(None, always_update=True)

    def watch_view(self, view: HeaderView | None) -> None:
        self.refresh()

    def render(self) -> Content:
        view = self.view
        if view is None:
            return Content.styled("tradeterm  starting…", "$text-muted")
        width = self.content_region.width or self.size.width or 200
        if self.size.height >= 2:
            return Content("\n").join(header_lines(view, width))
        return header_line(view, width)


def header_line(view: HeaderView, width: int) -> Content:
    """The whole header on one line, shortened to fit `width` columns."""
    parts = {
        "brand": _brand(),
        "wallets": _wallets(view),
        "stage": _stage(view),
        "state": _state(view),
        "venues": _venues(view),
        "pending": _pending(view),
    }
    order = ("brand", "wallets", "stage", "state", "venues", "pending")
    steps = ("venues", "venues", "brand", "state", "venues", "wallets", "stage", "stage")
    clock = Content.styled(f"{fmt_clock(view.now_ms)} UTC", "bold")
    return fit_line(parts, order, steps, clock, width)


def header_lines(view: HeaderView, width: int) -> list[Content]:
    """The header on two lines: identity and state first, venue health and live flag second."""
    top = {
        "brand": _brand(),
        "wallets": _wallets(view),
        "stage": _stage(view),
        "state": _state(view),
        "pending": _pending(view),
    }
    top_order = ("brand", "wallets", "stage", "state", "pending")
    clock = Content.styled(f"{fmt_clock(view.now_ms)} UTC", "bold")
    first = fit_line(top, top_order, ("brand", "state", "wallets", "stage", "stage"), clock, width)
    reason = Content(view.trading_reason)
    bottom = {"reason": (reason, Content("")), "venues": _venues(view)}
    steps = ("venues", "venues", "reason", "venues")
    second = fit_line(bottom, ("reason", "venues"), steps, _live_flag(view)[0], width)
    return [first, second]
