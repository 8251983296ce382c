"""What closed trades have taught the risk engine: loss streaks and cooldowns per arm, the money
a losing trade risked (no martingale), and realised PnL per wallet and market today (the
per-symbol loss cap). Pure bookkeeping: no clock, no bus, no storage; `export`/`load` carry it
across restarts.

Each rule is a small function of numbers (`symbol_day_pnl`, `pnl_today`, `loss_streak_step`,
`risked_on_loss`, `martingale_amount`), numba-compatible, so the vector backtester compiles the
very rules `TradeMemory` applies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradeterm.config.models import RiskConfig
from tradeterm.domain.calendar import DAY_MS
from tradeterm.domain.events import ClosedTrade
from tradeterm.risk import limits


def symbol_day_pnl(seen_day: int, pnl: float, day: int, trade_pnl: float) -> tuple[int, float]:
    """A market's (day, realised PnL that day) after a trade closed on UTC day `day`: a new day
    starts from zero; a trade from an earlier day than the one held changes nothing."""
    if day < seen_day:
        return seen_day, pnl
    return day, (pnl if day == seen_day else 0.0) + trade_pnl


def pnl_today(day: int, pnl: float, now_ms: int) -> float:
    """Realised PnL of a market today (UTC), from its (day, PnL) record."""
    return pnl if day == now_ms // DAY_MS else 0.0


def risked_on_loss(risk_amount: float, pnl: float) -> float:
    """What a losing trade risked: its planned risk, else what it lost."""
    return risk_amount if risk_amount > 0.0 else abs(pnl)


def loss_streak_step(
    streak: int, pnl: float, cooldown_losses: int, cooldown_ms: int, now_ms: int
) -> tuple[int, int]:
    """An arm's loss streak after a trade of `pnl`, and the end of the cooldown it starts (-1:
    none). A win (pnl >= 0) resets the streak; the `cooldown_losses`-th loss in a row starts a
    cooldown of `cooldown_ms` (when positive) and resets the streak."""
    if pnl >= 0.0:
        return 0, -1
    streak += 1
    if streak >= cooldown_losses and cooldown_ms > 0:
        return 0, now_ms + cooldown_ms
    return streak, -1


def martingale_amount(loss_day: int, amount: float, now_ms: int) -> float:
    """The most an arm may risk next (-1: no limit): what its last trade risked when that trade
    lost today (UTC)."""
    if loss_day < 0 or loss_day != now_ms // DAY_MS:
        return -1.0
    return amount


def cooldown_ms(config: RiskConfig) -> int:
    """The length of a loss-streak cooldown in ms (0: off)."""
    return round(config.cooldown_minutes * 60_000)


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
        self._symbol_pnl[slot] = symbol_day_pnl(seen_day, pnl, day, trade.pnl)
        arm = trade.arm
        if not arm:
            return
        if trade.pnl >= 0.0:
            self._loss_risk.pop(arm, None)
        else:
            self._loss_risk[arm] = (now_ms // DAY_MS, risked_on_loss(trade.risk_amount, trade.pnl))
        before = self._streaks.get(arm, 0)
        streak, until = loss_streak_step(
            before, trade.pnl, self._cfg.cooldown_losses, cooldown_ms(self._cfg), now_ms
        )
        if until >= 0:
            self._cooldowns[arm] = (until, before + 1)
        self._streaks[arm] = streak

    def symbol_pnl(self, wallet_id: str, key: str, now_ms: int) -> float:
        """Realised PnL today (UTC) of a wallet on one market."""
        day, pnl = self._symbol_pnl.get((wallet_id, key), (-1, 0.0))
        return pnl_today(day, pnl, now_ms)

    def cooldown_reason(self, arm: str, now_ms: int) -> str | None:
        entry = self._cooldowns.get(arm)
        if entry is None:
            return None
        return limits.check_cooldown(arm, entry[0], entry[1], now_ms)

    def martingale_limit(self, arm: str, now_ms: int) -> float | None:
        """The most money the arm may risk next: what its last trade risked when that trade
        lost today (UTC), else None. A win on the arm, or a new day, lifts it."""
        day, amount = self._loss_risk.get(arm, (-1, 0.0))
        limit = martingale_amount(day, amount, now_ms)
        return None if limit < 0.0 else limit

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
