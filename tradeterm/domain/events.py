"""Bus topics and the events engines publish on them.

The flow (ARCHITECTURE "How data flows"), one topic per arrow:
  tick -> bar -> signal -> allocator (AllocatorDecision; taken ones become OrderIntent on "intent")
  -> risk.decision (RiskDecision) -> confirmation (PendingConfirmation, when a human must confirm)
  -> order (Order) -> fill (Fill) -> position (PositionUpdate) / wallet (WalletSnapshot)
  -> trade.closed (ClosedTrade) -> allocator reward, rollout KPIs, storage, notify, telemetry.
Interfaces (TUI bridge, Telegram, Prometheus, the recorder) subscribe; no engine knows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradeterm.domain.enums import (
    ConfirmationStatus,
    Domain,
    RiskVerdict,
    Side,
    TradingState,
)
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet

# ---- topics -------------------------------------------------------------------------------------
TICK = "tick"
BAR = "bar"
SIGNAL = "signal"
ALLOCATION = "allocator.decision"
ALLOCATOR_STATE = "allocator.state"
REGIME = "regime"
INTENT = "intent"
RISK_DECISION = "risk.decision"
CONFIRMATION = "confirmation"
ORDER = "order"
FILL = "fill"
POSITION = "position"
WALLET = "wallet"
TRADE_CLOSED = "trade.closed"
TRADING_STATE = "trading_state"
STAGE = "stage"
DOMAIN_TOGGLE = "domain.toggle"
AUDIT = "audit"
ALERT = "alert"
VENUE_HEALTH = "venue.health"
FLATTEN = "flatten"
KILL_SWITCH = "risk.kill"
RISK_RECHECK = "risk.recheck"
"""A decision taken again on an existing intent (operator approval, restart): recorded and shown,
never acted on by execution (the caller acts on it)."""
EQUITY = "equity"


def arm_id(strategy: str, venue: str, symbol: str) -> str:
    """The allocator arm of a strategy instance on one market: `ema_trend|sim:R_100`."""
    return f"{strategy}|{venue}:{symbol}"


# ---- allocator ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AllocatorDecision:
    """Whether a signal gets capital, and why. Skipped signals are shown to the operator too."""

    signal: Signal
    arm: str
    taken: bool
    explore: bool
    wallet_id: str
    reason: str
    score: float
    exploration_rate: float
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A signal the allocator routed to a wallet; the risk engine sizes and checks it."""

    id: str
    signal: Signal
    wallet_id: str
    domain: Domain
    arm: str
    explore: bool
    ts_ms: int
    win_rate: float = 0.0
    payoff: float = 0.0
    arm_trades: int = 0


# ---- risk -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecisionCosts:
    """What the gate expected an entry to really get, for the decided quantity.

    mark: the mid price when the gate decided; ideal_entry: the signal's price (its bar close);
    expected_entry / expected_stop / expected_target: the fills the cost model expects (touch,
    spread, slippage; the target rests as a limit). spread, slippage, fees, funding: money for
    the whole round trip through the stop; total: their sum; cost_r: total over the money at
    risk (R). gross_reward_risk: the signal's own ratio at its ideal prices; net_reward_risk: at
    the expected fills, net of every cost (what the minimum applies to).
    """

    mark: float
    ideal_entry: float
    expected_entry: float
    expected_stop: float
    expected_target: float
    spread: float
    slippage: float
    fees: float
    funding: float
    total: float
    cost_r: float
    gross_reward_risk: float
    net_reward_risk: float


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The risk engine's verdict on an intent. `reasons` explain a denial or a resize."""

    id: str
    intent: OrderIntent
    verdict: RiskVerdict
    qty: float
    notional: float
    risk_amount: float
    risk_fraction: float
    reasons: tuple[str, ...]
    ts_ms: int
    canary: bool = False
    costs: DecisionCosts | None = None
    """The gate's expected fills and costs (None when it denied before pricing the entry)."""
    recheck_of: str = ""
    """For a re-check at approval (or a restart re-decision): the id of the decision it re-checks."""

    @property
    def approved(self) -> bool:
        return self.verdict is not RiskVerdict.DENIED

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "ok"


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    """The trading state changed: node-wide (`scope` empty) or for one wallet (`scope` = the
    wallet id, e.g. its kill switch halted it or the operator resumed it)."""

    state: TradingState
    previous: TradingState
    reason: str
    ts_ms: int
    source: str = "risk"
    scope: str = ""


# ---- confirmations --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PendingConfirmation:
    """An approved intent waiting for the operator, cancelled automatically at `expires_ms`."""

    id: str
    decision: RiskDecision
    status: ConfirmationStatus
    created_ms: int
    expires_ms: int
    decided_ms: int = 0
    decided_by: str = ""
    reason: str = ""

    @property
    def intent(self) -> OrderIntent:
        return self.decision.intent

    def seconds_left(self, now_ms: int) -> float:
        return max(0.0, (self.expires_ms - now_ms) / 1000.0)


# ---- portfolio ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A position opened or changed (`position` set) or closed (`position` None)."""

    wallet_id: str
    venue: str
    symbol: str
    position: Position | None
    ts_ms: int
    mark: float = 0.0


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip: what the allocator learns from and the rollout KPIs count."""

    id: str
    wallet_id: str
    venue: str
    symbol: str
    side: Side
    qty: float
    entry_price: float
    exit_price: float
    opened_ms: int
    closed_ms: int
    pnl: float
    fees: float
    r_multiple: float
    strategy: str
    arm: str
    signal_id: str
    exit_reason: str
    explore: bool = False
    risk_amount: float = 0.0
    """Money the gate planned to risk on this quantity (loss at the stop, net of costs): R."""
    cost: float = 0.0
    """What the round trip paid beyond its ideal prices: spread and slippage on both legs,
    fees and funding (money)."""
    funding: float = 0.0
    """Funding paid (received: negative) while the position was open."""

    @property
    def won(self) -> bool:
        return self.pnl > 0

    @property
    def cost_r(self) -> float:
        """The round trip's cost in R (0 when R is unknown)."""
        return self.cost / self.risk_amount if self.risk_amount > 0 else 0.0


@dataclass(frozen=True, slots=True)
class WalletSnapshot:
    """A wallet with its marked-to-market figures."""

    wallet: Wallet
    equity: float
    unrealized_pnl: float
    exposure: float
    exposure_by_symbol: dict[str, float]
    open_positions: int
    drawdown: float
    daily_pnl: float
    ts_ms: int


# ---- rollout, operator ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StageChanged:
    from_index: int
    to_index: int
    name: str
    event: str
    reason: str
    ts_ms: int
    kpis: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DomainToggled:
    domain: Domain
    enabled: bool
    ts_ms: int
    source: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action, from any interface, with its result.

    Written twice: `phase="requested"` BEFORE the action runs (ok false, result "requested"), then
    completed under the same id with `phase="done"`, ok and the result. A row still "requested"
    after a restart is an action whose outcome the crash hid. `args` keep their JSON types."""

    id: str
    ts_ms: int
    source: str
    action: str
    args: dict[str, Any]
    ok: bool
    result: str
    phase: str = "done"


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the operator should see now (denials, kill switch, reconciliation orphans)."""

    level: str
    text: str
    ts_ms: int
    topic: str = ""


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    """A wallet's drawdown reached the kill level: trading HALTED; flatten and demote follow."""

    wallet_id: str
    domain: Domain
    drawdown: float
    limit: float
    flatten: bool
    ts_ms: int
