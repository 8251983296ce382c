"""Panes: widgets that render one view model each (attributes down, messages up).

The app sets `pane.view = <XView>` (from tradeterm.tui.views) and each pane draws only that.
"""

from tradeterm.tui.panes.allocator import AllocatorPane
from tradeterm.tui.panes.confirmations import ConfirmationsPane
from tradeterm.tui.panes.header import HeaderBar
from tradeterm.tui.panes.positions import PositionsPane, WalletPanel
from tradeterm.tui.panes.risk import RiskPane
from tradeterm.tui.panes.signals import SignalsPane
from tradeterm.tui.panes.stages import StagePane
from tradeterm.tui.panes.table import KeyedTable, ViewPane
from tradeterm.tui.panes.universe import UniversePane

__all__ = [
    "AllocatorPane",
    "ConfirmationsPane",
    "HeaderBar",
    "KeyedTable",
    "PositionsPane",
    "RiskPane",
    "SignalsPane",
    "StagePane",
    "UniversePane",
    "ViewPane",
    "WalletPanel",
]
