"""The risk engine: prices, sizes and checks every entry, owns the trading state (ACTIVE /
REDUCING / HALTED, node-wide and per wallet) and runs the per-wallet drawdown kill switch.
Nothing reaches a venue without passing here; a denial is an event with its reason, never an
exception. Exits and flatten orders are reduce-only and exempt.

- `limits`: one pure function per gate, and the one resizing rule (`cap`)
- `sizing`: notional size, money-at-risk size, volatility targeting, the Kelly cap
- `pricing`: expected fills and round-trip costs of an entry at the current quote
- `memory`: loss streaks, cooldowns, the no-martingale limit, per-market PnL today
- `killswitch`: per-wallet drawdown trips; `state`: the trading states; `gauges`: console figures
- `engine`: `RiskEngine` and what it reads (`PortfolioView`, `CanaryView`, `CommitmentsView`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradeterm.imports import lazy_exports

if TYPE_CHECKING:
    from tradeterm.risk.engine import (
        CanaryView,
        Commitment,
        CommitmentsView,
        EntryOrderStyle,
        PortfolioView,
        RiskEngine,
        default_cost_model,
    )
    from tradeterm.risk.gauges import RiskGauges
    from tradeterm.risk.limits import Cap
    from tradeterm.risk.memory import TradeMemory

__all__ = [
    "CanaryView",
    "Cap",
    "Commitment",
    "CommitmentsView",
    "EntryOrderStyle",
    "PortfolioView",
    "RiskEngine",
    "RiskGauges",
    "TradeMemory",
    "default_cost_model",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CanaryView": "tradeterm.risk.engine",
        "Commitment": "tradeterm.risk.engine",
        "CommitmentsView": "tradeterm.risk.engine",
        "EntryOrderStyle": "tradeterm.risk.engine",
        "PortfolioView": "tradeterm.risk.engine",
        "RiskEngine": "tradeterm.risk.engine",
        "default_cost_model": "tradeterm.risk.engine",
        "RiskGauges": "tradeterm.risk.gauges",
        "Cap": "tradeterm.risk.limits",
        "TradeMemory": "tradeterm.risk.memory",
    },
)
