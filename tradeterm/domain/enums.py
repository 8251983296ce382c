"""Enumerations shared by every layer. Values are the lowercase words stored in SQLite and config."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def from_sign(cls, sign: float) -> Side:
        if sign == 0:
            raise ValueError("side sign must be non-zero")
        return cls.BUY if sign > 0 else cls.SELL


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    """A limit order at `price`, working once the price reaches `stop_price`."""
    TRAILING_STOP = "trailing_stop"
    """A market order that fires when the price turns back `trail_callback_pct` from its best
    since activation (at `stop_price`, or at once without one)."""


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_ORDER_STATES

    @property
    def is_working(self) -> bool:
        return self in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


_TERMINAL_ORDER_STATES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class ContractKind(StrEnum):
    """How an instrument settles; decides margin, funding and PnL maths."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    OPTION = "option"
    MULTIPLIER = "multiplier"
    SYNTHETIC = "synthetic"


class Domain(StrEnum):
    """A family of markets with its own wallets, gates and rollout stage."""

    SYNTHETICS = "synthetics"
    CRYPTO_SPOT = "crypto_spot"
    CRYPTO_PERP = "crypto_perp"
    FOREX = "forex"
    OPTIONS = "options"


class WalletMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class TradingState(StrEnum):
    """Owned by the risk engine. REDUCING: no new entries, exits allowed. HALTED: nothing new."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class RiskVerdict(StrEnum):
    APPROVED = "approved"
    RESIZED = "resized"
    DENIED = "denied"


class ConfirmationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class TrendRegime(StrEnum):
    TREND = "trend"
    CHOP = "chop"


class DirectionRegime(StrEnum):
    BULL = "bull"
    BEAR = "bear"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"
