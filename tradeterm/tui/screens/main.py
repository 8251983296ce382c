"""The main screen: every pane at once on a wide terminal, folded into tabs below `compact_width`.

Crossing the width threshold recomposes the screen; the app then hands every pane its latest view
again, so nothing is lost by resizing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane, Tabs

from tradeterm.tui.panes import (
    AllocatorPane,
    ConfirmationsPane,
    HeaderBar,
    PositionsPane,
    RiskPane,
    SignalsPane,
    StagePane,
    UniversePane,
)

PANE_TYPES: dict[str, type[Widget]] = {
    "header": HeaderBar,
    "universe": UniversePane,
    "wallets": PositionsPane,
    "signals": SignalsPane,
    "risk": RiskPane,
    "stages": StagePane,
    "confirmations": ConfirmationsPane,
    "allocator": AllocatorPane,
}

# (tab label, pane name) in the order an operator looks for them on a small terminal; keys 1-7
# bring them forward in this order (tab labels carry the key)
COMPACT_TABS = (
    ("Confirm", "confirmations"),
    ("Positions", "wallets"),
    ("Signals", "signals"),
    ("Universe", "universe"),
    ("Risk", "risk"),
    ("Stages", "stages"),
    ("Arms", "allocator"),
)


class MainScreen(Screen[None]):
    """Header, the panes, and the footer of keys."""

    DEFAULT_CSS = """
    MainScreen { layout: vertical; }
    MainScreen #body { height: 1fr; }
    MainScreen #body > ConfirmationsPane { height: auto; max-height: 14; }
    MainScreen #body > ConfirmationsPane > KeyedTable { height: auto; max-height: 12; }
    MainScreen #body > ConfirmationsPane { border-bottom: solid $panel-lighten-2; }
    MainScreen #panes { height: 1fr; }
    MainScreen #left { width: 3fr; border-right: solid $panel-lighten-2; }
    MainScreen #right { width: 2fr; }
    MainScreen #left > UniversePane { height: 2fr; }
    MainScreen #left > PositionsPane { height: 2fr; }
    MainScreen #left > SignalsPane { height: 3fr; }
    MainScreen #right > RiskPane { height: auto; max-height: 40%; }
    MainScreen #right > StagePane { height: 2fr; }
    MainScreen #right > AllocatorPane { height: 2fr; }
    MainScreen #tabs { height: 1fr; }
    """

    def __init__(
        self,
        *,
        now_ms: Callable[[], int],
        compact_width: int = 120,
        views: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self._now_ms = now_ms
        self._compact_width = compact_width
        self._views = views or dict
        self.compact = False

    def _pane(self, name: str) -> Widget:
        if name == "confirmations":
            return ConfirmationsPane(now_ms=self._now_ms, id="pane-confirmations")
        return PANE_TYPES[name](id=f"pane-{name}")

    def compose(self) -> ComposeResult:
        self.compact = self.app.size.width < self._compact_width
        self.set_class(self.compact, "-compact")
        yield self._pane("header")
        if self.compact:
            with TabbedContent(id="tabs"):
                for key, (label, name) in enumerate(COMPACT_TABS, start=1):
                    with TabPane(f"{key} {label}", id=f"tab-{name}"):
                        yield self._pane(name)
        else:  # confirmations span the width: every decisive column fits from 120 columns
            with Vertical(id="body"):
                yield self._pane("confirmations")
                with Horizontal(id="panes"):
                    with Vertical(id="left"):
                        for name in ("universe", "wallets", "signals"):
                            yield self._pane(name)
                    with Vertical(id="right"):
                        for name in ("risk", "stages", "allocator"):
                            yield self._pane(name)
        yield Footer(compact=self.compact, show_command_palette=not self.compact)

    def on_mount(self) -> None:
        self.apply_all(self._views())

    async def on_resize(self, event: Resize) -> None:
        if (event.size.width < self._compact_width) != self.compact:
            await self.recompose()
            self.apply_all(self._views())

    def apply(self, pane: str, view: Any) -> None:
        """Hand a pane its new view (attributes down)."""
        for widget in self.query(PANE_TYPES[pane]):
            widget.view = view  # type: ignore[attr-defined]

    def apply_all(self, views: dict[str, Any]) -> None:
        for pane, view in views.items():
            self.apply(pane, view)

    def confirmations(self) -> ConfirmationsPane | None:
        found: Iterable[ConfirmationsPane] = self.query(ConfirmationsPane)
        return next(iter(found), None)

    def jump(self, pane: str) -> None:
        """Show `pane` (its tab when compact) and focus its table, so arrows and keys act there."""
        self.show_tab(pane)
        found = self.query(PANE_TYPES[pane])
        if found:
            self.call_after_refresh(self._focus_inside, found.first())

    def _focus_inside(self, pane: Widget) -> None:
        """Focus the pane's first focusable widget once its tab is shown; with none (e.g. no
        positions yet), the tab strip, so the arrows still move between tabs."""
        target = next((w for w in pane.query("*") if w.focusable), None)
        if target is None and self.compact:
            target = self.query_one("#tabs", TabbedContent).query_one(Tabs)
        if target is not None:
            target.focus()

    def show_tab(self, pane: str) -> None:
        """In compact mode, bring a pane's tab forward (e.g. confirmations when one arrives)."""
        if self.compact:
            self.query_one(TabbedContent).active = f"tab-{pane}"
