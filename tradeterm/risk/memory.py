"""What closed trades have taught the risk engine: loss streaks and cooldowns per arm, the money
a losing trade risked (no martingale), and realised PnL per wallet and market today (the
per-symbol loss cap). Pure bookkeeping: no clock, no bus, no storage; `export`/`load` carry it
across restarts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradeterm.config.models import RiskConfig
from tradeterm.domain.calendar import DAY_MS
from tradeterm.domain.events import ClosedTrade
from tradeterm.risk import limits


class TradeMemory:
    """Loss streaks, cooldowns, the no-martingale limit and per-market PnL today."""

    def __init__(self, config: RiskConfig) -> None:
        self._cfg = config
        self._streaks: dict[str, int] = {}
        self._cooldowns: dict[str, tuple[int, int]] = {}
        self._loss_risk: dict[str, tuple[int, float]] = {}
        self._symbol_pnl: dict[tuple[str, str], tuple[int, float]] = {}

    # ---- trades ------------------------------------------------------------------------------
    def on_trade_closed(self, trade: ClosedTrade, now_ms: int) -> None:
        """Add the trade's PnL to its market's day; extend or reset its arm's loss streak; after
        a loss remember the money it risked (the arm's next trade may risk no more that day)."""
        slot = (trade.wallet_id, f"{trade.venue}:{trade.symbol}")
        day = trade.closed_ms // DAY_MS
        seen_day, pnl = self._symbol_pnl.get(slot, (day, 0.0))
        if day >= seen_day:
            self._symbol_pnl[slot] = (day, (pnl if day == seen_day else 0.0) + trade.pnl)
        arm = trade.arm
        if not arm:
            return
        if trade.pnl >= 0.0:
            self._loss_risk.pop(arm, None)
            self._streaks[arm] = 0
            return
        risked = trade.risk_amount if trade.risk_amount > 0.0 else abs(trade.pnl)
        self._loss_risk[arm] = (now_ms // DAY_MS, risked)
        streak = self._streaks.get(arm, 0) + 1
        if streak >= self._cfg.cooldown_losses and self._cfg.cooldown_minutes > 0:
            until = now_ms + round(self._cfg.cooldown_minutes * 60_000)
            self._cooldowns[arm] = (until, streak)
            streak = 0
        self._streaks[arm] = streak

    def symbol_pnl(self, wallet_id: str, key: str, now_ms: int) -> float:
        """Realised PnL today (UTC) of a wallet on one market."""
        day, pnl = self._symbol_pnl.get((wallet_id, key), (-1, 0.0))
        return pnl if day == now_ms // DAY_MS else 0.0

    def cooldown_reason(self, arm: str, now_ms: int) -> str | None:
        entry = self._cooldowns.get(arm)
        if entry is None:
            return None
        return limits.check_cooldown(arm, entry[0], entry[1], now_ms)

    def martingale_limit(self, arm: str, now_ms: int) -> float | None:
        """The most money the arm may risk next: what its last trade risked when that trade
        lost today (UTC), else None. A win on the arm, or a new day, lifts it."""
        found = self._loss_risk.get(arm)
        if found is None or found[0] != now_ms // DAY_MS:
            return None
        return found[1]

    def cooldowns(
        self, now_ms: int, symbol_cap: float, day_start_of: Callable[[str], float]
    ) -> dict[str, int]:
        """Arms cooling down and markets over the per-symbol loss cap -> until when (ms)."""
        for arm in [a for a, (until, _) in self._cooldowns.items() if until <= now_ms]:
            del self._cooldowns[arm]
        out = {arm: until for arm, (until, _) in self._cooldowns.items()}
        today = now_ms // DAY_MS
        for (wallet_id, key), (day, pnl) in self._symbol_pnl.items():
            if day != today or pnl >= 0.0:
                continue
            if limits.check_symbol_loss(key, pnl, day_start_of(wallet_id), symbol_cap):
                out[key] = (today + 1) * DAY_MS
        return out

    # ---- persistence ---------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {
            "streaks": dict(self._streaks),
            "cooldowns": {arm: [until, n] for arm, (until, n) in self._cooldowns.items()},
            "loss_risk": {arm: [day, amount] for arm, (day, amount) in self._loss_risk.items()},
            "symbol_pnl": {
                f"{w}|{k}": [day, pnl] for (w, k), (day, pnl) in self._symbol_pnl.items()
            },
        }

    def load(self, data: Mapping[str, Any]) -> None:
        self._streaks = {str(k): int(v) for k, v in data.get("streaks", {}).items()}
        self._cooldowns = {
            str(k): (int(v[0]), int(v[1])) for k, v in data.get("cooldowns", {}).items()
        }
        self._loss_risk = {
            str(k): (int(v[0]), float(v[1])) for k, v in data.get("loss_risk", {}).items()
        }
        self._symbol_pnl = {}
        for slot, (day, pnl) in data.get("symbol_pnl", {}).items():
            wallet_id, _, key = str(slot).partition("|")
            self._symbol_pnl[(wallet_id, key)] = (int(day), float(pnl))
