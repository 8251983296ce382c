"""The sim venue's own database: account books that survive a restart, as a real venue's do.

One small SQLite file per sim venue (WAL, synchronous FULL) holds, per account, the cash, fees,
realised PnL and net positions, every order the account has seen (working ones with what the
matching engine needs to resume them: when they become fillable, whether they have been looked at
or triggered, and how many fills they have had, which numbers the next fill id), and the venue
order id sequence. This is the exchange's database, not tradeterm's: the node's Storage never
touches it.

The rule is the node's own, commit before acknowledge: an account writes its books in one
transaction after each change and before the change's events go out on `events()`, so a kill at
any moment loses nothing a client was told about.

    store = SimVenueStore(path)
    ledger, journal = open_account(store, "live", engine, currency="USD", starting_balance=1000.0)
    journal.record(events)   # after the engine and the ledger took `events`, before emitting them
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from tradeterm.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from tradeterm.domain.orders import Order, OrderPurpose
from tradeterm.errors import StorageError
from tradeterm.venues.base import ExecEvent
from tradeterm.venues.sim.ledger import Ledger, LedgerState, NetPosition
from tradeterm.venues.sim.matching import MatchingEngine, _Working

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    starting_balance REAL NOT NULL,
    cash REAL NOT NULL,
    fees_paid REAL NOT NULL,
    realized_pnl REAL NOT NULL,
    accepted INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    qty REAL NOT NULL,
    entry_price REAL NOT NULL,
    PRIMARY KEY (account, symbol)
);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    status TEXT NOT NULL,
    working INTEGER NOT NULL,
    active_ms INTEGER,
    arrived INTEGER,
    triggered INTEGER,
    fills INTEGER,
    data TEXT NOT NULL,
    UNIQUE (account, client_order_id)
);
CREATE INDEX IF NOT EXISTS orders_working ON orders (account, working);
"""

_UPSERT_ORDER = """
INSERT INTO orders
    (account, client_order_id, symbol, status, working, active_ms, arrived, triggered, fills, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, client_order_id) DO UPDATE SET
    status = excluded.status, working = excluded.working, active_ms = excluded.active_ms,
    arrived = excluded.arrived, triggered = excluded.triggered, fills = excluded.fills,
    data = excluded.data
"""

_UPSERT_ACCOUNT = """
INSERT INTO accounts
    (account, currency, starting_balance, cash, fees_paid, realized_pnl, accepted, updated_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account) DO UPDATE SET
    cash = excluded.cash, fees_paid = excluded.fees_paid, realized_pnl = excluded.realized_pnl,
    accepted = excluded.accepted, updated_ms = excluded.updated_ms
"""

_ORDER_ENUMS: dict[str, type[StrEnum]] = {
    "side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "purpose": OrderPurpose,
    "status": OrderStatus,
}
_ORDER_FIELDS = frozenset(f.name for f in fields(Order))


@dataclass(frozen=True, slots=True)
class WorkingState:
    """Where a working order stands in the matching engine: fillable from `active_ms`, already
    looked at against a quote (`arrived`), its stop `triggered`, and `fills` so far."""

    active_ms: int
    arrived: bool = False
    triggered: bool = False
    fills: int = 0


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order the venue has seen; `working` is None once it is finished."""

    order: Order
    working: WorkingState | None = None


@dataclass(frozen=True, slots=True)
class AccountState:
    """One account as the venue's database holds it. `accepted` counts the orders accepted so
    far (the venue order id sequence); `orders` come in submission order."""

    ledger: LedgerState
    orders: tuple[StoredOrder, ...] = ()
    accepted: int = 0


def _order_json(order: Order) -> str:
    return json.dumps({f: getattr(order, f) for f in _ORDER_FIELDS}, sort_keys=True)


def _order_from_json(text: str) -> Order:
    data: dict[str, Any] = {k: v for k, v in json.loads(text).items() if k in _ORDER_FIELDS}
    for name, enum in _ORDER_ENUMS.items():
        if name in data:
            data[name] = enum(data[name])
    return Order(**data)


class SimVenueStore:
    """The SQLite file of one sim venue: every account's books, orders and id sequence."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._migrate()
        except (sqlite3.Error, StorageError) as exc:
            self._conn.close()
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"sim venue database {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"sim venue database {self.path} has schema {version}, newer than this version"
                f" understands ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            self._conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )

    def close(self) -> None:
        self._conn.close()

    # ---- reading -------------------------------------------------------------------------
    def load(self, account: str) -> AccountState | None:
        """The stored books of `account`, or None when it has never been opened."""
        try:
            return self._load(account)
        except sqlite3.Error as exc:
            raise StorageError(f"sim venue database {self.path}: {exc}") from exc

    def _load(self, account: str) -> AccountState | None:
        conn = self._conn
        row = conn.execute(
            "SELECT currency, starting_balance, cash, fees_paid, realized_pnl, accepted"
            " FROM accounts WHERE account = ?",
            (account,),
        ).fetchone()
        if row is None:
            return None
        positions = conn.execute(
            "SELECT symbol, qty, entry_price FROM positions WHERE account = ? ORDER BY symbol",
            (account,),
        ).fetchall()
        ledger = LedgerState(
            currency=row[0],
            starting_balance=row[1],
            cash=row[2],
            fees_paid=row[3],
            realized_pnl=row[4],
            positions=tuple((s, NetPosition(q, e)) for s, q, e in positions),
        )
        orders = conn.execute(
            "SELECT working, active_ms, arrived, triggered, fills, data FROM orders"
            " WHERE account = ? ORDER BY seq",
            (account,),
        ).fetchall()
        return AccountState(ledger, tuple(_stored(*o) for o in orders), int(row[5]))

    # ---- writing -------------------------------------------------------------------------
    def save(
        self,
        account: str,
        ledger: LedgerState,
        orders: Iterable[StoredOrder],
        *,
        accepted: int,
        ts_ms: int,
    ) -> None:
        """Commit `account`'s books and the given orders (new or changed) in one transaction."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    _UPSERT_ACCOUNT,
                    (
                        account,
                        ledger.currency,
                        ledger.starting_balance,
                        ledger.cash,
                        ledger.fees_paid,
                        ledger.realized_pnl,
                        accepted,
                        ts_ms,
                    ),
                )
                conn.execute("DELETE FROM positions WHERE account = ?", (account,))
                conn.executemany(
                    "INSERT INTO positions (account, symbol, qty, entry_price) VALUES (?, ?, ?, ?)",
                    [(account, s, p.qty, p.entry_price) for s, p in ledger.positions],
                )
                conn.executemany(_UPSERT_ORDER, [_order_row(account, o) for o in orders])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"sim venue database {self.path}: {exc}") from exc


def _order_row(account: str, stored: StoredOrder) -> tuple[object, ...]:
    order, working = stored.order, stored.working
    head = (account, order.client_order_id, order.symbol, order.status.value)
    if working is None:
        return (*head, 0, None, None, None, None, _order_json(order))
    return (
        *head,
        1,
        working.active_ms,
        int(working.arrived),
        int(working.triggered),
        working.fills,
        _order_json(order),
    )


def _stored(
    working: int,
    active_ms: int | None,
    arrived: int | None,
    triggered: int | None,
    fills: int | None,
    data: str,
) -> StoredOrder:
    order = _order_from_json(data)
    if not working:
        return StoredOrder(order)
    state = WorkingState(int(active_ms or 0), bool(arrived), bool(triggered), int(fills or 0))
    return StoredOrder(order, state)


class DurableMatchingEngine(MatchingEngine):
    """The matching engine of an account whose book survives restarts: it tells where each of
    its orders stands, and can be re-armed from the stored book with the same client order ids
    (so resubmitting a known id after a restart still creates no second order)."""

    @property
    def accepted(self) -> int:
        """Orders accepted so far (the venue order id sequence)."""
        return self._accepted

    def stored(self, client_order_id: str) -> StoredOrder | None:
        """The order with its matching state, as the database keeps it (None if unknown)."""
        order = self._orders.get(client_order_id)
        if order is None:
            return None
        working = self._working.get(client_order_id)
        if working is None:
            return StoredOrder(order)
        state = WorkingState(working.active_ms, working.arrived, working.triggered, working.fills)
        return StoredOrder(working.order, state)

    def restore(self, orders: Iterable[StoredOrder], accepted: int) -> None:
        """Take back a stored book: finished orders are remembered, working ones re-armed."""
        for stored in orders:
            order, state = stored.order, stored.working
            coid = order.client_order_id
            self._orders[coid] = order
            if state is None or order.status.is_terminal:
                continue
            self._working[coid] = _Working(
                order, state.active_ms, state.arrived, state.triggered, state.fills
            )
            self._by_symbol.setdefault(order.symbol, []).append(coid)
        self._accepted = max(self._accepted, accepted)


class AccountJournal:
    """Writes one account's books to the venue's database after every change."""

    def __init__(
        self,
        store: SimVenueStore,
        account: str,
        engine: DurableMatchingEngine,
        ledger: Ledger,
    ) -> None:
        self.store = store
        self.account = account
        self._engine = engine
        self._ledger = ledger

    def record(self, events: Sequence[ExecEvent], ts_ms: int) -> None:
        """Commit the books and every order `events` touched (call before emitting them)."""
        engine = self._engine
        touched = dict.fromkeys(e.client_order_id for e in events)
        orders = [s for coid in touched if (s := engine.stored(coid)) is not None]
        self.store.save(
            self.account, self._ledger.state(), orders, accepted=engine.accepted, ts_ms=ts_ms
        )


def open_account(
    store: SimVenueStore,
    account: str,
    engine: DurableMatchingEngine,
    *,
    currency: str,
    starting_balance: float,
    ts_ms: int,
) -> tuple[Ledger, AccountJournal]:
    """The ledger of `account` as stored (its working orders re-armed in `engine`), or a fresh
    one at `starting_balance` that is written at once, so the balance is fixed at first start."""
    saved = store.load(account)
    if saved is None:
        ledger = Ledger(currency, starting_balance)
    else:
        ledger = Ledger.from_state(saved.ledger)
        engine.restore(saved.orders, saved.accepted)
    journal = AccountJournal(store, account, engine, ledger)
    if saved is None:
        journal.record((), ts_ms)
    return ledger, journal
