"""The risk engine: sizes every intent, enforces every limit, owns the trading state
(ACTIVE / REDUCING / HALTED) and trips the drawdown kill switch. Nothing reaches a venue without
passing here; a denial is an event with its reason, never an exception.

- `limits`: one pure function per rule (gates answer a reason, caps answer a smaller size)
- `sizing`: % risk from the stop distance, volatility targeting, the Kelly cap
- `engine`: `RiskEngine`, its `PortfolioView` / `CanaryView` needs and `RiskGauges`
"""

from __future__ import annotations

from tradeterm.risk.engine import CanaryView, PortfolioView, RiskEngine, RiskGauges, TradeMemory
from tradeterm.risk.limits import Cap

__all__ = ["CanaryView", "Cap", "PortfolioView", "RiskEngine", "RiskGauges", "TradeMemory"]
