"""Screens and modals: help, flatten-all, confirmation detail, stages, domains, quit.

Each takes plain values and returns the operator's decision through `dismiss(result)`; the app
carries it out through the Control facade.
"""

from tradeterm.tui.screens.confirmation import ConfirmationDetail
from tradeterm.tui.screens.domains import DomainsModal
from tradeterm.tui.screens.flatten import FlattenModal, FlattenResultModal
from tradeterm.tui.screens.help import HelpScreen
from tradeterm.tui.screens.history import TradeHistoryScreen
from tradeterm.tui.screens.position import PositionCloseModal, PositionLevelModal
from tradeterm.tui.screens.quit import QuitModal
from tradeterm.tui.screens.splash import SplashScreen
from tradeterm.tui.screens.stages import PromoteModal, StageScreen

__all__ = [
    "ConfirmationDetail",
    "DomainsModal",
    "FlattenModal",
    "FlattenResultModal",
    "HelpScreen",
    "PositionCloseModal",
    "PositionLevelModal",
    "PromoteModal",
    "QuitModal",
    "SplashScreen",
    "StageScreen",
    "TradeHistoryScreen",
]
