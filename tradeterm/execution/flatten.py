"""Flatten-all: what it would do (the preview the operator confirms) and what it did (the report).

The preview lists, per wallet, every position to close (side, quantity, mark, unrealised PnL)
and every working order to cancel, with the estimated cost of closing at market: taker fee plus
slippage (the executor's fill model for paper wallets) plus half the current spread. The report
counts, per venue, orders cancelled and positions closed, the failures with their reasons and
the PnL the closing fills realised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tradeterm.clock import Clock
from tradeterm.domain.enums import OrderStatus, Side
from tradeterm.domain.events import PendingConfirmation
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import Order, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.execution.executors import Executor
from tradeterm.execution.lifecycle import OrderLedger
from tradeterm.execution.monitor import ExitCall
from tradeterm.execution.router import OrderRouter
from tradeterm.portfolio.book import Portfolio


@dataclass(frozen=True, slots=True)
class PositionToClose:
    """One position flatten-all would close at market."""

    wallet_id: str
    key: str
    side: Side
    qty: float
    mark: float
    unrealized_pnl: float
    estimated_cost: float


@dataclass(frozen=True, slots=True)
class WalletFlattenPreview:
    """One wallet's share of a flatten-all."""

    wallet_id: str
    positions: tuple[PositionToClose, ...]
    working_orders: tuple[Order, ...]
    pending_confirmations: int
    estimated_cost: float


@dataclass(frozen=True, slots=True)
class FlattenPreview:
    """Everything flatten-all would do, wallet by wallet, before the operator confirms it."""

    wallets: tuple[WalletFlattenPreview, ...]
    ts_ms: int

    @property
    def estimated_cost(self) -> float:
        return sum(w.estimated_cost for w in self.wallets)

    @property
    def position_count(self) -> int:
        return sum(len(w.positions) for w in self.wallets)

    @property
    def order_count(self) -> int:
        return sum(len(w.working_orders) for w in self.wallets)


@dataclass(frozen=True, slots=True)
class VenueFlattenResult:
    """What flatten-all did on one venue."""

    venue: str
    cancelled: int
    closed: int
    failures: tuple[str, ...]
    realized_pnl: float


@dataclass(frozen=True, slots=True)
class FlattenReport:
    """The outcome of a flatten-all, per venue."""

    by: str
    ts_ms: int
    venues: tuple[VenueFlattenResult, ...]
    cancelled_confirmations: int = 0

    @property
    def ok(self) -> bool:
        """True when every order was cancelled and every position closed."""
        return not any(v.failures for v in self.venues)

    def venue(self, name: str) -> VenueFlattenResult | None:
        return next((v for v in self.venues if v.venue == name), None)

    def summary(self) -> str:
        """One line per venue: what was cancelled and closed, and what failed."""
        if not self.venues:
            return "nothing to flatten"
        parts = []
        for v in self.venues:
            text = (
                f"{v.venue}: cancelled {v.cancelled}, closed {v.closed}, pnl {v.realized_pnl:+.2f}"
            )
            if v.failures:
                text += f", FAILED {len(v.failures)}: {'; '.join(v.failures)}"
            parts.append(text)
        return " | ".join(parts)


def closing_cost(position: Position, mark: float, cost_rate: float, tick: Tick | None) -> float:
    """Estimated cost of closing `position` at market: (fee + slippage) x notional plus half
    the spread on the quantity."""
    units = position.qty * position.contract_size
    half_spread = max(0.0, tick.ask - tick.bid) / 2.0 if tick is not None else 0.0
    return abs(units * mark) * cost_rate + units * half_spread


def wallet_preview(
    wallet_id: str,
    positions: Sequence[Position],
    orders: Sequence[Order],
    *,
    pending: int,
    marks: Mapping[str, float],
    ticks: Mapping[str, Tick],
    cost_rate: float,
) -> WalletFlattenPreview:
    """The preview of one wallet (positions valued at `marks`, entry price if unmarked)."""
    rows: list[PositionToClose] = []
    for pos in positions:
        mark = marks.get(pos.key, pos.entry_price)
        cost = closing_cost(pos, mark, cost_rate, ticks.get(pos.key))
        rows.append(
            PositionToClose(
                wallet_id, pos.key, pos.side, pos.qty, mark, pos.unrealized_pnl(mark), cost
            )
        )
    return WalletFlattenPreview(
        wallet_id=wallet_id,
        positions=tuple(rows),
        working_orders=tuple(orders),
        pending_confirmations=pending,
        estimated_cost=sum(r.estimated_cost for r in rows),
    )


def build_preview(
    portfolio: Portfolio,
    ledger: OrderLedger,
    pending: Sequence[PendingConfirmation],
    executors: Mapping[str, Executor],
    ticks: Mapping[str, Tick],
    now_ms: int,
) -> FlattenPreview:
    """The preview of every wallet that has a position, a working order or a pending
    confirmation; closing costs use each wallet's executor (fill model for paper)."""
    waiting: dict[str, int] = {}
    for conf in pending:
        waiting[conf.intent.wallet_id] = waiting.get(conf.intent.wallet_id, 0) + 1
    previews = []
    for wid in sorted({w.id for w in portfolio.wallets()} | set(executors)):
        positions = portfolio.positions(wid)
        orders = ledger.working(wid)
        if not positions and not orders and not waiting.get(wid):
            continue
        marks = {p.key: m for p in positions if (m := portfolio.mark(p.key)) is not None}
        executor = executors.get(wid)
        previews.append(
            wallet_preview(
                wid,
                positions,
                orders,
                pending=waiting.get(wid, 0),
                marks=marks,
                ticks=ticks,
                cost_rate=executor.exit_cost_rate() if executor is not None else 0.0,
            )
        )
    return FlattenPreview(tuple(previews), now_ms)


@dataclass(slots=True)
class _VenueTally:
    cancelled: int = 0
    closed: int = 0
    failures: list[str] = field(default_factory=list)
    realized_pnl: float = 0.0


class FlattenTally:
    """Counts a flatten-all as it runs, then writes its report."""

    def __init__(self, by: str, ts_ms: int) -> None:
        self._by = by
        self._ts_ms = ts_ms
        self._venues: dict[str, _VenueTally] = {}
        self.cancelled_confirmations = 0

    def _venue(self, venue: str) -> _VenueTally:
        return self._venues.setdefault(venue, _VenueTally())

    def cancelled(self, venue: str) -> None:
        self._venue(venue).cancelled += 1

    def closed(self, venue: str, pnl: float) -> None:
        tally = self._venue(venue)
        tally.closed += 1
        tally.realized_pnl += pnl

    def failed(self, venue: str, text: str) -> None:
        self._venue(venue).failures.append(text)

    def report(self) -> FlattenReport:
        venues = tuple(
            VenueFlattenResult(name, t.cancelled, t.closed, tuple(t.failures), t.realized_pnl)
            for name, t in sorted(self._venues.items())
        )
        return FlattenReport(self._by, self._ts_ms, venues, self.cancelled_confirmations)


async def run_flatten(
    router: OrderRouter,
    portfolio: Portfolio,
    clock: Clock,
    *,
    by: str,
    chosen: Callable[[str], bool],
    wait_ms: int,
) -> FlattenTally:
    """Cancel the chosen wallets' working orders, close their positions with FLATTEN market
    orders, wait up to `wait_ms` (on the clock) for the fills, and count it all per venue."""
    tally = FlattenTally(by, clock.now_ms())
    reason = f"flatten-all by {by}"
    for order in router.ledger.working():
        if chosen(order.wallet_id):
            why = await router.cancel(order, reason)
            if why is None:
                tally.cancelled(order.venue)
            else:
                tally.failed(order.venue, why)
    closing: list[Order] = []
    for position in portfolio.positions():
        if chosen(position.wallet_id):
            sent = await router.exit(position, ExitCall(OrderPurpose.FLATTEN, "flatten", reason))
            if sent is None:
                tally.failed(position.venue, f"{position.key}: an exit order is already working")
            else:
                closing.append(sent)
    deadline = clock.now_ms() + wait_ms
    while any(router.is_working(o) for o in closing) and clock.now_ms() < deadline:
        await clock.sleep(0.05)
    for order in closing:
        done = router.ledger.get(order.client_order_id, order.wallet_id) or order
        pnl = router.closes.pop(order.client_order_id, 0.0)
        if done.status is OrderStatus.FILLED:
            tally.closed(order.venue, pnl)
        else:
            why = f": {done.reason}" if done.reason and done.reason != "flatten" else ""
            state = f"{done.status.value}{why}"
            tally.failed(order.venue, f"{order.wallet_id} {order.key} not closed ({state})")
    return tally
