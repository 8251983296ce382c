"""Wallets: one per domain and mode. No cross-funding: a wallet only ever spends its own cash."""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain.enums import Domain, WalletMode


def wallet_id(mode: WalletMode, domain: Domain) -> str:
    """`paper:synthetics`, `live:crypto_spot`, ..."""
    return f"{mode.value}:{domain.value}"


@dataclass(frozen=True, slots=True)
class Wallet:
    """A wallet's cash side. Equity = balance + unrealised PnL of its open positions."""

    id: str
    domain: Domain
    mode: WalletMode
    currency: str
    starting_balance: float
    balance: float
    realized_pnl: float = 0.0
    fees_paid: float = 0.0
    funding_paid: float = 0.0
    venue: str = ""
    venue_account: str = ""
    peak_equity: float = 0.0
    day_start_equity: float = 0.0
    day_start_ms: int = 0
    activated_ms: int = 0
    updated_ms: int = 0

    @property
    def is_live(self) -> bool:
        return self.mode is WalletMode.LIVE
