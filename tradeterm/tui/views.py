"""View models: the plain, frozen data each pane renders.

The bridge builds them from bus events and Control reads (at most ~10 times a second per pane)
and hands them down; panes never see engines. Everything a pane shows comes from here, so the
same view renders identically in a Pilot test, a snapshot and a live console.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class VenueBadge:
    name: str
    connected: bool
    age_s: float
    """Seconds since the venue's last message (nan when none yet)."""
    reconnects: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WalletBadge:
    wallet_id: str
    mode: str
    """"PAPER" or "LIVE" — always shown as text, never only as colour."""


@dataclass(frozen=True, slots=True)
class HeaderView:
    wallets: tuple[WalletBadge, ...]
    stage_index: int
    stage_count: int
    stage_name: str
    trading_state: str
    """"ACTIVE" / "REDUCING" / "HALTED"."""
    trading_reason: str
    venues: tuple[VenueBadge, ...]
    pending: int
    live_enabled: bool
    now_ms: int
    orphans: int = 0
    """Open reconciliation differences (the R screen lists them)."""


@dataclass(frozen=True, slots=True)
class MarketRow:
    key: str
    venue: str
    symbol: str
    last: float
    change_pct: float
    """Change since the first price of the session, percent."""
    spread: float
    atr: float
    """ATR of the market's latest signal bar (0 when none yet)."""
    regime: str
    """e.g. "trend/bull", "chop/bear", "" when unknown."""
    arms: int
    """Strategy arms trading this market."""
    decimals: int = 2
    bars: int = 0
    """Closed bars of the regime timeframe so far (what the ATR and the regime wait for)."""


@dataclass(frozen=True, slots=True)
class UniverseView:
    rows: tuple[MarketRow, ...]
    timeframe: str = ""
    """The bars the ATR and the regime are read from (one regime per market, as in Arms)."""
    atr_period: int = 14
    since_ms: int = 0
    """Chg% is measured from the first price seen since this time (the session start)."""


@dataclass(frozen=True, slots=True)
class PositionRow:
    key: str
    symbol: str
    side: str
    qty: float
    entry: float
    mark: float
    unrealized: float
    stop_loss: float
    take_profit: float
    age_s: float
    strategy: str = ""
    decimals: int = -1
    """The market's price decimals (-1: unknown, derive from the prices)."""
    leverage: float = 0.0
    """Perpetuals: the position's leverage (0: not a perpetual / unknown)."""
    margin_mode: str = ""
    """Perpetuals: "isolated" / "cross"."""
    liquidation: float = float("nan")
    """Perpetuals: the liquidation price (NaN: none or unknown)."""
    liq_distance: float = float("nan")
    """Perpetuals: |mark - liquidation| / mark (NaN: none or unknown)."""
    funding: float = 0.0
    """Funding booked on the position (> 0: paid)."""
    contract: str = ""
    """Multipliers: the venue's contract id (Deriv)."""
    multiplier: float = 0.0
    """Multipliers: the contract's multiplier (0: not a multiplier)."""
    stake: float = float("nan")
    """Multipliers: the stake paid (the most the contract can lose)."""
    tp_amount: float = float("nan")
    """Multipliers: the take profit in currency (NaN: none)."""
    sl_amount: float = float("nan")
    """Multipliers: the stop loss in currency, as a loss (NaN: none)."""
    stop_out: float = float("nan")
    """Multipliers: the price at which the contract is closed with the stake lost."""


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet_id: str
    mode: str
    """"PAPER" / "LIVE"."""
    currency: str
    equity: float
    balance: float
    unrealized: float
    realized: float
    daily_pnl: float
    drawdown: float
    exposure: float
    positions: tuple[PositionRow, ...]
    multipliers: bool = False
    """The wallet trades multiplier contracts (Deriv): its table carries their columns."""


@dataclass(frozen=True, slots=True)
class WalletsView:
    wallets: tuple[WalletView, ...]


@dataclass(frozen=True, slots=True)
class SignalRow:
    signal_id: str
    ts_ms: int
    symbol: str
    strategy: str
    side: str
    entry: float
    stop_loss: float
    take_profit: float
    reward_risk: float
    confidence: float
    decision: str
    """"", "skipped", "approved", "resized", "denied", "pending", ... — the latest word on it."""
    reason: str
    decimals: int = -1
    """The market's price decimals (-1: unknown, derive from the prices)."""
    timeframe: str = ""
    """The bar the strategy ran on ("5s", "15s", "1m"): two runners of one strategy differ here."""


@dataclass(frozen=True, slots=True)
class SignalsView:
    rows: tuple[SignalRow, ...]
    """Newest first."""


@dataclass(frozen=True, slots=True)
class GaugeView:
    wallet_id: str
    daily_loss: float
    daily_loss_cap: float
    drawdown: float
    kill_level: float
    portfolio_exposure: float
    portfolio_cap: float
    pair_exposure: tuple[tuple[str, float], ...]
    pair_cap: float
    canary: bool
    tripped: bool


@dataclass(frozen=True, slots=True)
class RiskView:
    trading_state: str
    reason: str
    gauges: tuple[GaugeView, ...]
    cooldowns: tuple[tuple[str, int], ...]
    """(arm or market, until epoch ms)."""
    now_ms: int = 0


@dataclass(frozen=True, slots=True)
class GateRow:
    domain: str
    kpi: str
    value: float
    threshold: float
    at_most: bool
    passed: bool
    text: str
    """Ready-formatted "win rate 0.41 >= 0.35 ok"."""


@dataclass(frozen=True, slots=True)
class StageRow:
    index: int
    name: str
    description: str
    domains: tuple[tuple[str, str], ...]
    """(domain, mode) for domains not off."""
    current: bool


@dataclass(frozen=True, slots=True)
class DomainRow:
    domain: str
    mode: str
    enabled: bool
    available: bool = True
    """False when the config has no [domains] entry for it (nothing can trade there)."""


@dataclass(frozen=True, slots=True)
class StageView:
    index: int
    stages: tuple[StageRow, ...]
    gates: tuple[GateRow, ...]
    ready: bool
    report_text: str
    domains: tuple[DomainRow, ...]
    live_enabled: bool


@dataclass(frozen=True, slots=True)
class ConfirmationRow:
    id: str
    wallet_id: str
    symbol: str
    side: str
    qty: float
    entry: float
    stop_loss: float
    take_profit: float
    reward_risk: float
    strategy: str
    created_ms: int
    expires_ms: int
    reasons: str
    """The risk decision's notes (resizes), "ok" when none."""
    notional: float = 0.0
    risk_amount: float = 0.0
    explore: bool = False
    canary: bool = False
    decimals: int = -1
    """The market's price decimals (-1: unknown, derive from the prices)."""
    timeframe: str = ""
    mark: float = float("nan")
    """The market's current mark (mid), to hold against the entry (nan: no price yet)."""
    costs: ConfirmationCosts | None = None
    """The gate's ex-ante costs for this order (None when it did not price them)."""


@dataclass(frozen=True, slots=True)
class ConfirmationCosts:
    """What the risk gate expects the order to really cost, in the wallet's currency, for the
    whole round trip through the stop (see DecisionCosts): fills, costs, net reward:risk."""

    expected_entry: float
    fees: float
    spread: float
    slippage: float
    funding: float
    total: float
    cost_r: float
    """The costs over the money at risk (1R)."""
    net_reward_risk: float
    """Reward:risk at the expected fills, net of every cost (what the gate's minimum applies to)."""


@dataclass(frozen=True, slots=True)
class ConfirmationsView:
    rows: tuple[ConfirmationRow, ...]
    """Oldest first (the first to expire on top)."""


@dataclass(frozen=True, slots=True)
class ArmRow:
    arm: str
    mean: float
    sd: float
    pulls: float
    trades: float
    win_rate: float
    payoff: float
    value: float


@dataclass(frozen=True, slots=True)
class AllocatorView:
    exploration: float
    learning: bool
    arms: tuple[ArmRow, ...]
    chop_exploration: float = 0.25
    regimes: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    regime_timeframe: str = ""
    """The bars the regimes are read from (the universe pane shows the same ones)."""
