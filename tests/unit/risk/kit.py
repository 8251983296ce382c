"""Real stand-ins for the risk tests: a portfolio that holds wallets, positions and marks, a canary
view, and builders for instruments, signals, intents and closed trades."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from tradeterm.clock import SimClock, datetime_to_ms
from tradeterm.config.models import RiskConfig
from tradeterm.domain.costs import CostModel
from tradeterm.domain.enums import ContractKind, Domain, Side, WalletMode
from tradeterm.domain.events import ClosedTrade, OrderIntent, WalletSnapshot, arm_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet
from tradeterm.risk import RiskEngine

WALLET_ID = "paper:synthetics"
ARM = arm_id("ema_trend", "sim", "R_100")
WEDNESDAY_NOON = datetime_to_ms(datetime(2024, 3, 6, 12, 0, tzinfo=UTC))
"""A Wednesday, 12:00 UTC: far from the weekend cut-off and from midnight."""


def synthetic(symbol: str, *, lot: float = 0.01, min_notional: float = 1.0) -> Instrument:
    """A sim synthetic index (no leverage: positions tie up their full notional)."""
    return Instrument(
        "sim", symbol, ContractKind.SYNTHETIC, Domain.SYNTHETICS, 0.01, lot, lot, min_notional
    )


def perp(symbol: str, *, leverage: float = 10.0) -> Instrument:
    """A linear perpetual allowing `leverage`."""
    return Instrument(
        "sim",
        symbol,
        ContractKind.PERPETUAL,
        Domain.SYNTHETICS,
        0.01,
        0.001,
        0.001,
        5.0,
        max_leverage=leverage,
    )


def spot(symbol: str) -> Instrument:
    """A spot market: it cannot be sold short."""
    return Instrument("sim", symbol, ContractKind.SPOT, Domain.SYNTHETICS, 0.01, 0.001, 0.001, 5.0)


def multiplier(symbol: str, *, multiplier: float = 10.0) -> Instrument:
    """A Deriv multiplier: a position holds its stake (notional / multiplier) as cash."""
    return Instrument(
        "sim",
        symbol,
        ContractKind.MULTIPLIER,
        Domain.SYNTHETICS,
        0.01,
        0.001,
        0.001,
        1.0,
        max_leverage=multiplier,
        multiplier=multiplier,
    )


INSTRUMENTS = {
    i.key: i
    for i in (
        multiplier("MULT"),
        synthetic("R_100"),
        synthetic("R_50"),
        synthetic("R_75"),
        perp("BTCUSDT"),
        perp("ETHUSDT"),
        spot("ETHSPOT"),
    )
}


class Book:
    """A portfolio the tests fill by hand: wallets, positions and last prices.

    Equity is the wallet balance plus the unrealised PnL of its positions at the marks, as the
    real Portfolio computes it.
    """

    def __init__(self) -> None:
        self._wallets: dict[str, Wallet] = {}
        self._positions: dict[str, list[Position]] = {}
        self.marks: dict[str, float] = {}
        self.spreads: dict[str, float] = {}

    def fund(
        self,
        balance: float,
        *,
        wallet_id: str = WALLET_ID,
        day_start: float | None = None,
        peak: float | None = None,
    ) -> Wallet:
        mode, _, domain = wallet_id.partition(":")
        wallet = Wallet(
            wallet_id,
            Domain(domain),
            WalletMode(mode),
            "USD",
            balance,
            balance,
            peak_equity=peak if peak is not None else balance,
            day_start_equity=day_start if day_start is not None else balance,
        )
        self._wallets[wallet_id] = wallet
        self._positions.setdefault(wallet_id, [])
        return wallet

    def hold(
        self,
        symbol: str,
        qty: float,
        entry: float,
        *,
        side: Side = Side.BUY,
        mark: float | None = None,
        wallet_id: str = WALLET_ID,
    ) -> Position:
        stop = entry * (0.98 if side is Side.BUY else 1.02)
        position = Position(wallet_id, "sim", symbol, side, qty, entry, 0, stop, 0.0, stop)
        self._positions[wallet_id].append(position)
        self.marks[position.key] = mark if mark is not None else entry
        return position

    def flat(self, wallet_id: str = WALLET_ID) -> None:
        """Close every position of the wallet (the marks stay)."""
        self._positions[wallet_id] = []

    def wallet(self, wallet_id: str) -> Wallet | None:
        return self._wallets.get(wallet_id)

    def positions(self, wallet_id: str | None = None) -> list[Position]:
        if wallet_id is None:
            return [p for ps in self._positions.values() for p in ps]
        return list(self._positions.get(wallet_id, []))

    def mark(self, key: str) -> float | None:
        return self.marks.get(key)

    def quote(self, key: str) -> Tick | None:
        """The mark as a quote, bid and ask `spreads[key]` either side of it."""
        mark = self.marks.get(key)
        if mark is None:
            return None
        half = self.spreads.get(key, 0.0)
        venue, _, symbol = key.partition(":")
        return Tick(venue, symbol, WEDNESDAY_NOON, mark, mark - half, mark + half)

    def equity(self, wallet_id: str) -> float:
        wallet = self._wallets[wallet_id]
        return wallet.balance + sum(
            p.unrealized_pnl(self.marks.get(p.key, p.entry_price))
            for p in self._positions[wallet_id]
        )

    def snapshot(self, wallet_id: str) -> WalletSnapshot:
        return snapshot(self._wallets[wallet_id], self.equity(wallet_id))


class Canaries:
    """The rollout's answer to "is this wallet a canary?"."""

    def __init__(self, *wallet_ids: str) -> None:
        self.wallet_ids = set(wallet_ids)

    def is_canary(self, wallet_id: str) -> bool:
        return wallet_id in self.wallet_ids


def snapshot(wallet: Wallet, equity: float, ts_ms: int = WEDNESDAY_NOON) -> WalletSnapshot:
    peak = max(wallet.peak_equity, equity)
    return WalletSnapshot(
        wallet, equity, equity - wallet.balance, 0.0, {}, 0, 1 - equity / peak, 0.0, ts_ms
    )


def signal(
    entry: float = 100.0,
    stop: float = 98.0,
    target: float = 106.0,
    *,
    symbol: str = "R_100",
    side: Side | None = None,
    atr: float = 1.0,
    timeframe: str = "5m",
) -> Signal:
    """A signal; the side follows from the stop (below the entry: a long)."""
    if side is None:
        side = Side.BUY if stop < entry else Side.SELL
    return Signal(
        f"sig-{symbol}-{entry}-{stop}-{target}",
        WEDNESDAY_NOON,
        "sim",
        symbol,
        timeframe,
        "ema_trend",
        "1.0.0",
        side,
        entry,
        stop,
        target,
        0.7,
        atr,
    )


def wide(*, symbol: str = "R_100", timeframe: str = "5m") -> Signal:
    """A signal whose money-at-risk size is the smaller one: 1% of $1,000 over a 40.00 stop is
    0.25 units ($25 of notional, below the 5% = $50 notional size); stop 4 ATRs, reward:risk 3."""
    return signal(100.0, 60.0, 220.0, symbol=symbol, atr=10.0, timeframe=timeframe)


def intent(
    sig: Signal | None = None,
    *,
    wallet_id: str = WALLET_ID,
    explore: bool = False,
    win_rate: float = 0.0,
    payoff: float = 0.0,
    arm_trades: int = 0,
    n: int = 1,
) -> OrderIntent:
    sig = sig if sig is not None else signal()
    arm = arm_id(sig.strategy, sig.venue, sig.symbol)
    domain = Domain(wallet_id.partition(":")[2])
    return OrderIntent(
        f"int-{n}", sig, wallet_id, domain, arm, explore, sig.ts_ms, win_rate, payoff, arm_trades
    )


def closed(
    pnl: float,
    *,
    symbol: str = "R_100",
    closed_ms: int = WEDNESDAY_NOON,
    n: int = 0,
    risk: float = 0.0,
) -> ClosedTrade:
    return ClosedTrade(
        f"trade-{n}",
        WALLET_ID,
        "sim",
        symbol,
        Side.BUY,
        1.0,
        100.0,
        100.0 + pnl,
        closed_ms - 60_000,
        closed_ms,
        pnl,
        0.0,
        pnl / 2.0,
        "ema_trend",
        arm_id("ema_trend", "sim", symbol),
        "sig",
        "stop" if pnl < 0 else "target",
        risk_amount=risk,
    )


NO_COSTS = CostModel(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=0.0)
"""Frictionless trading: the gate's arithmetic at the signal's own prices."""

SIM_COSTS = CostModel(taker_fee_rate=0.0005, maker_fee_rate=0.0002, slippage_bps=2.0)
"""The sim venue's default fill model: 5 bps taker, 2 bps maker, 2 bps slippage."""


@dataclass(frozen=True)
class Promise:
    key: str
    notional: float
    margin: float
    decision_id: str


class Promised:
    """Working entries and pending confirmations the test says exist (CommitmentsView)."""

    def __init__(self) -> None:
        self.items: dict[str, list[Promise]] = {}

    def add(
        self, key: str, notional: float, decision_id: str = "rd-x", wallet: str = WALLET_ID
    ) -> None:
        self.items.setdefault(wallet, []).append(Promise(key, notional, notional, decision_id))

    def commitments(self, wallet_id: str) -> list[Promise]:
        return list(self.items.get(wallet_id, []))


def make_engine(
    book: Book,
    *,
    clock: SimClock | None = None,
    canary: Canaries | None = None,
    costs: CostModel = NO_COSTS,
    promised: Promised | None = None,
    **config: object,
) -> tuple[RiskEngine, SimClock]:
    """A risk engine over `book` with RiskConfig defaults unless overridden; every market it
    is asked about gets a quote at 100.00 unless the test set one."""
    clock = clock if clock is not None else SimClock(WEDNESDAY_NOON)
    cfg = RiskConfig.model_validate(config)
    for key in INSTRUMENTS:
        book.marks.setdefault(key, 100.0)

    def model(instrument: Instrument) -> CostModel:
        return replace(costs, contract_size=instrument.contract_size)

    engine = RiskEngine(cfg, clock, book, INSTRUMENTS, canary=canary, cost_model=model)
    engine.commitments = promised
    return engine, clock
