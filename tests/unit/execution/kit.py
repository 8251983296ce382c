"""Real parts for execution tests: storage on disk, SimClock, the real Portfolio and matching
model, a bus recorder, a risk engine fake that records what it is asked, and a recording venue
(an ExecClient whose ledger the test scripts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.config.models import ExecutionConfig, FillModelConfig, RiskConfig
from tradeterm.domain.enums import (
    ContractKind,
    Domain,
    OrderStatus,
    RiskVerdict,
    Side,
    TradingState,
    WalletMode,
)
from tradeterm.domain.events import OrderIntent, RiskDecision
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.errors import VenueError
from tradeterm.execution.engine import ExecutionEngine
from tradeterm.execution.executors import Executor, LiveExecutor, PaperExecutor
from tradeterm.portfolio.book import Portfolio
from tradeterm.storage.router import Stores
from tradeterm.venues.base import (
    ExecEvent,
    OrderUpdate,
    VenueBalance,
    VenueCapabilities,
    VenuePosition,
)

T0 = 1_717_372_800_000
"""Monday 2024-06-03 00:00 UTC."""
MIN = 60_000
DAY_MS = 86_400_000
HOUR = 3_600_000

R100 = Instrument("sim", "R_100", ContractKind.SYNTHETIC, Domain.SYNTHETICS, 0.01, 0.01)
BTC_SPOT = Instrument("binance", "BTCUSDT", ContractKind.SPOT, Domain.CRYPTO_SPOT, 0.01, 0.001)
BTC_PERP = Instrument("bybit", "BTCUSDT", ContractKind.PERPETUAL, Domain.CRYPTO_PERP, 0.1, 0.001)
ETH_PERP = Instrument(
    "bybit", "ETHUSDT", ContractKind.PERPETUAL, Domain.CRYPTO_PERP, 0.01, 0.01, max_leverage=50.0
)
R100_MULT = Instrument(
    "deriv",
    "R_100",
    ContractKind.MULTIPLIER,
    Domain.SYNTHETICS,
    0.01,
    0.001,
    max_leverage=10.0,
    multiplier=10.0,
)
INSTRUMENTS: dict[str, Instrument] = {
    i.key: i for i in (R100, BTC_SPOT, BTC_PERP, ETH_PERP, R100_MULT)
}

PAPER_SYN = "paper:synthetics"
PAPER_SPOT = "paper:crypto_spot"
PAPER_PERP = "paper:crypto_perp"
LIVE_SPOT = "live:crypto_spot"

NO_COST = FillModelConfig(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=0.0)
FEES = FillModelConfig(taker_fee_rate=0.001, maker_fee_rate=0.0, slippage_bps=0.0)


def tick(instrument: Instrument, ts_ms: int, price: float, spread: float = 0.0) -> Tick:
    return Tick(
        instrument.venue, instrument.symbol, ts_ms, price, price - spread / 2, price + spread / 2
    )


def signal(
    instrument: Instrument = R100,
    *,
    side: Side = Side.BUY,
    entry: float = 100.0,
    stop: float = 98.0,
    target: float = 106.0,
    ts_ms: int = T0,
    atr: float = 1.0,
    timeframe: str = "5m",
    name: str = "ema_trend",
) -> Signal:
    sid = f"sig-{instrument.symbol}-{ts_ms}-{side.value}-{entry:g}"
    return Signal(sid, ts_ms, instrument.venue, instrument.symbol, timeframe, name, "1.0.0", side,
                  entry, stop, target, 0.8, atr)  # fmt: skip


def decision(
    sig: Signal, wallet: str = PAPER_SYN, qty: float = 2.0, *, explore: bool = False
) -> RiskDecision:
    domain = Domain(wallet.split(":", 1)[1])
    intent = OrderIntent(
        f"int-{sig.id}-{wallet}",
        sig,
        wallet,
        domain,
        f"{sig.strategy}|{sig.key}",
        explore,
        sig.ts_ms,
    )
    return RiskDecision(f"rd-{intent.id}", intent, RiskVerdict.APPROVED, qty, qty * sig.entry,
                        qty * sig.risk_per_unit, 0.01, (), sig.ts_ms)  # fmt: skip


@dataclass(frozen=True)
class _State:
    state: TradingState
    reason: str = ""
    scope: str = ""


class FakeRisk:
    """Records what execution asks. `recheck` denies as stale when the mark moved more than
    `stale_bps` from the signal's entry; `redecide` approves with `redecide_qty` (or denies
    with `redecide_denial`); `check_stop_change` refuses any widening; `halted` wallets are
    HALTED by their kill switch; `adoption_refusal` refuses every adoption."""

    def __init__(self, portfolio: Portfolio, stale_bps: float = 25.0) -> None:
        self.state = TradingState.ACTIVE
        self.reason = ""
        self.halted: set[str] = set()
        self.portfolio = portfolio
        self.stale_bps = stale_bps
        self.rechecked: list[RiskDecision] = []
        self.redecided: list[RiskDecision] = []
        self.redecide_qty: float | None = None
        self.redecide_denial = ""
        self.adoption_refusal: str | None = None
        self.stop_checks: list[tuple[float, float]] = []
        self.state_changes: list[tuple[TradingState, str, str]] = []

    def state_for(self, wallet_id: str) -> _State:
        if wallet_id in self.halted and self.state is not TradingState.HALTED:
            return _State(TradingState.HALTED, "kill switch", wallet_id)
        return _State(self.state, self.reason)

    async def change_state(self, state: TradingState, reason: str, source: str) -> None:
        self.state_changes.append((state, reason, source))
        self.state, self.reason = state, reason

    def recheck(self, decision: RiskDecision) -> RiskDecision:
        self.rechecked.append(decision)
        sig = decision.intent.signal
        mark = self.portfolio.mark(sig.key)
        rechecked = replace(decision, id=f"{decision.id}-re", recheck_of=decision.id)
        if mark is not None:
            moved = abs(mark - sig.entry) / sig.entry * 10_000
            if moved > self.stale_bps:
                return replace(rechecked, verdict=RiskVerdict.DENIED,
                               reasons=(f"stale: price moved {moved:.0f} bps from entry",))  # fmt: skip
        return rechecked

    def redecide(
        self, intent: OrderIntent, previous_id: str, salt: str = "restart"
    ) -> RiskDecision:
        qty = self.redecide_qty if self.redecide_qty is not None else 2.0
        sig = intent.signal
        made = RiskDecision(f"rd-{intent.id}-{salt}", intent, RiskVerdict.APPROVED, qty,
                            qty * sig.entry, qty * sig.risk_per_unit, 0.01, (), sig.ts_ms,
                            recheck_of=previous_id)  # fmt: skip
        if self.redecide_denial:
            made = replace(
                made, verdict=RiskVerdict.DENIED, qty=0.0, reasons=(self.redecide_denial,)
            )
        self.redecided.append(made)
        return made

    def check_adoption(
        self, wallet_id: str, key: str, side: Side, qty: float, price: float
    ) -> str | None:
        return self.adoption_refusal

    def check_stop_change(self, position: Position, new_stop: float) -> str | None:
        self.stop_checks.append((position.stop_loss, new_stop))
        return None if position.is_tighter_stop(new_stop) else "widening"


class Recorder:
    """Everything published on the bus, in order."""

    def __init__(self, bus: Bus) -> None:
        self.seen: list[tuple[str, Any]] = []
        bus.subscribe("*", self._on, inline=True, name="recorder")

    def _on(self, topic: str, message: Any) -> None:
        self.seen.append((topic, message))

    def of(self, topic: str) -> list[Any]:
        return [m for t, m in self.seen if t == topic]

    def topics(self) -> list[str]:
        return [t for t, _ in self.seen]


class RecordingVenue:
    """An ExecClient whose account the test scripts: it records every submit and cancel, can
    fail the next submits, and emits fills when told to."""

    def __init__(self, name: str = "binance", account: str = "main") -> None:
        self.name = name
        self.account = account
        self.capabilities = VenueCapabilities()
        self.submitted: list[Order] = []
        self.cancelled: list[str] = []
        self.orders: dict[str, Order] = {}
        self.held: list[VenuePosition] = []
        self.failures: list[VenueError] = []
        self.statuses: dict[str, OrderUpdate] = {}
        self.cash = 5000.0
        self._events: asyncio.Queue[ExecEvent] = asyncio.Queue()

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(self, order: Order) -> OrderUpdate:
        self.submitted.append(order)
        if self.failures:
            raise self.failures.pop(0)
        known = self.orders.get(order.client_order_id)
        if known is None:
            known = replace(
                order, status=OrderStatus.SUBMITTED, venue_order_id=f"v{len(self.orders) + 1}"
            )
            self.orders[order.client_order_id] = known
        ack = OrderUpdate(order.client_order_id, known.status, 0, known.venue_order_id)
        await self._events.put(ack)
        return ack

    async def cancel(self, client_order_id: str) -> OrderUpdate:
        self.cancelled.append(client_order_id)
        self.orders.pop(client_order_id, None)
        return OrderUpdate(client_order_id, OrderStatus.CANCELLED, 0, reason="cancelled")

    async def open_orders(self) -> list[Order]:
        return list(self.orders.values())

    async def positions(self) -> list[VenuePosition]:
        return list(self.held)

    async def balance(self) -> VenueBalance:
        return VenueBalance("USD", self.cash, self.cash)

    async def order_status(self, client_order_id: str) -> OrderUpdate | None:
        return self.statuses.get(client_order_id)

    async def fill(self, client_order_id: str, qty: float, price: float, fee: float = 0.0) -> None:
        order = self.orders[client_order_id]
        fill = Fill(f"vf-{client_order_id}-{qty:g}", client_order_id, "", self.name, order.symbol,
                    order.side, qty, price, fee, 0)  # fmt: skip
        self.orders.pop(client_order_id, None)
        await self._events.put(fill)

    async def events(self) -> AsyncIterator[ExecEvent]:
        while True:
            yield await self._events.get()


@dataclass
class Rig:
    """A node's execution side on real parts."""

    path: Path
    clock: SimClock
    stores: Stores
    portfolio: Portfolio
    risk: FakeRisk
    engine: ExecutionEngine
    bus: Bus
    recorder: Recorder
    executors: dict[str, Executor] = field(default_factory=dict)

    async def tick(
        self, instrument: Instrument, offset_ms: int, price: float, spread: float = 0.0
    ) -> None:
        ts = T0 + offset_ms
        if ts > self.clock.now_ms():
            self.clock.set_time(ts)
        await self.engine.on_tick(tick(instrument, ts, price, spread))

    def order_count(self, wallet: str = PAPER_SYN) -> int:
        return len(self.stores.for_wallet(wallet).load_orders(wallet_id=wallet))


async def build_rig(
    path: Path,
    *,
    config: ExecutionConfig | None = None,
    risk_config: RiskConfig | None = None,
    model: FillModelConfig = FEES,
    wallets: tuple[str, ...] = (PAPER_SYN,),
    live: Mapping[str, RecordingVenue] | None = None,
    now_ms: int = T0,
    clock: SimClock | None = None,
    funding_rate: Callable[[str, int], float] | None = None,
    require_confirmation: Callable[[str], bool] | None = None,
    restore: bool = False,
    funded: bool = False,
) -> Rig:
    """Open (or re-open, after a simulated crash) the databases under `path` and build the
    engine with one executor per wallet: paper ones on the matching model, live ones on
    `live` venues."""
    clock = clock or SimClock(now_ms)
    stores = Stores.open(path, live=bool(live))
    portfolio = Portfolio(stores, clock, INSTRUMENTS)
    portfolio.restore()
    executors: dict[str, Executor] = {}
    for wid in wallets:
        mode, domain = wid.split(":", 1)
        portfolio.activate_wallet(WalletMode(mode), Domain(domain), 1000.0)
        if mode == "paper":

            def funded_until(key: str, wallet: str = wid) -> int | None:
                held = portfolio.position(wallet, key)
                return held.last_funding_ms or held.opened_ms if held is not None else None

            executors[wid] = PaperExecutor(
                wid,
                model,
                clock,
                instruments=INSTRUMENTS,
                funding_rate=funding_rate,
                funded_until=funded_until if funded else None,
            )
    for wid, venue in (live or {}).items():
        portfolio.activate_wallet(
            WalletMode.LIVE, Domain(wid.split(":", 1)[1]), 5000.0, venue=venue.name
        )
        executors[wid] = LiveExecutor(wid, venue, clock, max_retries=2, backoff_s=1.0)
    risk = FakeRisk(portfolio)
    engine = ExecutionEngine(
        config or ExecutionConfig(confirm="never"),
        clock,
        stores,
        portfolio,
        risk,
        INSTRUMENTS,
        executors,
        risk_config=risk_config,
        require_confirmation=require_confirmation,
        flatten_wait_s=1.0,
    )
    bus = Bus()
    recorder = Recorder(bus)
    await engine.attach(bus)
    await asyncio.sleep(0)  # let the background tasks start, as they would in a running node
    if restore:
        await engine.restore()
    return Rig(path, clock, stores, portfolio, risk, engine, bus, recorder, executors)
