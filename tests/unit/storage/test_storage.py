"""Storage: migrations, WAL, exact round trips, idempotent fills, atomic groups, mode isolation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tradeterm.domain.enums import (
    ConfirmationStatus,
    Domain,
    OrderType,
    RiskVerdict,
    Side,
    WalletMode,
)
from tradeterm.domain.events import OrderIntent, PendingConfirmation, RiskDecision
from tradeterm.domain.orders import Fill, Order, OrderEvent
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet
from tradeterm.errors import StorageError
from tradeterm.storage.db import Storage
from tradeterm.storage.migrations import MIGRATIONS
from tradeterm.storage.router import Stores

SIG = Signal(
    "sig-1",
    60_000,
    "sim",
    "R_100",
    "1m",
    "ema_trend",
    "1.0.0",
    Side.BUY,
    100.0,
    99.0,
    103.0,
    0.7,
    0.4,
)


def _decision() -> RiskDecision:
    intent = OrderIntent(
        "int-1", SIG, "paper:synthetics", Domain.SYNTHETICS, "ema_trend|sim:R_100", False, 60_001
    )
    return RiskDecision(
        "rd-1", intent, RiskVerdict.RESIZED, 1.5, 150.0, 1.5, 0.0015, ("pair cap",), 60_002
    )


def test_new_database_is_wal_and_migrated(tmp_path: Path) -> None:
    store = Storage(tmp_path / "paper.db")
    assert store.version == len(MIGRATIONS)
    conn = sqlite3.connect(tmp_path / "paper.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.integrity_check() == "ok"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    Storage(path).close()
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StorageError, match="newer than this tradeterm"):
        Storage(path)


def test_domain_values_round_trip_exactly(tmp_path: Path) -> None:
    store = Storage(tmp_path / "p.db")
    wallet = Wallet(
        "paper:synthetics", Domain.SYNTHETICS, WalletMode.PAPER, "USD", 1000.0, 987.5, -12.5
    )
    pos = Position("paper:synthetics", "sim", "R_100", Side.SELL, 2.0, 100.0, 5, 101.0, 97.0, 101.0)
    conf = PendingConfirmation("c-1", _decision(), ConfirmationStatus.PENDING, 1, 61_001)
    store.save_wallet(wallet)
    store.save_position(pos)
    store.save_signal(SIG)
    store.save_risk_decision(conf.decision)
    store.save_confirmation(conf)
    reopened = Storage(tmp_path / "p.db")
    assert reopened.load_wallets() == [wallet]
    assert reopened.load_positions() == [pos]
    assert reopened.load_signals() == [SIG]
    assert reopened.load_risk_decisions() == [conf.decision]
    assert reopened.load_confirmations() == [conf]
    assert reopened.load_confirmations(ConfirmationStatus.EXPIRED) == []


def test_orders_keep_their_plan_and_fills_are_stored_once(tmp_path: Path) -> None:
    store = Storage(tmp_path / "p.db")
    order = Order(
        "tt-1",
        "paper:synthetics",
        "sim",
        "R_100",
        Side.BUY,
        OrderType.MARKET,
        1.0,
        10,
        signal_id="sig-1",
    )
    store.save_order(order, plan={"stop_loss": 99.0, "take_profit": 103.0})
    submitted = order.transition(OrderEvent.SUBMIT, 11)
    store.save_order(submitted)
    assert store.order_plan("tt-1") == {"stop_loss": 99.0, "take_profit": 103.0}
    assert [o.status.value for o in store.load_orders(working_only=True)] == ["submitted"]
    fill = Fill(
        "tt-1-1", "tt-1", "paper:synthetics", "sim", "R_100", Side.BUY, 1.0, 100.02, 0.05, 12
    )
    assert store.save_fill(fill) is True
    assert store.save_fill(fill) is False
    assert store.load_fills("tt-1") == [fill]


def test_atomic_group_rolls_back_together(tmp_path: Path) -> None:
    store = Storage(tmp_path / "p.db")
    with pytest.raises(RuntimeError), store.atomic():
        store.save_signal(SIG)
        store.put_meta("stage", 2, 1)
        raise RuntimeError("crash mid-way")
    assert store.load_signals() == [] and store.get_meta("stage") is None


def test_paper_and_live_are_separate_files(tmp_path: Path) -> None:
    paper_only = Stores.open(tmp_path, live=False)
    assert paper_only.for_wallet("paper:forex") is paper_only.paper
    with pytest.raises(StorageError, match="live trading is not enabled"):
        paper_only.for_wallet("live:forex")
    both = Stores.open(tmp_path / "b", live=True)
    both.for_wallet("live:forex").put_meta("x", 1, 0)
    assert (
        both.paper.get_meta("x") is None and both.live is not None and both.live.get_meta("x") == 1
    )
