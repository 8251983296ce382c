"""The configuration tree: one frozen pydantic model per section, `extra="forbid"` everywhere.

Every field carries a description (it becomes the JSON-schema help text editors show). Secrets are
never part of this tree: they come from the environment or `.env` (see `secrets.py`). Each engine
receives only its own section.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tradeterm.domain.enums import Domain
from tradeterm.domain.timeframes import TIMEFRAME_MS


class Section(BaseModel):
    """Base of every config model: frozen, unknown keys rejected."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


SEED_MAX = 2**32 - 1
"""Seeds feed numpy's generators, which take 0 .. 2**32 - 1."""


def _check_timeframe(value: str) -> str:
    if value not in TIMEFRAME_MS:
        raise ValueError(f"unknown timeframe {value!r} (known: {', '.join(TIMEFRAME_MS)})")
    return value


# ---------------------------------------------------------------------------------------------
# venues
# ---------------------------------------------------------------------------------------------
class FillModelConfig(Section):
    """How paper fills are simulated (the sim venue and every paper wallet)."""

    taker_fee_rate: float = Field(
        0.0005, ge=0, le=0.01, description="Fee on market/stop fills, fraction of notional."
    )
    maker_fee_rate: float = Field(
        0.0002,
        ge=-0.001,
        le=0.01,
        description="Fee on resting limit fills, fraction of notional (negative = rebate).",
    )
    slippage_bps: float = Field(
        2.0,
        ge=0,
        le=500,
        description="Adverse slippage on market and stop fills, basis points of price.",
    )
    partial_fill_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Probability that a fill takes only part of the remaining quantity.",
    )
    partial_fill_min_ratio: float = Field(
        0.2,
        gt=0,
        le=1,
        description="Smallest fraction of the remaining quantity a partial fill takes.",
    )
    latency_ms: int = Field(
        0, ge=0, le=10_000, description="Delay between submission and the order becoming fillable."
    )


class ReplaySourceConfig(Section):
    """Real candles replayed as a live feed by the sim venue."""

    symbol: str = Field(
        ..., min_length=1, description="Symbol the replayed series trades as on the sim venue."
    )
    path: str = Field(
        ...,
        min_length=1,
        description="CSV or parquet file in the shared data format (ts,open,high,low,close,volume; ts = bar open, epoch ms UTC).",
    )
    timeframe: str = Field(..., description="Timeframe of the file's bars.")
    domain: Domain = Field(
        Domain.CRYPTO_PERP, description="Domain the replayed instrument belongs to."
    )
    speed: float = Field(
        60.0,
        gt=0,
        le=1_000_000,
        description="Replay speed: 60 plays one minute of history per second.",
    )
    tick_size: float = Field(
        0.01, gt=0, le=1e6, description="Price increment of the replayed instrument."
    )
    lot_step: float = Field(
        0.001, gt=0, le=1e6, description="Quantity increment of the replayed instrument."
    )
    min_notional: float = Field(5.0, ge=0, le=1e9, description="Smallest order value accepted.")
    loop: bool = Field(True, description="Start again from the first bar after the last one.")
    # ---- backtests (issue 10): replay from a chosen time, leverage of a replayed perpetual ----
    start_ms: int | None = Field(
        None,
        ge=0,
        description=(
            "File time (epoch ms) of the first bar played live, at the venue's start; earlier "
            "bars are history (unset: the venue's history_minutes, at most half the file)."
        ),
    )
    max_leverage: float = Field(
        1.0, ge=1, le=125, description="Largest leverage the replayed instrument allows."
    )

    _tf = field_validator("timeframe")(_check_timeframe)


class SimVenueConfig(Section):
    """The embedded simulated venue: synthetic indices modelled on Deriv's, and candle replay."""

    kind: Literal["sim"] = Field("sim", description="Venue implementation.")
    enabled: bool = Field(True, description="Connect this venue at start.")
    seed: int = Field(
        7,
        ge=0,
        le=SEED_MAX,
        description="Seed of every generator: the same seed gives the same prices.",
    )
    speed: float = Field(
        1.0, gt=0, le=10_000, description="Time warp of the synthetic generators (1 = real time)."
    )
    history_minutes: float = Field(
        240.0,
        ge=0,
        le=50_000_000,
        description="Synthetic history generated before now, served to warm-up and backfill requests.",
    )
    symbols: list[str] = Field(
        default_factory=list, description="Synthetic indices to offer (empty = all known ones)."
    )
    replay: list[ReplaySourceConfig] = Field(
        default_factory=list, description="Real candle series replayed as live instruments."
    )
    synthetic: bool = Field(
        True,
        description="Offer the synthetic indices (off: only the replayed series, as backtests use).",
    )
    fill_model: FillModelConfig = Field(
        default_factory=FillModelConfig, description="Matching model for orders on this venue."
    )
    accounts: list[str] = Field(
        default_factory=lambda: ["paper", "live"],
        description="Separate sim ledgers; 'live' lets the whole live path run offline.",
    )
    starting_balance: float = Field(
        1000.0, ge=1, le=1e9, description="Balance of each sim account at first start."
    )


class DerivVenueConfig(Section):
    """Deriv (synthetic indices, multipliers) over its WebSocket API. Token: DERIV_API_TOKEN."""

    kind: Literal["deriv"] = Field("deriv", description="Venue implementation.")
    enabled: bool = Field(True, description="Connect this venue at start.")
    app_id: int = Field(
        1089,
        ge=1,
        le=999_999_999,
        description="Deriv application id (1089 is Deriv's public demo id).",
    )
    endpoint: str = Field(
        "wss://ws.derivws.com/websockets/v3", description="WebSocket endpoint (legacy dialect)."
    )
    dialect: Literal["legacy", "new"] = Field(
        "legacy",
        description="Deriv API dialect: legacy v3 (authorize message) or the new OTP-based API.",
    )
    demo: bool = Field(True, description="Use the virtual (demo) account.")
    ping_interval_s: float = Field(
        30.0, gt=0, le=120, description="Seconds between keep-alive pings."
    )
    commission_rate: float = Field(
        0.000504,
        ge=0,
        le=0.01,
        description="Multiplier commission as a fraction of notional (stake x multiplier), charged once at purchase.",
    )
    request_timeout_s: float = Field(
        10.0, gt=0, le=120, description="Seconds to wait for the reply to one request."
    )
    otp_endpoint: str = Field(
        "https://api.derivws.com/trading/v1/options/accounts/{account}/otp",
        description="New API: REST URL that returns a one-time WebSocket URL ({account} is replaced by account_id).",
    )
    account_id: str = Field(
        "", description="New API: the trading account id used in otp_endpoint (empty: not set)."
    )


class BinanceFuturesVenueConfig(Section):
    """Binance USDT-M futures through ccxt. Keys: BINANCE_API_KEY, BINANCE_API_SECRET."""

    kind: Literal["binance_futures"] = Field("binance_futures", description="Venue implementation.")
    enabled: bool = Field(True, description="Connect this venue at start.")
    testnet: bool = Field(True, description="Use the Binance futures testnet.")
    rest_url: str = Field(
        "",
        description="Override of the REST base URL (empty = ccxt default; set for the loopback simulator).",
    )
    ws_url: str = Field("", description="Override of the WebSocket base URL (empty = default).")
    recv_window_ms: int = Field(
        5000, ge=1000, le=60_000, description="recvWindow sent with signed requests."
    )
    fill_model: FillModelConfig = Field(
        default_factory=FillModelConfig,
        description="Paper fills on this venue's prices (VIP 0 fees: 0.05% taker, 0.02% maker).",
    )


class BybitVenueConfig(Section):
    """Bybit v5 spot and perpetuals through ccxt. Keys: BYBIT_API_KEY, BYBIT_API_SECRET."""

    kind: Literal["bybit"] = Field("bybit", description="Venue implementation.")
    enabled: bool = Field(True, description="Connect this venue at start.")
    testnet: bool = Field(True, description="Use the Bybit testnet.")
    category: Literal["spot", "linear"] = Field("linear", description="Product category traded.")
    rest_url: str = Field("", description="Override of the REST base URL (empty = default).")
    ws_url: str = Field("", description="Override of the WebSocket base URL (empty = default).")
    fill_model: FillModelConfig = Field(
        default_factory=FillModelConfig,
        description="Paper fills on this venue's prices (fees: 0.055% taker, 0.02% maker).",
    )


class DeribitVenueConfig(Section):
    """Deribit options and perpetuals. Keys: DERIBIT_CLIENT_ID, DERIBIT_CLIENT_SECRET."""

    kind: Literal["deribit"] = Field("deribit", description="Venue implementation.")
    enabled: bool = Field(True, description="Connect this venue at start.")
    testnet: bool = Field(True, description="Use test.deribit.com.")
    currency: Literal["BTC", "ETH"] = Field(
        "BTC", description="Settlement currency of the option chain."
    )
    rest_url: str = Field("", description="Override of the API base URL (empty = default).")


VenueConfig = Annotated[
    SimVenueConfig
    | DerivVenueConfig
    | BinanceFuturesVenueConfig
    | BybitVenueConfig
    | DeribitVenueConfig,
    Field(discriminator="kind"),
]
VENUE_KINDS: tuple[str, ...] = ("sim", "deriv", "binance_futures", "bybit", "deribit")


# ---------------------------------------------------------------------------------------------
# domains, market data, strategies
# ---------------------------------------------------------------------------------------------
class DomainConfig(Section):
    """A family of markets: where it trades and which symbols form its universe."""

    venue: str = Field(
        ...,
        min_length=1,
        description="Name of the venue (a key of [venues]) this domain trades on.",
    )
    symbols: list[str] = Field(
        default_factory=list,
        description="The domain's universe: symbols streamed and eligible for strategies.",
    )
    enabled: bool = Field(
        True,
        description="Trade this domain at boot (forex and options always boot OFF; toggle them on in the console).",
    )


class MarketDataConfig(Section):
    """Streams, bar builders, live windows and the candle store."""

    timeframes: list[str] = Field(
        default_factory=lambda: ["15s", "1m", "5m"],
        description="Bar timeframes built from ticks (UTC-aligned).",
    )
    window_bars: int = Field(
        1000, ge=50, le=100_000, description="Closed bars kept in memory per symbol and timeframe."
    )
    warmup_bars: int = Field(
        300,
        ge=0,
        le=100_000,
        description="Bars requested from the venue's history at start to warm strategies up.",
    )
    fill_gaps: bool = Field(
        False, description="Invent flat bars for empty buckets (off: gaps stay gaps)."
    )
    store_candles: bool = Field(True, description="Write closed bars to the parquet candle store.")
    store_timeframes: list[str] = Field(
        default_factory=lambda: ["1m", "5m", "15m", "1h", "4h", "1d"],
        description=(
            "Timeframes written to the candle store; shorter bars live in memory only"
            " (day files of 5-second bars rewritten every minute wear an SD card)."
        ),
    )
    stale_after_s: float = Field(
        30.0, gt=0, le=3600, description="A feed with no message for this long is reported stale."
    )
    reconnect_max_backoff_s: float = Field(
        30.0, gt=0, le=600, description="Longest wait between reconnect attempts."
    )

    @field_validator("timeframes")
    @classmethod
    def _tfs(cls, value: list[str]) -> list[str]:
        for tf in value:
            _check_timeframe(tf)
        if not value:
            raise ValueError("at least one timeframe is needed")
        return value

    @field_validator("store_timeframes")
    @classmethod
    def _store_tfs(cls, value: list[str]) -> list[str]:
        for tf in value:
            _check_timeframe(tf)
        return value


class StrategyConfig(Section):
    """One strategy instance: which registered strategy, on what, with which parameters."""

    strategy: str = Field("", description="Registered strategy name (empty = the table's key).")
    enabled: bool = Field(True, description="Run this strategy.")
    domains: list[Domain] = Field(
        default_factory=list,
        description="Domains whose whole universe it trades (combined with symbols).",
    )
    symbols: list[str] = Field(
        default_factory=list, description="Symbols it trades, as 'SYMBOL' or 'venue:SYMBOL'."
    )
    timeframes: list[str] = Field(
        default_factory=lambda: ["1m"], description="Timeframes whose closed bars it evaluates."
    )
    confirm_timeframe: str = Field(
        "", description="Higher timeframe whose last CLOSED bar must agree (empty = none)."
    )
    params: dict[str, float | int | bool | str] = Field(
        default_factory=dict,
        description="Parameter overrides, checked against the strategy's Params model.",
    )

    @field_validator("timeframes")
    @classmethod
    def _tfs(cls, value: list[str]) -> list[str]:
        for tf in value:
            _check_timeframe(tf)
        return value

    @field_validator("confirm_timeframe")
    @classmethod
    def _ctf(cls, value: str) -> str:
        return _check_timeframe(value) if value else value


# ---------------------------------------------------------------------------------------------
# allocator, risk, execution
# ---------------------------------------------------------------------------------------------
class AllocatorConfig(Section):
    """The bandit that decides which symbol x strategy arms get capital."""

    method: Literal["thompson", "ucb1", "all"] = Field(
        "thompson",
        description=(
            "Bandit algorithm; 'all' takes every signal (no exploration coin, no draw): the "
            "deterministic mode backtests use."
        ),
    )
    exploration: float = Field(
        0.10, ge=0.10, le=1.0, description="Exploration rate at start (never below the 10% floor)."
    )
    exploration_floor: float = Field(
        0.10, ge=0.10, le=1.0, description="Lowest exploration rate the operator can set."
    )
    chop_exploration: float = Field(
        0.25, ge=0.10, le=1.0, description="Exploration rate while the regime classifier says chop."
    )
    reward_halflife_trades: float = Field(
        20.0, gt=0, le=10_000, description="Half-life, in trades, of the EWMA of expectancy in R."
    )
    drawdown_penalty: float = Field(
        0.5, ge=0, le=10, description="Reward penalty per unit of arm drawdown in R."
    )
    decay_halflife_days: float = Field(
        14.0,
        gt=0,
        le=3650,
        description="Posterior evidence halves after this many days without trades.",
    )
    ucb_c: float = Field(1.4, gt=0, le=10, description="UCB1 exploration constant.")
    max_concurrent_per_symbol: int = Field(
        1, ge=1, le=20, description="Open positions allowed per symbol across strategies."
    )
    learning: bool = Field(
        True, description="Update posteriors from closed trades (off freezes them)."
    )
    seed: int = Field(11, ge=0, le=SEED_MAX, description="Seed of the allocator's random draws.")


class RiskConfig(Section):
    """Limits the risk engine enforces on every order. Fractions are of wallet equity."""

    position_size: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Position notional per trade, fraction of wallet equity (the seed's 'base 5% of the wallet per trade').",
    )
    canary_position_size: float = Field(
        0.02,
        gt=0,
        le=1,
        description="Position notional per trade while a newly live domain is a canary, and for exploration trades.",
    )
    max_risk_per_trade: float = Field(
        0.01,
        gt=0,
        le=0.1,
        description=(
            "Most money a trade may lose at its stop, net of fees, spread, slippage and funding, "
            "fraction of equity; the smaller of this size and the notional size wins."
        ),
    )
    canary_max_risk_per_trade: float = Field(
        0.004,
        gt=0,
        le=0.1,
        description="Most money at risk per trade while a domain is a canary, and for exploration trades.",
    )
    canary_trades: int = Field(
        50,
        ge=0,
        le=100_000,
        description="A newly live domain stays canary for this many trades ...",
    )
    canary_days: float = Field(
        7.0, ge=0, le=365, description="... or this many days, whichever comes last."
    )
    sizing: Literal["fixed_fraction", "vol_target"] = Field(
        "fixed_fraction",
        description="Position sizing: % risk from the stop distance, or ATR volatility targeting (capped by the % risk).",
    )
    vol_target_annual: float = Field(
        0.30,
        gt=0,
        le=5,
        description="Annualised volatility a position is sized to under vol_target sizing.",
    )
    kelly_fraction_cap: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Cap on size as a fraction of full Kelly from the arm's win rate and payoff.",
    )
    max_pair_exposure: float = Field(
        0.15, gt=0, le=5, description="Largest notional per symbol, fraction of wallet equity."
    )
    max_portfolio_exposure: float = Field(
        0.30,
        gt=0,
        le=20,
        description="Largest total notional per wallet, fraction of wallet equity.",
    )
    daily_loss_cap: float = Field(
        0.06,
        gt=0,
        le=0.5,
        description="Entries stop for the UTC day once the wallet has lost this fraction since the day began.",
    )
    symbol_loss_cap: float = Field(
        0.03,
        gt=0,
        le=0.5,
        description="Entries on a symbol stop for the UTC day once it has lost this fraction of equity.",
    )
    cooldown_losses: int = Field(
        3, ge=1, le=100, description="Consecutive losses on an arm that start a cooldown."
    )
    cooldown_minutes: float = Field(60.0, ge=0, le=10_080, description="Length of that cooldown.")
    max_drawdown: float = Field(
        0.15,
        gt=0,
        le=0.5,
        description="Drawdown from peak equity that trips the kill switch (HALTED).",
    )
    flatten_on_kill: bool = Field(
        True, description="Close every position of the wallet when the kill switch trips."
    )
    min_reward_risk: float = Field(
        3.0,
        ge=0.5,
        le=50,
        description="Smallest reward:risk an entry may have, at its expected fills and net of round-trip costs.",
    )
    min_stop_cost_multiple: float = Field(
        4.0,
        ge=1,
        le=100,
        description=(
            "An entry's stop must be at least this many round-trip costs (fees, spread, slippage, "
            "funding) away from its expected fill; closer stops are refused."
        ),
    )
    funding_hold_hours: float = Field(
        8.0,
        ge=0,
        le=720,
        description="Hold assumed when the gate estimates the funding cost of a perpetual entry.",
    )
    max_stop_atr: float = Field(
        4.0,
        gt=0,
        le=50,
        description="Widest stop allowed, in ATRs (regime-aware widths are capped here).",
    )
    max_hold_minutes: float = Field(
        1440.0, gt=0, le=525_600, description="Positions are closed after this long."
    )
    avoid_weekend_carry: bool = Field(
        False,
        description="No entries from Friday's cut-off and positions closed before it (for markets that close at weekends).",
    )
    weekend_cutoff_utc: str = Field(
        "Fri 20:00",
        pattern=r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):[0-5]\d$",
        description="Weekly cut-off for weekend-carry avoidance, 'Day HH:MM' UTC.",
    )
    max_leverage: float = Field(
        3.0, ge=1, le=125, description="Largest notional / equity on leveraged instruments."
    )
    max_open_positions: int = Field(
        10, ge=1, le=1000, description="Open positions allowed per wallet."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RiskConfig:
        if self.canary_position_size > self.position_size:
            raise ValueError("canary_position_size must not exceed position_size")
        if self.canary_max_risk_per_trade > self.max_risk_per_trade:
            raise ValueError("canary_max_risk_per_trade must not exceed max_risk_per_trade")
        if self.max_pair_exposure > self.max_portfolio_exposure:
            raise ValueError("max_pair_exposure must not exceed max_portfolio_exposure")
        return self


class ExecutionConfig(Section):
    """Confirmations, order placement and the position monitor."""

    confirm: Literal["never", "live", "always"] = Field(
        "live", description="When a human confirms orders: never, only for live wallets, or always."
    )
    confirmation_ttl_s: float = Field(
        60.0,
        ge=5,
        le=3600,
        description="Pending confirmations are cancelled after this many seconds.",
    )
    stale_tolerance_bps: float = Field(
        25.0,
        ge=0,
        le=10_000,
        description="On approval, an intent whose price moved more than this from its entry is rejected as stale.",
    )
    entry_order: Literal["market", "limit"] = Field(
        "market", description="Order type used for entries."
    )
    limit_offset_bps: float = Field(
        2.0, ge=0, le=1000, description="Limit entries are placed this far inside the signal price."
    )
    trailing_stop_atr: float = Field(
        0.0,
        ge=0,
        le=50,
        description="Trail the stop this many ATRs behind the best price (0 = off); never widens.",
    )
    time_stop_bars: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Close a position after this many bars of its timeframe (0 = off).",
    )
    funding: bool = Field(
        True, description="Charge or credit funding on paper perpetual positions every 8 hours."
    )
    paper_margin_mode: Literal["isolated", "cross"] = Field(
        "isolated",
        description=(
            "Margin mode of paper perpetual wallets: isolated (each position backed by its "
            "initial margin) or cross (the whole wallet backs every position; a liquidation "
            "closes them all)."
        ),
    )
    reconcile: Literal["halt", "adopt"] = Field(
        "halt",
        description="Orphan orders or positions found at start: halt trading, or adopt them.",
    )
    flatten_on_shutdown: bool = Field(
        False,
        description="Close every position on SIGTERM/SIGINT (off: positions stay, working orders are cancelled).",
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=20,
        description="Retries of a temporary venue error before the order is rejected.",
    )
    resting_stops: bool = Field(
        True,
        description=(
            "Stop-loss and take-profit rest at the venue as reduce-only orders (one cancels the "
            "other), so a stopped node leaves protected positions; the position monitor stays the "
            "second line."
        ),
    )
    stop_grace_s: float = Field(
        2.0,
        ge=0,
        le=300,
        description=(
            "How long a price may sit beyond a resting stop before the monitor closes the position "
            "itself (the second line)."
        ),
    )
    stale_entry_s: float = Field(
        120.0,
        ge=1,
        le=86_400,
        description=(
            "At a restart, entry orders and intents older than this are cancelled as stale; "
            "younger ones are decided again at current prices."
        ),
    )


# ---------------------------------------------------------------------------------------------
# wallets, rollout
# ---------------------------------------------------------------------------------------------
class LiveAccountConfig(Section):
    """Where a live wallet's money sits."""

    venue: str = Field(..., min_length=1, description="Venue name (a key of [venues]).")
    account: str = Field(
        "live",
        min_length=1,
        description="Account on that venue (for the sim venue: the sim ledger name).",
    )


class LiveWalletsConfig(Section):
    """Live trading. Needs approved = true here AND --confirm on the command line."""

    approved: bool = Field(
        False, description="Allow live wallets at all (also needs --confirm on the command line)."
    )
    accounts: dict[Domain, LiveAccountConfig] = Field(
        default_factory=dict, description="Venue account per domain for live wallets."
    )


class WalletsConfig(Section):
    """Paper and live wallets: one per domain and mode, never cross-funded."""

    currency: str = Field(
        "USD",
        min_length=3,
        max_length=5,
        pattern=r"^[A-Z]{3,5}$",
        description="Accounting currency of every wallet (a 3-5 letter code such as USD).",
    )
    paper_balance: float = Field(
        1000.0,
        ge=1,
        le=1e9,
        description="Starting balance of each paper wallet when its domain is activated.",
    )
    live: LiveWalletsConfig = Field(default_factory=LiveWalletsConfig, description="Live wallets.")


DomainMode = Literal["off", "paper", "live"]


class GateConfig(Section):
    """KPIs a domain must reach before the operator may promote past the stage."""

    min_trades: int = Field(30, ge=0, le=1_000_000, description="Closed trades needed.")
    min_days: float = Field(7.0, ge=0, le=3650, description="Days of trading needed.")
    min_win_rate: float = Field(0.35, ge=0, le=1, description="Lowest win rate.")
    min_sharpe: float = Field(
        0.5, ge=-10, le=20, description="Lowest annualised Sharpe ratio of daily returns."
    )
    max_drawdown: float = Field(0.10, gt=0, le=1, description="Largest drawdown from peak equity.")


class StageConfig(Section):
    """One rollout stage: the mode of each domain and the gates to pass before leaving it."""

    name: str = Field(..., min_length=1, description="Short stage name shown in the console.")
    description: str = Field("", description="What changes in this stage.")
    domains: dict[Domain, DomainMode] = Field(
        default_factory=dict, description="Mode per domain: off, paper or live (missing = off)."
    )
    explore_on_paper: bool = Field(
        False, description="Exploration trades of live domains go to their paper wallets."
    )
    gates: dict[Domain, GateConfig] = Field(
        default_factory=dict,
        description="Gates per domain to pass before promotion to the next stage.",
    )


def _default_stages() -> list[StageConfig]:
    gate = GateConfig()
    return [
        StageConfig(
            name="crypto-paper",
            description="Crypto and synthetics on paper.",
            domains={Domain.SYNTHETICS: "paper", Domain.CRYPTO_SPOT: "paper"},
            gates={Domain.SYNTHETICS: gate, Domain.CRYPTO_SPOT: gate},
        ),
        StageConfig(
            name="crypto-live",
            description="Crypto live with exploration on paper; perps and forex stay paper-only (not yet active).",
            domains={Domain.SYNTHETICS: "live", Domain.CRYPTO_SPOT: "live"},
            explore_on_paper=True,
            gates={Domain.SYNTHETICS: gate, Domain.CRYPTO_SPOT: gate},
        ),
        StageConfig(
            name="perps-forex-paper",
            description="Adds perpetuals and forex paper wallets.",
            domains={
                Domain.SYNTHETICS: "live",
                Domain.CRYPTO_SPOT: "live",
                Domain.CRYPTO_PERP: "paper",
                Domain.FOREX: "paper",
            },
            explore_on_paper=True,
            gates={Domain.CRYPTO_PERP: gate, Domain.FOREX: gate},
        ),
        StageConfig(
            name="crypto-forex-live",
            description="Crypto and forex live; options on paper.",
            domains={
                Domain.SYNTHETICS: "live",
                Domain.CRYPTO_SPOT: "live",
                Domain.CRYPTO_PERP: "live",
                Domain.FOREX: "live",
                Domain.OPTIONS: "paper",
            },
            explore_on_paper=True,
            gates={Domain.OPTIONS: gate},
        ),
        StageConfig(
            name="full",
            description="Full rollout: every domain live.",
            domains={d: "live" for d in Domain},
        ),
    ]


class RolloutConfig(Section):
    """The staged rollout: stages in order, and where to start."""

    stages: list[StageConfig] = Field(
        default_factory=_default_stages, description="Stages in promotion order."
    )
    initial_stage: int = Field(
        1, ge=1, description="Stage (1-based) at first start; afterwards the stored stage wins."
    )

    @model_validator(mode="after")
    def _initial_in_range(self) -> RolloutConfig:
        if not self.stages:
            raise ValueError("at least one stage is needed")
        if self.initial_stage > len(self.stages):
            raise ValueError(
                f"initial_stage {self.initial_stage} is beyond the {len(self.stages)} stages"
            )
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        return self


class CostsConfig(Section):
    """Where the cost model's fees and slippage come from (the gate, paper fills, backtests)."""

    slippage: Literal["configured", "fitted"] = Field(
        "configured",
        description=(
            "'configured': each venue's fill_model.slippage_bps; 'fitted': the per-pair model "
            "refitted from recorded fills (falls back to configured for pairs without a fit)."
        ),
    )
    fees: Literal["configured", "venue"] = Field(
        "configured",
        description=(
            "'configured': each venue's fill_model fee rates; 'venue': the maker/taker rates the "
            "venue reports per market (ccxt markets), configured ones where it reports none."
        ),
    )
    refit_every_s: float = Field(
        3600.0, ge=10, le=7 * 86_400, description="Seconds between per-pair slippage refits."
    )
    min_fills: int = Field(
        20, ge=3, le=100_000, description="Taker fills a pair needs before its slippage is fitted."
    )
    window_days: float = Field(
        30.0, gt=0, le=3650, description="Fills of the last this many days feed a refit."
    )


# ---------------------------------------------------------------------------------------------
# storage, notify, telemetry, ui
# ---------------------------------------------------------------------------------------------
class StorageConfig(Section):
    """Where state lives. Relative paths are relative to the working directory."""

    state_dir: str = Field(
        "state",
        min_length=1,
        max_length=1024,
        description="Folder of the databases, candle store and control socket.",
    )
    reports_dir: str = Field(
        "reports",
        min_length=1,
        max_length=1024,
        description="Folder of backtest, calibration and PnL reports.",
    )
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000, description="SQLite busy timeout.")


class TelegramConfig(Section):
    """Telegram notifications and commands. Token: TELEGRAM_BOT_TOKEN."""

    enabled: bool = Field(
        False, description="Send notifications and accept commands over Telegram."
    )
    chat_id: str = Field("", description="Chat that receives notifications and may send commands.")
    events: list[str] = Field(
        default_factory=lambda: ["fill", "risk.denied", "trading_state", "confirmation", "stage"],
        description="Bus topics sent as notifications.",
    )


class NotifyConfig(Section):
    """Notifications."""

    telegram: TelegramConfig = Field(default_factory=TelegramConfig, description="Telegram.")


class TelemetryConfig(Section):
    """Logging and metrics."""

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level logged."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="JSON lines (with correlation ids) or plain text."
    )
    log_file: str = Field(
        "",
        max_length=1024,
        description="Also append logs to this file (empty = stderr only; the console always logs to state/tradeterm.log).",
    )
    prometheus: bool = Field(False, description="Serve Prometheus metrics.")
    prometheus_host: str = Field("127.0.0.1", description="Address the metrics endpoint binds to.")
    prometheus_port: int = Field(9464, ge=1, le=65535, description="Port of the metrics endpoint.")


class UiConfig(Section):
    """The console."""

    theme: Literal["dark", "light"] = Field("dark", description="Colour theme.")
    refresh_hz: float = Field(10.0, gt=0, le=30, description="Most pane updates per second.")
    compact_width: int = Field(
        120, ge=60, le=400, description="Below this many columns panes fold into tabs."
    )


class ControlConfig(Section):
    """The local control socket used by `tradeterm status|flatten|approve|reject`."""

    socket: str = Field(
        "tradeterm.sock",
        min_length=1,
        max_length=100,
        description="Unix socket name, inside the state folder (absolute paths and '..' are refused).",
    )


EVERY_WORDS = {"hourly": 3_600_000, "daily": 86_400_000, "weekly": 7 * 86_400_000}
_EVERY_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def every_ms(text: str) -> int:
    """A schedule interval in ms: "weekly", "daily", "hourly" or N followed by m/h/d/w ("7d")."""
    word = text.strip().lower()
    if word in EVERY_WORDS:
        return EVERY_WORDS[word]
    number, unit = word[:-1], word[-1:]
    if unit not in _EVERY_UNITS or not number.isdigit() or int(number) <= 0:
        raise ValueError(
            f"{text!r} is not an interval: use weekly, daily, hourly or N + m/h/d/w (e.g. 7d)"
        )
    return int(number) * _EVERY_UNITS[unit]


class DriftConfig(Section):
    """Drift alerts: an arm trading a promoted config is compared with the promoted trial's
    backtest (win rate, expectancy in net R, drawdown) on its closed trades since the promotion."""

    enabled: bool = Field(True, description="Judge arms that trade a promoted active config.")
    min_trades: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Closed trades since the promotion before an arm is judged.",
    )
    max_win_rate_drop: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Drift when the live win rate is below the backtest's by more than this (0.15 = 15 points).",
    )
    max_expectancy_drop_r: float = Field(
        0.5,
        ge=0,
        le=100,
        description="Drift when the live expectancy (mean net R) is below the backtest's by more than this many R.",
    )
    max_drawdown_multiple: float = Field(
        1.5,
        ge=1,
        le=100,
        description="Drift when the arm's drawdown exceeds this multiple of the backtest's max drawdown.",
    )
    min_drawdown: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Floor of the expected drawdown the multiple applies to (a backtest that barely drew down).",
    )


class RecalScheduleConfig(Section):
    """Scheduled re-calibration: the node re-runs `tradeterm calibrate` (a niced child process) on
    recent stored candles for each promoted strategy it trades; the result waits for the
    operator's `tradeterm promote`. Off by default."""

    enabled: bool = Field(False, description="Re-calibrate on a schedule (off by default).")
    every: str = Field(
        "weekly", description="How often: weekly, daily, hourly or N + m/h/d/w (e.g. 7d, 12h)."
    )
    lookback_days: int = Field(
        30, ge=1, le=3650, description="Days of recent stored candles each re-calibration uses."
    )
    trials: int = Field(50, ge=1, le=100_000, description="Trials per re-calibration study.")
    jobs: int = Field(1, ge=1, le=256, description="Worker processes of the child (1 on a Pi).")
    nice: int = Field(10, ge=0, le=19, description="Nice level of the child process (0..19).")
    all_strategies: bool = Field(
        False,
        description="Also re-calibrate strategies that have no promoted config (default: promoted ones only).",
    )
    timeout_s: float = Field(
        0,
        ge=0,
        le=7 * 86_400,
        description="Stop starting trials after this many seconds (0 = no limit).",
    )

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        every_ms(value)
        return value


class CalibrationConfig(Section):
    """The calibration lab (`tradeterm calibrate`): storage and the memory guard for a Pi."""

    drift: DriftConfig = Field(
        default_factory=DriftConfig, description="Drift alerts of arms trading a promoted config."
    )
    schedule: RecalScheduleConfig = Field(
        default_factory=RecalScheduleConfig,
        description="Scheduled re-calibration on recent stored candles (off by default).",
    )

    storage_url: str = Field(
        "",
        max_length=1024,
        description=(
            "Optuna storage URL (empty = sqlite:///<state_dir>/optuna.db in WAL mode; "
            "postgresql://user@host/db for a study shared by many hosts)."
        ),
    )
    postgres_dsn: str = Field(
        "",
        max_length=1024,
        description="PostgreSQL DSN where promotion also writes active_configs (empty = state/research.db only).",
    )
    min_available_mb: int = Field(
        300, ge=0, le=1_048_576, description="Memory guard: MB of available memory a trial needs."
    )
    min_available_pct: float = Field(
        20.0,
        ge=0,
        le=100,
        description="Memory guard: % of total memory a trial needs (the smaller of the two thresholds applies).",
    )
    memory_wait_s: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="Memory guard: seconds a worker waits for memory before it stops cleanly.",
    )


# ---------------------------------------------------------------------------------------------
# the tree
# ---------------------------------------------------------------------------------------------
def _default_venues() -> dict[str, VenueConfig]:
    return {"sim": SimVenueConfig()}


class TradetermConfig(Section):
    """The whole configuration of one tradeterm node."""

    venues: dict[str, VenueConfig] = Field(
        default_factory=_default_venues,
        description="Venues by name; each has a kind.",
    )
    domains: dict[Domain, DomainConfig] = Field(
        default_factory=dict, description="Domains and their universes."
    )
    marketdata: MarketDataConfig = Field(
        default_factory=MarketDataConfig, description="Market data."
    )
    strategies: dict[str, StrategyConfig] = Field(
        default_factory=dict, description="Strategy instances by name."
    )
    allocator: AllocatorConfig = Field(default_factory=AllocatorConfig, description="Allocator.")
    risk: RiskConfig = Field(default_factory=RiskConfig, description="Risk engine.")
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig, description="Execution.")
    wallets: WalletsConfig = Field(default_factory=WalletsConfig, description="Wallets.")
    rollout: RolloutConfig = Field(default_factory=RolloutConfig, description="Rollout stages.")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Storage.")
    notify: NotifyConfig = Field(default_factory=NotifyConfig, description="Notifications.")
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig, description="Telemetry.")
    ui: UiConfig = Field(default_factory=UiConfig, description="Console.")
    control: ControlConfig = Field(default_factory=ControlConfig, description="Control socket.")
    calibration: CalibrationConfig = Field(
        default_factory=CalibrationConfig, description="Calibration lab."
    )
    costs: CostsConfig = Field(default_factory=CostsConfig, description="Fee and slippage sources.")

    @model_validator(mode="after")
    def _references(self) -> TradetermConfig:
        problems: list[str] = []
        for dom, dcfg in self.domains.items():
            if dcfg.venue not in self.venues:
                problems.append(
                    f"domains.{dom.value}.venue: no venue named {dcfg.venue!r} in [venues]"
                )
        for dom, acct in self.wallets.live.accounts.items():
            if acct.venue not in self.venues:
                problems.append(
                    f"wallets.live.accounts.{dom.value}.venue: no venue named {acct.venue!r} in [venues]"
                )
        for name, scfg in self.strategies.items():
            for dom in scfg.domains:
                if dom not in self.domains:
                    problems.append(
                        f"strategies.{name}.domains: domain {dom.value!r} is not configured in [domains]"
                    )
        if problems:
            raise ValueError(PROBLEM_SEPARATOR.join(problems))
        return self

    # ---- rules between keys (tradeterm/config/rules.py) ---------------------------------------
    @model_validator(mode="after")
    def _rules(self) -> TradetermConfig:
        from tradeterm.config.rules import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValueError(PROBLEM_SEPARATOR.join(problems))
        return self

    # ---- the default stages gate only the domains this config trades (issue 11) ---------------
    @model_validator(mode="after")
    def _default_gates(self) -> TradetermConfig:
        """Stages the user did not write gate only configured domains: a gate on a domain no
        venue provides could never pass, so promotion would need FORCE. (Stages the user wrote
        are checked by `rules.stage_gates` instead.)"""
        if "stages" in self.rollout.model_fields_set:
            return self
        provided = set(self.domains)
        stages = [
            stage.model_copy(
                update={"gates": {d: g for d, g in stage.gates.items() if d in provided}}
            )
            for stage in self.rollout.stages
        ]
        if stages == list(self.rollout.stages):
            return self
        object.__setattr__(self, "rollout", self.rollout.model_copy(update={"stages": stages}))
        return self


PROBLEM_SEPARATOR = "\n\u241e"
"""Joins several already-located problems inside one validator error (split again by the loader)."""
