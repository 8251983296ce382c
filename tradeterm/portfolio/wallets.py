"""Wallet cash arithmetic: opening a wallet, booking fills and funding, peak and day-start equity.

Pure functions over the frozen `Wallet` value; the Portfolio decides when to call them and
persists the result. A wallet only ever moves its own cash: nothing here takes two wallets.

Cash rules (the same for every contract kind, because PnL is linear, see `Position`):
- a fill's fee is paid from the balance at once;
- PnL is realised into the balance when a position is reduced, closed or reversed;
- funding paid on a perpetual leaves the balance (funding received arrives in it);
- a multiplier position (Deriv) holds its stake less the commission as cash: it leaves the
  balance when the contract opens and comes back, with the PnL, when it closes, so the balance
  is the venue's `balance` at every step (equity adds the cash positions hold).
"""

from __future__ import annotations

from dataclasses import replace

from tradeterm.domain.enums import Domain, WalletMode
from tradeterm.domain.wallets import Wallet, wallet_id

DAY_MS = 86_400_000


def utc_day_start(ts_ms: int) -> int:
    """Midnight UTC of the day containing `ts_ms`."""
    return ts_ms - ts_ms % DAY_MS


def open_wallet(
    mode: WalletMode,
    domain: Domain,
    balance: float,
    *,
    currency: str,
    now_ms: int,
    venue: str = "",
    account: str = "",
) -> Wallet:
    """A freshly funded wallet: its balance is its starting balance, its peak and its day start."""
    return Wallet(
        id=wallet_id(mode, domain),
        domain=domain,
        mode=mode,
        currency=currency,
        starting_balance=balance,
        balance=balance,
        venue=venue,
        venue_account=account,
        peak_equity=balance,
        day_start_equity=balance,
        day_start_ms=utc_day_start(now_ms),
        activated_ms=now_ms,
        updated_ms=now_ms,
    )


def book_fill(wallet: Wallet, realized: float, fee: float, ts_ms: int, held: float = 0.0) -> Wallet:
    """The wallet after a fill that paid `fee`, realised `realized` PnL (gross of the fee) and
    moved `held` cash into positions (< 0: released from them)."""
    return replace(
        wallet,
        balance=wallet.balance + realized - fee - held,
        realized_pnl=wallet.realized_pnl + realized,
        fees_paid=wallet.fees_paid + fee,
        updated_ms=ts_ms,
    )


def book_funding(wallet: Wallet, paid: float, ts_ms: int) -> Wallet:
    """The wallet after a funding payment (`paid` > 0 leaves the wallet, < 0 is received)."""
    return replace(
        wallet,
        balance=wallet.balance - paid,
        funding_paid=wallet.funding_paid + paid,
        updated_ms=ts_ms,
    )


def day_rolled(now_ms: int, day_start_ms: int) -> bool:
    """A UTC midnight has passed since the day start (numba-compatible)."""
    return now_ms >= day_start_ms + DAY_MS


def mark_equity(wallet: Wallet, equity: float, now_ms: int) -> tuple[Wallet, bool]:
    """Carry the peak equity up to `equity` and roll the day start at UTC midnight.

    Returns the wallet (the same object when nothing changed) and whether the day rolled. The
    day-start equity of a new day is the first equity seen in it, which is the midnight equity
    whenever the wallet is marked at least once a day boundary passes.
    """
    rolled = day_rolled(now_ms, wallet.day_start_ms)
    peak = max(wallet.peak_equity, equity)
    if not rolled and peak == wallet.peak_equity:
        return wallet, False
    if rolled:
        wallet = replace(
            wallet, day_start_equity=equity, day_start_ms=utc_day_start(now_ms), updated_ms=now_ms
        )
    if peak != wallet.peak_equity:
        wallet = replace(wallet, peak_equity=peak)
    return wallet, rolled


def drawdown(wallet: Wallet, equity: float) -> float:
    """Fall of `equity` from the wallet's peak, as a fraction of the peak (0 at a new high)."""
    peak = max(wallet.peak_equity, equity)
    return (peak - equity) / peak if peak > 0 else 0.0
