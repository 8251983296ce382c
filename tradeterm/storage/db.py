"""One SQLite database (WAL) and the repository methods every engine uses to persist its state.

A change is committed before it is acknowledged: each `save_*` commits on return, and several
saves inside `with storage.atomic():` commit together (nested blocks become savepoints). Callers
publish the matching bus event only after the save returned.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from tradeterm.domain.enums import ConfirmationStatus, OrderStatus
from tradeterm.domain.events import (
    AllocatorDecision,
    AuditEntry,
    ClosedTrade,
    PendingConfirmation,
    RiskDecision,
    StageChanged,
)
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.positions import Position
from tradeterm.domain.reconcile import Difference
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet
from tradeterm.errors import StorageError
from tradeterm.storage import codec, sqlite_utils_lite
from tradeterm.storage.health import StorageHealth, describe_failure
from tradeterm.storage.migrations import MIGRATIONS

sqlite_utils = sqlite_utils_lite.load()

T = TypeVar("T")
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; returns the schema version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise StorageError(
            f"database schema v{version} is newer than this tradeterm (v{len(MIGRATIONS)}); upgrade tradeterm"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)


class Storage:
    """A tradeterm database file (state/paper.db or state/live.db)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 5000,
        health: StorageHealth | None = None,
    ) -> None:
        self.path = Path(path)
        self.health = health if health is not None else StorageHealth()
        self._depth = 0
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000.0)
            self.db = sqlite_utils.Database(conn)
            if str(path) != ":memory:":
                self.db.enable_wal()
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self.version = migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{path}: cannot open database: {exc}") from exc

    # ---- plumbing --------------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Commit everything inside together (nested blocks are savepoints).

        A write the disk refuses (full, read-only, I/O error) marks the storage health DEGRADED
        and raises StorageError; the next outermost commit that works clears it."""
        self._depth += 1
        try:
            with self.db.atomic():
                yield
        except sqlite3.OperationalError as exc:
            self.health.failed(str(self.path), describe_failure(exc))
            raise StorageError(f"{self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path}: {exc}") from exc
        else:
            if self._depth == 1:
                self.health.succeeded(str(self.path))
        finally:
            self._depth -= 1

    def _put(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.atomic():
            self.db.execute(
                f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})", list(row.values())
            )

    def _insert_new(self, table: str, row: dict[str, Any]) -> bool:
        """Insert unless the primary key exists; True when a row was added."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.atomic():
            cur = self.db.execute(
                f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})", list(row.values())
            )
        return bool(cur.rowcount)

    def _objects(self, tp: type[T], sql: str, params: tuple[Any, ...] = ()) -> list[T]:
        return [codec.loads(tp, row["data"]) for row in self.db.query(sql, params)]

    def close(self) -> None:
        self.db.close()

    def integrity_check(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ---- meta (node-level settings: stage, trading state, toggles) ------------------------
    def put_meta(self, key: str, value: Any, ts_ms: int) -> None:
        self._put("meta", {"key": key, "value": json.dumps(value), "updated_ms": ts_ms})

    def get_meta(self, key: str, default: Any = None) -> Any:
        rows = list(self.db.query("SELECT value FROM meta WHERE key = ?", (key,)))
        return json.loads(rows[0]["value"]) if rows else default

    # ---- wallets, positions, trades ---------------------------------------------------------
    def save_wallet(self, wallet: Wallet) -> None:
        row = {"id": wallet.id, "mode": wallet.mode.value, "domain": wallet.domain.value}
        self._put("wallets", {**row, "updated_ms": wallet.updated_ms, "data": codec.dumps(wallet)})

    def load_wallets(self) -> list[Wallet]:
        return self._objects(Wallet, "SELECT data FROM wallets ORDER BY id")

    def save_position(self, position: Position) -> None:
        self._put(
            "positions",
            {
                "wallet_id": position.wallet_id,
                "venue": position.venue,
                "symbol": position.symbol,
                "updated_ms": position.updated_ms,
                "data": codec.dumps(position),
            },
        )

    def delete_position(self, wallet_id: str, venue: str, symbol: str) -> None:
        with self.atomic():
            self.db.execute(
                "DELETE FROM positions WHERE wallet_id = ? AND venue = ? AND symbol = ?",
                (wallet_id, venue, symbol),
            )

    def load_positions(self, wallet_id: str | None = None) -> list[Position]:
        if wallet_id is None:
            return self._objects(
                Position, "SELECT data FROM positions ORDER BY wallet_id, venue, symbol"
            )
        return self._objects(
            Position, "SELECT data FROM positions WHERE wallet_id = ? ORDER BY symbol", (wallet_id,)
        )

    def save_trade(self, trade: ClosedTrade) -> bool:
        return self._insert_new(
            "trades",
            {
                "id": trade.id,
                "wallet_id": trade.wallet_id,
                "arm": trade.arm,
                "symbol": trade.symbol,
                "closed_ms": trade.closed_ms,
                "pnl": trade.pnl,
                "r_multiple": trade.r_multiple,
                "data": codec.dumps(trade),
            },
        )

    def load_trades(self, wallet_id: str | None = None, since_ms: int = 0) -> list[ClosedTrade]:
        if wallet_id is None:
            return self._objects(
                ClosedTrade,
                "SELECT data FROM trades WHERE closed_ms >= ? ORDER BY closed_ms",
                (since_ms,),
            )
        return self._objects(
            ClosedTrade,
            "SELECT data FROM trades WHERE wallet_id = ? AND closed_ms >= ? ORDER BY closed_ms",
            (wallet_id, since_ms),
        )

    def save_equity(
        self, wallet_id: str, ts_ms: int, equity: float, balance: float, unrealized: float
    ) -> None:
        self._put(
            "equity",
            {
                "wallet_id": wallet_id,
                "ts_ms": ts_ms,
                "equity": equity,
                "balance": balance,
                "unrealized": unrealized,
            },
        )

    def equity_curve(self, wallet_id: str, since_ms: int = 0) -> list[tuple[int, float]]:
        rows = self.db.query(
            "SELECT ts_ms, equity FROM equity WHERE wallet_id = ? AND ts_ms >= ? ORDER BY ts_ms",
            (wallet_id, since_ms),
        )
        return [(int(r["ts_ms"]), float(r["equity"])) for r in rows]

    # ---- orders and fills -------------------------------------------------------------------
    def save_order(self, order: Order, plan: dict[str, Any] | None = None) -> None:
        """Insert or update an order. `plan` (the entry's stop, target, strategy...) is kept
        from the first save when later saves omit it."""
        existing_plan = None
        if plan is None:
            rows = list(
                self.db.query(
                    "SELECT plan FROM orders WHERE client_order_id = ?", (order.client_order_id,)
                )
            )
            existing_plan = rows[0]["plan"] if rows else None
        self._put(
            "orders",
            {
                "client_order_id": order.client_order_id,
                "wallet_id": order.wallet_id,
                "venue": order.venue,
                "symbol": order.symbol,
                "status": order.status.value,
                "purpose": order.purpose.value,
                "signal_id": order.signal_id,
                "created_ms": order.created_ms,
                "updated_ms": order.updated_ms,
                "data": codec.dumps(order),
                "plan": json.dumps(plan) if plan is not None else existing_plan,
            },
        )

    def record_order_event(
        self,
        client_order_id: str,
        source: str,
        event: str,
        target: str,
        ts_ms: int,
        reason: str = "",
    ) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO order_events (client_order_id, source, event, target, ts_ms, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (client_order_id, source, event, target, ts_ms, reason),
            )

    def order_events(self, client_order_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM order_events WHERE client_order_id = ? ORDER BY id",
                (client_order_id,),
            )
        )

    def load_order(self, client_order_id: str) -> Order | None:
        found = self._objects(
            Order, "SELECT data FROM orders WHERE client_order_id = ?", (client_order_id,)
        )
        return found[0] if found else None

    def order_plan(self, client_order_id: str) -> dict[str, Any] | None:
        rows = list(
            self.db.query("SELECT plan FROM orders WHERE client_order_id = ?", (client_order_id,))
        )
        return json.loads(rows[0]["plan"]) if rows and rows[0]["plan"] else None

    def load_orders(
        self, *, working_only: bool = False, wallet_id: str | None = None
    ) -> list[Order]:
        clauses: list[str] = []
        params: list[str] = []
        if working_only:
            live = (OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
            clauses.append(f"status IN ({', '.join('?' for _ in live)})")
            params.extend(s.value for s in live)
        if wallet_id is not None:
            clauses.append("wallet_id = ?")
            params.append(wallet_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._objects(
            Order,
            f"SELECT data FROM orders{where} ORDER BY created_ms, client_order_id",
            tuple(params),
        )

    def save_fill(self, fill: Fill) -> bool:
        """Store a fill once; False when this fill id was already stored (a replayed event)."""
        return self._insert_new(
            "fills",
            {
                "fill_id": fill.fill_id,
                "client_order_id": fill.client_order_id,
                "wallet_id": fill.wallet_id,
                "ts_ms": fill.ts_ms,
                "data": codec.dumps(fill),
            },
        )

    def load_fills(self, client_order_id: str | None = None) -> list[Fill]:
        if client_order_id is None:
            return self._objects(Fill, "SELECT data FROM fills ORDER BY ts_ms, fill_id")
        return self._objects(
            Fill,
            "SELECT data FROM fills WHERE client_order_id = ? ORDER BY ts_ms, fill_id",
            (client_order_id,),
        )

    # ---- signals, allocations, risk decisions ---------------------------------------------
    def save_signal(self, signal: Signal) -> bool:
        return self._insert_new(
            "signals",
            {
                "id": signal.id,
                "ts_ms": signal.ts_ms,
                "strategy": signal.strategy,
                "symbol": signal.symbol,
                "data": codec.dumps(signal),
            },
        )

    def load_signals(self, limit: int = 100) -> list[Signal]:
        rows = self._objects(
            Signal, "SELECT data FROM signals ORDER BY ts_ms DESC, rowid DESC LIMIT ?", (limit,)
        )
        return rows[::-1]

    def save_allocation(self, decision: AllocatorDecision) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO allocations (signal_id, arm, taken, ts_ms, data) VALUES (?, ?, ?, ?, ?)",
                (
                    decision.signal.id,
                    decision.arm,
                    int(decision.taken),
                    decision.ts_ms,
                    codec.dumps(decision),
                ),
            )

    def save_risk_decision(self, decision: RiskDecision) -> None:
        self._put(
            "risk_decisions",
            {
                "id": decision.id,
                "signal_id": decision.intent.signal.id,
                "wallet_id": decision.intent.wallet_id,
                "verdict": decision.verdict.value,
                "ts_ms": decision.ts_ms,
                "reasons": decision.reason_text,
                "data": codec.dumps(decision),
            },
        )

    def load_risk_decision(self, decision_id: str) -> RiskDecision | None:
        """One stored risk decision by id (None when unknown)."""
        rows = self._objects(
            RiskDecision, "SELECT data FROM risk_decisions WHERE id = ?", (decision_id,)
        )
        return rows[0] if rows else None

    def load_risk_decisions(self, limit: int = 100) -> list[RiskDecision]:
        rows = self._objects(
            RiskDecision,
            "SELECT data FROM risk_decisions ORDER BY ts_ms DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return rows[::-1]

    # ---- confirmations -------------------------------------------------------------------------
    def save_confirmation(self, conf: PendingConfirmation) -> None:
        self._put(
            "confirmations",
            {
                "id": conf.id,
                "status": conf.status.value,
                "wallet_id": conf.intent.wallet_id,
                "created_ms": conf.created_ms,
                "expires_ms": conf.expires_ms,
                "data": codec.dumps(conf),
            },
        )

    def load_confirmations(
        self, status: ConfirmationStatus | None = ConfirmationStatus.PENDING
    ) -> list[PendingConfirmation]:
        if status is None:
            return self._objects(
                PendingConfirmation, "SELECT data FROM confirmations ORDER BY created_ms"
            )
        return self._objects(
            PendingConfirmation,
            "SELECT data FROM confirmations WHERE status = ? ORDER BY created_ms",
            (status.value,),
        )

    # ---- rollout, allocator, audit ------------------------------------------------------------
    def save_stage_transition(self, change: StageChanged) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO stage_transitions (from_index, to_index, event, ts_ms, data) VALUES (?, ?, ?, ?, ?)",
                (
                    change.from_index,
                    change.to_index,
                    change.event,
                    change.ts_ms,
                    codec.dumps(change),
                ),
            )

    def stage_history(self) -> list[StageChanged]:
        return self._objects(StageChanged, "SELECT data FROM stage_transitions ORDER BY id")

    def save_arm(self, arm: str, state: dict[str, Any], ts_ms: int) -> None:
        self._put("allocator_arms", {"arm": arm, "updated_ms": ts_ms, "data": json.dumps(state)})

    def load_arms(self) -> dict[str, dict[str, Any]]:
        return {
            row["arm"]: json.loads(row["data"])
            for row in self.db.query("SELECT arm, data FROM allocator_arms")
        }

    def save_audit(self, entry: AuditEntry) -> None:
        self._put(
            "audit",
            {
                "id": entry.id,
                "ts_ms": entry.ts_ms,
                "source": entry.source,
                "action": entry.action,
                "ok": int(entry.ok),
                "data": codec.dumps(entry),
            },
        )

    def load_audit(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._objects(
            AuditEntry, "SELECT data FROM audit ORDER BY ts_ms DESC, rowid DESC LIMIT ?", (limit,)
        )
        return rows[::-1]

    # ---- reconciliation differences ------------------------------------------------------
    def save_differences(self, diffs: list[Difference]) -> None:
        """Store reconciliation differences together (committed before they are published)."""
        with self.atomic():
            for d in diffs:
                self._put(
                    "reconcile_diffs",
                    {
                        "id": d.id,
                        "wallet_id": d.wallet_id,
                        "status": d.status,
                        "last_seen_ms": d.last_seen_ms,
                        "data": codec.dumps(d),
                    },
                )

    def load_differences(self, *, limit: int = 500) -> list[Difference]:
        """Every difference still at the venue (open, ignored) and the newest `limit` others,
        newest first."""
        return self._objects(
            Difference,
            "SELECT data FROM reconcile_diffs WHERE status IN ('open', 'ignored') "
            "UNION ALL SELECT data FROM (SELECT data FROM reconcile_diffs WHERE status NOT IN "
            "('open', 'ignored') ORDER BY last_seen_ms DESC LIMIT ?)",
            (limit,),
        )

    def count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
