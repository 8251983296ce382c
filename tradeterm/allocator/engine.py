"""The allocator: decides which signals get capital, and which wallet they go to.

For each signal (one strategy instance on one market = one arm):
1. unknown market -> skip; the market already holds `max_concurrent_per_symbol` open positions
   -> skip ("symbol busy").
2. A coin with the exploration rate - the operator's rate, raised to `chop_exploration` while the
   regime classifier calls the market chop, never below the floor - says explore: the signal is
   taken whatever the arm's record, marked `explore` (the rollout may send it to a paper wallet).
3. Otherwise exploit: the bandit scores the arm (Thompson draw or UCB1 index, in R) and the signal
   is taken only if the score is above zero.
4. The rollout routes it to a wallet; no wallet means the domain is off -> skip.
With method "all" (backtests) steps 2 and 3 are skipped: every signal of a free market is taken
as exploitation, with no random draw, so a replay is deterministic; learning still feeds the
arm's win rate and payoff to the risk engine's Kelly cap.
A taken signal becomes an OrderIntent for the risk engine, carrying the arm's win rate and payoff.

Closed trades reward their arm with their R multiple. With learning off, closed trades change
nothing: the posteriors stay frozen (they still decay with time when read) until learning is
turned back on; the trades made meanwhile are not learned later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeterm.allocator.bandit import ArmSnapshot, Bandit
from tradeterm.allocator.regime import Regime, RegimeClassifier
from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import AllocatorConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.events import (
    ALLOCATION,
    ALLOCATOR_STATE,
    BAR,
    INTENT,
    REGIME,
    SIGNAL,
    TRADE_CLOSED,
    AllocatorDecision,
    ClosedTrade,
    OrderIntent,
    arm_id,
)
from tradeterm.domain.ids import stable_id
from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.domain.signals import Signal

Route = Callable[[Domain, bool], str | None]
Windows = Callable[[str, str], BarSeries | None]
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class AllocatorState:
    """What the allocator knows, published after every reward (the console's arms table)."""

    arms: tuple[ArmSnapshot, ...]
    exploration: float
    learning: bool
    ts_ms: int


class Allocator:
    """Bandit over symbol x strategy arms, with an exploration floor and a regime classifier."""

    def __init__(
        self,
        config: AllocatorConfig,
        clock: Clock,
        *,
        route: Route,
        open_count: Callable[[str], int],
        domain_of: Callable[[str], Domain | None],
        regime_timeframe: str = "1m",
        windows: Windows | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._route = route
        self._open_count = open_count
        self._domain_of = domain_of
        self._windows = windows
        self.regime_timeframe = regime_timeframe
        self.classifier = RegimeClassifier(regime_timeframe)
        self.takes_all = config.method == "all"
        self.bandit = Bandit(
            "thompson" if config.method == "all" else config.method,
            reward_halflife_trades=config.reward_halflife_trades,
            drawdown_penalty=config.drawdown_penalty,
            decay_halflife_days=config.decay_halflife_days,
            ucb_c=config.ucb_c,
            seed=config.seed,
        )
        self.floor = max(0.10, config.exploration_floor)
        self._exploration = self._clamp(config.exploration)
        self._learning = config.learning

    # ---- operator settings -------------------------------------------------------------------
    @property
    def exploration(self) -> float:
        """The operator's exploration rate (the chop rate may raise it per market)."""
        return self._exploration

    @property
    def learning(self) -> bool:
        return self._learning

    def _clamp(self, rate: float) -> float:
        return min(1.0, max(self.floor, float(rate)))

    def set_exploration(self, rate: float) -> float:
        """Set the exploration rate, clamped to [floor, 1]; returns the rate applied."""
        self._exploration = self._clamp(rate)
        return self._exploration

    def set_learning(self, enabled: bool) -> None:
        """Off freezes the posteriors: closed trades are not learned while it is off."""
        self._learning = bool(enabled)

    # ---- regime ------------------------------------------------------------------------------
    def regime(self, key: str) -> Regime:
        return self.classifier.regime(key)

    def update_regime(self, key: str, bars: BarSeries) -> Regime:
        """Reclassify a market from its window of closed regime-timeframe bars."""
        return self.classifier.update(key, bars)

    def exploration_for(self, key: str) -> tuple[float, bool]:
        """The exploration rate for a market and whether the chop rate applies."""
        if self.regime(key).is_chop and self.config.chop_exploration > self._exploration:
            return self._clamp(self.config.chop_exploration), True
        return self._exploration, False

    # ---- decisions ---------------------------------------------------------------------------
    def on_signal(self, signal: Signal) -> tuple[AllocatorDecision, OrderIntent | None]:
        """Decide whether `signal` gets capital; the intent is None when it is skipped."""
        arm = arm_id(signal.strategy, signal.venue, signal.symbol)
        now = self.clock.now_ms()
        key = signal.key
        rate, chop = self.exploration_for(key)

        def skip(reason: str, score: float = 0.0, explore: bool = False) -> AllocatorDecision:
            return AllocatorDecision(signal, arm, False, explore, "", reason, score, rate, now)

        domain = self._domain_of(key)
        if domain is None:
            return skip(f"unknown market {key}"), None
        busy = self._open_count(key)
        if busy >= self.config.max_concurrent_per_symbol:
            plural = "" if busy == 1 else "s"
            return skip(f"symbol busy: {busy} open position{plural}"), None
        if self.takes_all:
            return self._take_all(signal, arm, domain, rate, now, skip)
        explore = self.bandit.uniform() < rate
        score = self.bandit.score(arm, now)
        wallet = self._route(domain, explore)
        if wallet is None:
            return skip(f"domain off: {domain.value}", score, explore), None
        if explore:
            reason = f"explore ({rate:.0%}{' in chop' if chop else ''})"
        elif score > 0:
            reason = f"exploit: score {score:+.2f} R > 0"
        else:
            return skip(f"score {score:+.2f} R <= 0", score), None
        decision = AllocatorDecision(signal, arm, True, explore, wallet, reason, score, rate, now)
        return decision, self._intent(signal, wallet, domain, arm, explore, now)

    def _take_all(
        self,
        signal: Signal,
        arm: str,
        domain: Domain,
        rate: float,
        now: int,
        skip: Callable[[str, float, bool], AllocatorDecision],
    ) -> tuple[AllocatorDecision, OrderIntent | None]:
        """Method "all": the signal is taken (no coin, no draw) when its domain routes."""
        wallet = self._route(domain, False)
        if wallet is None:
            return skip(f"domain off: {domain.value}", 0.0, False), None
        reason = "all: every signal is taken"
        decision = AllocatorDecision(signal, arm, True, False, wallet, reason, 0.0, rate, now)
        return decision, self._intent(signal, wallet, domain, arm, False, now)

    def _intent(
        self, signal: Signal, wallet: str, domain: Domain, arm: str, explore: bool, now: int
    ) -> OrderIntent:
        stats = self.bandit.stats(arm, now)
        return OrderIntent(
            id="int-" + stable_id(signal.id, wallet),
            signal=signal,
            wallet_id=wallet,
            domain=domain,
            arm=arm,
            explore=explore,
            ts_ms=now,
            win_rate=stats.win_rate,
            payoff=stats.payoff,
            arm_trades=round(stats.wins + stats.losses),
        )

    def on_trade_closed(self, trade: ClosedTrade) -> None:
        """Reward the trade's arm with its R multiple (nothing while learning is off)."""
        if not self._learning:
            return
        arm = trade.arm or arm_id(trade.strategy, trade.venue, trade.symbol)
        self.bandit.reward(arm, trade.r_multiple, trade.won, trade.closed_ms)

    def arms(self) -> list[ArmSnapshot]:
        """Every arm: posterior mean R, evidence, win rate, payoff, last update (best first)."""
        return self.bandit.snapshots(self.clock.now_ms())

    def state(self) -> AllocatorState:
        return AllocatorState(
            tuple(self.arms()), self._exploration, self._learning, self.clock.now_ms()
        )

    # ---- persistence -------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """JSON-safe state for the node to store: settings, arms (`["arms"][arm]`), generator."""
        return {
            "version": STATE_VERSION,
            "exploration": self._exploration,
            "learning": self._learning,
            **self.bandit.export_state(),
        }

    def import_state(self, data: dict[str, Any]) -> None:
        """Restore `export_state` output; the exploration rate is clamped to today's floor."""
        if "exploration" in data:
            self._exploration = self._clamp(float(data["exploration"]))
        if "learning" in data:
            self._learning = bool(data["learning"])
        self.bandit.import_state(data)

    # ---- bus ---------------------------------------------------------------------------------
    async def attach(self, bus: Bus) -> None:
        """SIGNAL -> ALLOCATION (+ INTENT); TRADE_CLOSED -> reward, ALLOCATOR_STATE; BAR -> REGIME."""

        async def on_signal(_topic: str, signal: Signal) -> None:
            decision, intent = self.on_signal(signal)
            await bus.publish(ALLOCATION, decision)
            if intent is not None:
                await bus.publish(INTENT, intent)

        async def on_trade(_topic: str, trade: ClosedTrade) -> None:
            self.on_trade_closed(trade)
            await bus.publish(ALLOCATOR_STATE, self.state())

        async def on_bar(_topic: str, bar: Bar) -> None:
            if bar.timeframe != self.regime_timeframe or self._windows is None:
                return
            if self.takes_all:  # no exploration, so the regime changes nothing
                return
            window = self._windows(bar.key, bar.timeframe)
            if window is None or len(window) == 0:
                return
            await bus.publish(REGIME, self.update_regime(bar.key, window))

        bus.subscribe(SIGNAL, on_signal, inline=True, name="allocator.signal")
        bus.subscribe(TRADE_CLOSED, on_trade, inline=True, name="allocator.trade")
        bus.subscribe(BAR, on_bar, inline=True, name="allocator.regime")
