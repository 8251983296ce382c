"""The drawdown kill switch, per wallet: when a wallet's equity falls `max_drawdown` below its
peak (or below the high since an operator re-armed it), it trips once: that wallet is halted,
flattened when configured, and its domain demoted. Bookkeeping only; the engine acts on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradeterm.domain.wallets import Wallet


def drawdown_from(peak: float, equity: float) -> float:
    """The fall of `equity` below `peak` (carried up to equity), as a fraction of the peak."""
    top = max(peak, equity)
    return 1.0 - equity / top if top > 0.0 else 0.0


def trips(drawdown: float, limit: float) -> bool:
    """A drawdown at the kill switch's limit (numba-compatible, as `drawdown_from`)."""
    return drawdown + 1e-12 >= limit


class KillSwitch:
    """Which wallets tripped, and the equity each re-armed wallet measures drawdown from."""

    def __init__(self, max_drawdown: float) -> None:
        self.limit = max_drawdown
        self._tripped: set[str] = set()
        self._base: dict[str, float] = {}

    def drawdown(self, wallet: Wallet, equity: float) -> float:
        """From peak equity, or from the high since the operator re-armed the wallet."""
        base = self._base.get(wallet.id)
        return drawdown_from(base if base is not None else wallet.peak_equity, equity)

    def track(self, wallet: Wallet, equity: float) -> float:
        """`drawdown`, after raising the post-resume high (dropped once the old peak is back)."""
        base = self._base.get(wallet.id)
        if base is not None:
            if equity >= wallet.peak_equity:
                del self._base[wallet.id]
            elif equity > base:
                self._base[wallet.id] = equity
        return self.drawdown(wallet, equity)

    def should_trip(self, wallet: Wallet, equity: float) -> float | None:
        """The drawdown when this wallet trips now (not tripped before and at the limit)."""
        drawdown = self.track(wallet, equity)
        if not trips(drawdown, self.limit) or wallet.id in self._tripped:
            return None
        self._tripped.add(wallet.id)
        return drawdown

    def is_tripped(self, wallet_id: str) -> bool:
        return wallet_id in self._tripped

    def rearm(self, wallet_ids: list[str], equity_of: Callable[[str], float]) -> None:
        """Re-arm wallets (all tripped ones when `wallet_ids` is empty), measuring drawdown
        from their equity now."""
        for wallet_id in wallet_ids or sorted(self._tripped):
            if wallet_id not in self._tripped:
                continue
            equity = equity_of(wallet_id)
            if equity > 0.0:
                self._base[wallet_id] = equity
            self._tripped.discard(wallet_id)

    # ---- persistence ---------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {"tripped": sorted(self._tripped), "kill_base": dict(self._base)}

    def load(self, data: Mapping[str, Any]) -> None:
        self._tripped = {str(w) for w in data.get("tripped", [])}
        self._base = {str(k): float(v) for k, v in data.get("kill_base", {}).items()}
