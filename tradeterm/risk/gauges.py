"""Risk gauges: one wallet's figures beside the limits that stop them, as the console draws them."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeterm.domain.enums import TradingState


@dataclass(frozen=True, slots=True)
class RiskGauges:
    """One wallet's limits as the console draws them: each figure beside the level that stops it.

    daily_loss is the fraction of day-start equity lost today (0 when up); drawdown is the kill
    switch's measure (from peak equity, or from the equity at the operator's last resume);
    state is the wallet's effective trading state (HALTED when its own kill switch tripped);
    committed_exposure is the notional of entries still working or awaiting confirmation, which
    the exposure caps count as if filled.
    """

    wallet_id: str
    state: TradingState
    state_reason: str
    daily_loss: float
    daily_loss_cap: float
    drawdown: float
    kill_level: float
    tripped: bool
    pair_exposure: dict[str, float]
    pair_cap: float
    portfolio_exposure: float
    portfolio_cap: float
    cooldowns: dict[str, int]
    canary: bool
    committed_exposure: float = 0.0
    halted_wallets: dict[str, str] = field(default_factory=dict)
