"""The protocols every venue implements, and the values that cross them.

Adapters differ in what they support; that is declared as data in `VenueCapabilities`, never
discovered by `if venue == "..."` branches (STYLE 9). The sim venue is the reference
implementation and the default fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tradeterm.domain.enums import ContractKind, OrderStatus, OrderType, Side
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.orders import Fill, Order


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue supports, as data."""

    order_types: frozenset[OrderType] = frozenset(
        {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP}
    )
    contract_kinds: frozenset[ContractKind] = frozenset({ContractKind.SPOT})
    reduce_only: bool = True
    native_stops: bool = True
    partial_fills: bool = True
    funding: bool = False
    history_timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")
    max_history_bars: int = 1000
    client_order_id_max_len: int = 36
    hedge_mode: bool = False


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A venue's report of an order's state (acknowledgement, cancel, reject, expiry)."""

    client_order_id: str
    status: OrderStatus
    ts_ms: int
    venue_order_id: str = ""
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    reason: str = ""
    fees: float = 0.0
    """Fees the venue charged on the order so far (0 when the venue does not say)."""


ExecEvent = OrderUpdate | Fill
"""What an ExecClient's event stream yields."""


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A position as the venue reports it (used by reconciliation)."""

    symbol: str
    side: Side
    qty: float
    entry_price: float


@dataclass(frozen=True, slots=True)
class VenueBalance:
    currency: str
    total: float
    free: float


@dataclass(slots=True)
class VenueHealth:
    """Connection health shown in the console header."""

    venue: str
    connected: bool = False
    last_message_ms: int = 0
    reconnects: int = 0
    errors: int = 0
    bad_frames: int = 0
    detail: str = ""
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class DataClient(Protocol):
    """Market data from one venue."""

    name: str
    capabilities: VenueCapabilities

    async def connect(self) -> None:
        """Open the connection (idempotent). TemporaryVenueError when it cannot, for now."""
        ...

    async def close(self) -> None:
        """Close the connection; `ticks()` iterators end."""
        ...

    async def instruments(self) -> list[Instrument]:
        """Every instrument this venue offers."""
        ...

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Start streaming ticks for `symbols` (idempotent)."""
        ...

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        """Stop streaming ticks for `symbols`."""
        ...

    def ticks(self) -> AsyncIterator[Tick]:
        """Ticks of the subscribed symbols, in arrival order. Ends when the connection closes
        (the stream manager then reconnects and resubscribes)."""
        ...

    async def history(
        self, symbol: str, timeframe: str, *, end_ms: int | None = None, limit: int = 500
    ) -> list[Bar]:
        """Closed bars ending at or before `end_ms` (default: now), oldest first."""
        ...


@runtime_checkable
class ExecClient(Protocol):
    """Orders and account state on one venue account."""

    name: str
    account: str
    capabilities: VenueCapabilities

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, order: Order) -> OrderUpdate:
        """Send an order. Returns the acknowledgement (SUBMITTED or REJECTED with a reason).
        Fills arrive on `events()`. Submitting a client_order_id already known to the venue
        returns that order's current state and never creates a second order."""
        ...

    async def cancel(self, client_order_id: str) -> OrderUpdate: ...

    async def open_orders(self) -> list[Order]: ...

    async def positions(self) -> list[VenuePosition]: ...

    async def balance(self) -> VenueBalance: ...

    def events(self) -> AsyncIterator[ExecEvent]:
        """Order updates and fills, in the order the venue produced them."""
        ...
