"""The trading state: ACTIVE / REDUCING / HALTED for the whole node, and HALTED per wallet.

The node-wide state is the operator's (pause -> REDUCING, resume -> ACTIVE) and reconciliation's
(orphans -> HALTED). A wallet's own kill switch halts that wallet only: its domain and mode stop
taking entries while every other wallet keeps trading. The effective state of a wallet is the
stricter of the two. Only an operator (any source but "risk") leaves HALTED; doing so clears the
wallet halts too (the kill switch re-arms from each wallet's equity then, see `KillSwitch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradeterm.domain.enums import TradingState

_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class EffectiveState:
    """A wallet's trading state, why, and whose it is (`scope`: the wallet id when the wallet's
    own kill switch set it, "" when it is the node-wide state)."""

    state: TradingState
    reason: str
    scope: str = ""


class TradingStates:
    """The node-wide trading state and the wallets halted by their own kill switch."""

    def __init__(self) -> None:
        self.state = TradingState.ACTIVE
        self.reason = ""
        self._wallets: dict[str, str] = {}

    def set(self, state: TradingState, reason: str, source: str) -> TradingState | None:
        """Change the node-wide state; returns the previous one, None when unchanged or refused
        (the risk engine itself may not leave HALTED)."""
        previous = self.state
        if state is previous:
            return None
        if previous is TradingState.HALTED and source == "risk":
            return None
        if previous is TradingState.HALTED:
            self._wallets.clear()
        self.state = state
        self.reason = reason
        return previous

    def halt_wallet(self, wallet_id: str, reason: str) -> bool:
        """Halt one wallet; False when it was halted already (the reason is updated)."""
        fresh = wallet_id not in self._wallets
        self._wallets[wallet_id] = reason
        return fresh

    def resume_wallet(self, wallet_id: str) -> bool:
        """Lift one wallet's halt; False when it was not halted."""
        return self._wallets.pop(wallet_id, None) is not None

    def resume_wallets(self) -> list[str]:
        """Lift every wallet halt; the wallets that were halted."""
        halted = sorted(self._wallets)
        self._wallets.clear()
        return halted

    def halted_wallets(self) -> dict[str, str]:
        return dict(self._wallets)

    def effective(self, wallet_id: str) -> EffectiveState:
        """The stricter of the node-wide state and the wallet's own halt."""
        own = self._wallets.get(wallet_id)
        if own is not None and _RANK[self.state] < _RANK[TradingState.HALTED]:
            return EffectiveState(TradingState.HALTED, own, wallet_id)
        return EffectiveState(self.state, self.reason)

    # ---- persistence ---------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {"state": self.state.value, "state_reason": self.reason, "halted": self._wallets}

    def load(self, data: Mapping[str, Any]) -> None:
        self.state = TradingState(data.get("state", TradingState.ACTIVE.value))
        self.reason = str(data.get("state_reason", ""))
        self._wallets = {str(k): str(v) for k, v in dict(data.get("halted", {})).items()}
