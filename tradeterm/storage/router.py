"""Paper and live state live in different files; this picks the right one for a wallet.

`state/paper.db` is the home database: node-level state (stage, trading state, allocator, audit)
and every paper wallet's rows. `state/live.db` holds only live wallets' rows and exists only when
live trading is enabled — paper code can never touch live rows.
"""

from __future__ import annotations

from pathlib import Path

from tradeterm.domain.enums import WalletMode
from tradeterm.errors import StorageError
from tradeterm.storage.db import Storage
from tradeterm.storage.health import StorageHealth


class Stores:
    def __init__(self, paper: Storage, live: Storage | None = None) -> None:
        self.paper = paper
        self.live = live
        self.health: StorageHealth = paper.health
        """One health for every database (and the log file, when the process wires it)."""

    @classmethod
    def open(cls, state_dir: str | Path, *, live: bool, busy_timeout_ms: int = 5000) -> Stores:
        """Open state/paper.db (always) and state/live.db (only when live trading is enabled).
        Live uses synchronous=FULL: a live fill survives power loss, not just a crash."""
        root = Path(state_dir)
        health = StorageHealth()
        paper = Storage(
            root / "paper.db", synchronous="NORMAL", busy_timeout_ms=busy_timeout_ms, health=health
        )
        live_db = (
            Storage(
                root / "live.db", synchronous="FULL", busy_timeout_ms=busy_timeout_ms, health=health
            )
            if live
            else None
        )
        return cls(paper, live_db)

    @property
    def home(self) -> Storage:
        return self.paper

    def for_mode(self, mode: WalletMode) -> Storage:
        if mode is WalletMode.PAPER:
            return self.paper
        if self.live is None:
            raise StorageError("live storage is not open: live trading is not enabled in this run")
        return self.live

    def for_wallet(self, wallet_id: str) -> Storage:
        return self.for_mode(WalletMode.LIVE if wallet_id.startswith("live:") else WalletMode.PAPER)

    def all(self) -> list[Storage]:
        return [s for s in (self.paper, self.live) if s is not None]

    def close(self) -> None:
        for store in self.all():
            store.close()
