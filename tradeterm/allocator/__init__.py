"""The allocator: a bandit over symbol x strategy arms (Thompson or UCB1) and a regime classifier.

`Allocator` decides which signals get capital and where they go; `RegimeClassifier` tells trend
from chop and bull from bear per market (chop raises exploration).
"""

from tradeterm.allocator.bandit import ArmSnapshot, ArmStats, Bandit
from tradeterm.allocator.engine import Allocator, AllocatorState
from tradeterm.allocator.regime import Regime, RegimeClassifier

__all__ = [
    "Allocator",
    "AllocatorState",
    "ArmSnapshot",
    "ArmStats",
    "Bandit",
    "Regime",
    "RegimeClassifier",
]
