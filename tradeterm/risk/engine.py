"""The risk engine: every order intent is sized and checked here, and nothing bypasses it.

It owns the trading state (ACTIVE / REDUCING / HALTED), remembers what closed trades taught it
(loss streaks and cooldowns, per-symbol losses today, the last risk taken per arm) and trips the
drawdown kill switch. Every verdict is a `RiskDecision` with its reasons; a denial is an event,
never an exception.

Order of evaluation in `evaluate` (the first failure is the first reason):
 1. trading state: HALTED denies everything, REDUCING denies entries
 2. the wallet exists (and the instrument is known)
 3. gates, every failure collected: signal consistency (stop on the losing side, target on the
    winning side) -> reward:risk >= min_reward_risk -> stop width <= max_stop_atr x ATR ->
    weekend cut-off -> daily loss cap -> per-symbol daily loss cap -> arm cooldown ->
    max open positions per wallet
 4. sizing: base or canary risk fraction (canary while CanaryView says so, and for explore
    trades) -> Kelly cap (>= 20 arm trades; no edge denies unless exploring) -> % risk from the
    stop distance (or volatility target, never above the % risk size)
 5. no martingale on the sized risk, then resizing caps, each may only shrink the size: pair exposure -> portfolio
    exposure -> leverage -> wallet balance (margin + estimated taker fee)
 6. round down to the lot step; below the venue minimums denies
Verdict: APPROVED when nothing shrank the size, RESIZED (with the notes) when a cap did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import RiskConfig
from tradeterm.domain.enums import RiskVerdict, TradingState
from tradeterm.domain.events import (
    ALERT,
    INTENT,
    KILL_SWITCH,
    RISK_DECISION,
    TRADE_CLOSED,
    TRADING_STATE,
    WALLET,
    Alert,
    ClosedTrade,
    KillSwitchTripped,
    OrderIntent,
    RiskDecision,
    TradingStateChanged,
    WalletSnapshot,
)
from tradeterm.domain.ids import stable_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.positions import Position
from tradeterm.domain.wallets import Wallet
from tradeterm.risk import limits
from tradeterm.risk.sizing import KELLY_MIN_TRADES, kelly_fraction, risk_qty, vol_target_qty

log = logging.getLogger(__name__)


class PortfolioView(Protocol):
    """What the risk engine reads from the portfolio (satisfied by `Portfolio`)."""

    def wallet(self, wallet_id: str) -> Wallet | None: ...
    def positions(self, wallet_id: str | None = None) -> list[Position]: ...
    def mark(self, key: str) -> float | None: ...
    def equity(self, wallet_id: str) -> float: ...
    def snapshot(self, wallet_id: str) -> WalletSnapshot: ...


class CanaryView(Protocol):
    """Whether a wallet is a canary: a newly live domain trading at the reduced risk fraction."""

    def is_canary(self, wallet_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class RiskGauges:
    """One wallet's limits as the console draws them: each figure beside the level that stops it.

    daily_loss is the fraction of day-start equity lost today (0 when up); drawdown is the kill
    switch's measure (from peak equity, or from the equity at the operator's last resume).
    """

    wallet_id: str
    state: TradingState
    state_reason: str
    daily_loss: float
    daily_loss_cap: float
    drawdown: float
    kill_level: float
    tripped: bool
    pair_exposure: dict[str, float]
    pair_cap: float
    portfolio_exposure: float
    portfolio_cap: float
    cooldowns: dict[str, int]
    canary: bool


class TradeMemory:
    """What closed trades and wallet equity have taught the risk engine.

    Loss streaks and cooldowns per arm, the last risk taken per arm and whether that trade lost
    (no martingale), realised PnL today per wallet and market (per-symbol loss cap), and the kill
    switch's bookkeeping: which wallets tripped it and, after an operator resume, the equity the
    drawdown is measured from again.
    """

    def __init__(self, config: RiskConfig) -> None:
        self._cfg = config
        self._streaks: dict[str, int] = {}
        self._cooldowns: dict[str, tuple[int, int]] = {}
        self._last_risk: dict[str, float] = {}
        self._last_lost: set[str] = set()
        self._symbol_pnl: dict[tuple[str, str], tuple[int, float]] = {}
        self._tripped: set[str] = set()
        self._kill_base: dict[str, float] = {}

    # ---- trades ------------------------------------------------------------------------------
    def on_trade_closed(self, trade: ClosedTrade, now_ms: int) -> None:
        """Add the trade's PnL to its market's day; extend or reset its arm's loss streak."""
        slot = (trade.wallet_id, f"{trade.venue}:{trade.symbol}")
        day = trade.closed_ms // limits.DAY_MS
        seen_day, pnl = self._symbol_pnl.get(slot, (day, 0.0))
        if day >= seen_day:
            self._symbol_pnl[slot] = (day, (pnl if day == seen_day else 0.0) + trade.pnl)
        arm = trade.arm
        if not arm:
            return
        if trade.pnl >= 0.0:
            self._last_lost.discard(arm)
            self._streaks[arm] = 0
            return
        self._last_lost.add(arm)
        streak = self._streaks.get(arm, 0) + 1
        if streak >= self._cfg.cooldown_losses and self._cfg.cooldown_minutes > 0:
            until = now_ms + round(self._cfg.cooldown_minutes * 60_000)
            self._cooldowns[arm] = (until, streak)
            streak = 0
        self._streaks[arm] = streak

    def symbol_pnl(self, wallet_id: str, key: str, now_ms: int) -> float:
        """Realised PnL today (UTC) of a wallet on one market."""
        day, pnl = self._symbol_pnl.get((wallet_id, key), (-1, 0.0))
        return pnl if day == now_ms // limits.DAY_MS else 0.0

    def cooldown_reason(self, arm: str, now_ms: int) -> str | None:
        entry = self._cooldowns.get(arm)
        if entry is None:
            return None
        return limits.check_cooldown(arm, entry[0], entry[1], now_ms)

    def record_risk(self, arm: str, amount: float) -> None:
        """The risk amount of the arm's latest approved entry."""
        self._last_risk[arm] = amount

    def martingale_limit(self, arm: str) -> float | None:
        """The most the arm may risk next: its last risk when its last trade lost, else None."""
        return self._last_risk.get(arm) if arm in self._last_lost else None

    def cooldowns(
        self, now_ms: int, symbol_cap: float, day_start_of: Callable[[str], float]
    ) -> dict[str, int]:
        """Arms cooling down and markets over the per-symbol loss cap -> until when (ms)."""
        for arm in [a for a, (until, _) in self._cooldowns.items() if until <= now_ms]:
            del self._cooldowns[arm]
        out = {arm: until for arm, (until, _) in self._cooldowns.items()}
        today = now_ms // limits.DAY_MS
        for (wallet_id, key), (day, pnl) in self._symbol_pnl.items():
            if day != today or pnl >= 0.0:
                continue
            if limits.check_symbol_loss(key, pnl, day_start_of(wallet_id), symbol_cap):
                out[key] = (today + 1) * limits.DAY_MS
        return out

    # ---- kill switch ---------------------------------------------------------------------------
    def drawdown(self, wallet: Wallet, equity: float) -> float:
        """The kill switch's drawdown: from peak equity, or from the high since the last resume."""
        base = self._kill_base.get(wallet.id)
        peak = max(base if base is not None else wallet.peak_equity, equity)
        return 1.0 - equity / peak if peak > 0.0 else 0.0

    def track_drawdown(self, wallet: Wallet, equity: float) -> float:
        """`drawdown`, after raising the post-resume high (dropped once the old peak is regained)."""
        base = self._kill_base.get(wallet.id)
        if base is not None:
            if equity >= wallet.peak_equity:
                del self._kill_base[wallet.id]
            elif equity > base:
                self._kill_base[wallet.id] = equity
        return self.drawdown(wallet, equity)

    def is_tripped(self, wallet_id: str) -> bool:
        return wallet_id in self._tripped

    def trip(self, wallet_id: str) -> None:
        self._tripped.add(wallet_id)

    def rearm(self, equity_of: Callable[[str], float]) -> None:
        """Re-arm every tripped wallet, measuring drawdown from its equity now."""
        for wallet_id in self._tripped:
            equity = equity_of(wallet_id)
            if equity > 0.0:
                self._kill_base[wallet_id] = equity
        self._tripped.clear()

    # ---- persistence ---------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {
            "streaks": dict(self._streaks),
            "cooldowns": {arm: [until, n] for arm, (until, n) in self._cooldowns.items()},
            "last_risk": dict(self._last_risk),
            "last_lost": sorted(self._last_lost),
            "symbol_pnl": {
                f"{w}|{k}": [day, pnl] for (w, k), (day, pnl) in self._symbol_pnl.items()
            },
            "tripped": sorted(self._tripped),
            "kill_base": dict(self._kill_base),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        self._streaks = {str(k): int(v) for k, v in data.get("streaks", {}).items()}
        self._cooldowns = {
            str(k): (int(v[0]), int(v[1])) for k, v in data.get("cooldowns", {}).items()
        }
        self._last_risk = {str(k): float(v) for k, v in data.get("last_risk", {}).items()}
        self._last_lost = {str(a) for a in data.get("last_lost", [])}
        self._symbol_pnl = {}
        for slot, (day, pnl) in data.get("symbol_pnl", {}).items():
            wallet_id, _, key = str(slot).partition("|")
            self._symbol_pnl[(wallet_id, key)] = (int(day), float(pnl))
        self._tripped = {str(w) for w in data.get("tripped", [])}
        self._kill_base = {str(k): float(v) for k, v in data.get("kill_base", {}).items()}


class RiskEngine:
    """Sizes every intent, enforces every limit, owns the trading state and the kill switch.

    `stale_tolerance_bps` comes from ExecutionConfig; `taker_fee_rate` (the venue's or the paper
    fill model's) is added to the cash an order needs in the wallet balance check.
    """

    def __init__(
        self,
        config: RiskConfig,
        clock: Clock,
        portfolio: PortfolioView,
        instruments: Mapping[str, Instrument],
        *,
        canary: CanaryView | None = None,
        stale_tolerance_bps: float = 25.0,
        taker_fee_rate: float = 0.0005,
    ) -> None:
        self._cfg = config
        self._clock = clock
        self._portfolio = portfolio
        self._instruments = instruments
        self._canary = canary
        self._stale_bps = stale_tolerance_bps
        self._fee_rate = taker_fee_rate
        self._cutoff_minute = limits.parse_weekly_cutoff(config.weekend_cutoff_utc)
        self._state = TradingState.ACTIVE
        self._state_reason = ""
        self._memory = TradeMemory(config)
        self._bus: Bus | None = None

    # ---- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> TradingState:
        """ACTIVE trades; REDUCING takes no new entries; HALTED takes nothing new."""
        return self._state

    @property
    def state_reason(self) -> str:
        return self._state_reason

    @property
    def max_hold_ms(self) -> int:
        """How long a position may be held before the monitor closes it."""
        return round(self._cfg.max_hold_minutes * 60_000)

    def weekend_exit_due(self, ts_ms: int) -> bool:
        """True when weekend-carry avoidance is on and `ts_ms` is past the weekly cut-off."""
        return self._cfg.avoid_weekend_carry and limits.in_weekend_window(
            ts_ms, self._cutoff_minute
        )

    def set_state(
        self, state: TradingState, reason: str, source: str
    ) -> TradingStateChanged | None:
        """Change the trading state; None when unchanged or refused.

        Only an operator (any `source` but "risk") may leave HALTED; doing so re-arms the kill
        switch from each tripped wallet's current equity.
        """
        previous = self._state
        if state is previous:
            return None
        if previous is TradingState.HALTED and source == "risk":
            return None
        if previous is TradingState.HALTED:
            self._memory.rearm(self._portfolio.equity)
        self._state = state
        self._state_reason = reason
        return TradingStateChanged(state, previous, reason, self._clock.now_ms(), source)

    async def change_state(
        self, state: TradingState, reason: str, source: str
    ) -> TradingStateChanged | None:
        """`set_state`, then publish the change on TRADING_STATE (when attached to a bus)."""
        change = self.set_state(state, reason, source)
        if change is not None and self._bus is not None:
            await self._bus.publish(TRADING_STATE, change)
        return change

    # ---- decisions -----------------------------------------------------------------------------
    def evaluate(self, intent: OrderIntent) -> RiskDecision:
        """Size and check an intent. Never raises for a denial: the verdict carries the reason."""
        return self._evaluate(intent, "")

    def recheck(self, decision: RiskDecision) -> RiskDecision:
        """Check an approved decision again when the operator confirms it: a price that moved more
        than the stale tolerance from the entry denies it; otherwise every rule runs again."""
        intent = decision.intent
        signal = intent.signal
        instrument = self._instruments.get(signal.key)
        decimals = instrument.price_decimals if instrument is not None else 2
        stale = limits.check_stale(
            signal.entry, self._portfolio.mark(signal.key), self._stale_bps, decimals
        )
        if stale is not None:
            return self._deny(intent, self._clock.now_ms(), [stale], "recheck")
        return self._evaluate(intent, "recheck")

    def check_stop_change(self, position: Position, new_stop: float) -> str | None:
        """Why a stop move is refused (widening), or None when allowed (tightening)."""
        instrument = self._instruments.get(position.key)
        decimals = instrument.price_decimals if instrument is not None else 2
        return limits.check_stop_change(position.side, position.stop_loss, new_stop, decimals)

    def _evaluate(self, intent: OrderIntent, salt: str) -> RiskDecision:
        now = self._clock.now_ms()
        blocked = limits.check_trading_state(self._state, self._state_reason)
        if blocked is not None:
            return self._deny(intent, now, [blocked], salt)
        wallet = self._portfolio.wallet(intent.wallet_id)
        if wallet is None:
            return self._deny(intent, now, [f"no wallet {intent.wallet_id}"], salt)
        instrument = self._instruments.get(intent.signal.key)
        if instrument is None:
            return self._deny(intent, now, [f"unknown instrument {intent.signal.key}"], salt)
        positions = self._portfolio.positions(intent.wallet_id)
        equity = self._portfolio.equity(intent.wallet_id)
        reasons = self._gates(intent, wallet, equity, positions, now)
        if reasons:
            return self._deny(intent, now, reasons, salt)
        if equity <= 0.0:
            return self._deny(intent, now, [f"wallet equity {equity:.2f}: nothing to risk"], salt)
        return self._size(intent, wallet, instrument, equity, positions, now, salt)

    def _gates(
        self,
        intent: OrderIntent,
        wallet: Wallet,
        equity: float,
        positions: list[Position],
        now: int,
    ) -> list[str]:
        cfg = self._cfg
        signal = intent.signal
        key = signal.key
        day_start = wallet.day_start_equity or equity
        adds_to_open = any(p.key == key for p in positions)
        checks = (
            limits.check_signal_consistency(signal),
            limits.check_reward_risk(signal.reward_risk, cfg.min_reward_risk),
            limits.check_stop_width(signal.risk_per_unit, signal.atr, cfg.max_stop_atr),
            limits.check_weekend(now, self._cutoff_minute, cfg.weekend_cutoff_utc)
            if cfg.avoid_weekend_carry
            else None,
            limits.check_daily_loss(equity, wallet.day_start_equity, cfg.daily_loss_cap),
            limits.check_symbol_loss(
                key, self._memory.symbol_pnl(wallet.id, key, now), day_start, cfg.symbol_loss_cap
            ),
            self._memory.cooldown_reason(intent.arm, now),
            None
            if adds_to_open
            else limits.check_open_positions(len(positions), cfg.max_open_positions),
        )
        return [reason for reason in checks if reason is not None]

    def _size(
        self,
        intent: OrderIntent,
        wallet: Wallet,
        instrument: Instrument,
        equity: float,
        positions: list[Position],
        now: int,
        salt: str,
    ) -> RiskDecision:
        signal = intent.signal
        canary = intent.explore or (
            self._canary is not None and self._canary.is_canary(intent.wallet_id)
        )
        fraction = self._cfg.canary_risk_per_trade if canary else self._cfg.risk_per_trade
        notes: list[str] = []
        fraction, denial = self._kelly(intent, fraction, notes)
        if denial is not None:
            return self._deny(intent, now, [denial], salt, canary=canary)
        size = instrument.contract_size
        qty = risk_qty(equity, fraction, signal.entry, signal.stop_loss, size)
        if self._cfg.sizing == "vol_target":
            vol_qty = vol_target_qty(
                equity, self._cfg.vol_target_annual, signal.atr, signal.timeframe, size
            )
            qty = min(qty, vol_qty)
        # No martingale compares what the SIZING rules chose (before exposure, leverage and
        # balance caps): martingale is sizing up after a loss. Comparing capped sizes would pin
        # an arm to the smallest capped trade it ever made, below the venue minimum for good.
        unit_risk = signal.risk_per_unit * size
        last_risk = self._memory.martingale_limit(intent.arm)
        if last_risk is not None:
            cap = limits.cap_martingale(qty, unit_risk, last_risk, intent.arm)
            if cap is not None and cap.max_qty < qty:
                notes.append(cap.note)
                qty = cap.max_qty
        sized_risk = qty * unit_risk
        qty = self._apply_caps(intent, instrument, wallet, equity, positions, qty, notes)
        if qty <= 0.0:
            reasons = notes[-1:] + notes[:-1] or ["size 0: nothing to risk"]
            return self._deny(intent, now, reasons, salt, canary=canary)
        minimum = limits.check_venue_minimum(instrument, qty, signal.entry)
        if minimum is not None:
            return self._deny(intent, now, [minimum, *notes], salt, canary=canary)
        lot_qty = instrument.floor_qty(qty)
        risk_amount = lot_qty * signal.risk_per_unit * size
        self._memory.record_risk(intent.arm, sized_risk)
        return RiskDecision(
            id=_decision_id(intent, now, salt),
            intent=intent,
            verdict=RiskVerdict.RESIZED if notes else RiskVerdict.APPROVED,
            qty=lot_qty,
            notional=lot_qty * signal.entry * size,
            risk_amount=risk_amount,
            risk_fraction=risk_amount / equity,
            reasons=tuple(notes),
            ts_ms=now,
            canary=canary,
        )

    def _kelly(
        self, intent: OrderIntent, fraction: float, notes: list[str]
    ) -> tuple[float, str | None]:
        """The risk fraction after the Kelly cap, or a denial when the arm shows no edge."""
        if intent.arm_trades < KELLY_MIN_TRADES:
            return fraction, None
        f_star = kelly_fraction(intent.win_rate, intent.payoff)
        if f_star <= 0.0:
            if intent.explore:
                return fraction, None
            return fraction, limits.check_kelly_edge(
                intent.win_rate, intent.payoff, f_star, intent.arm_trades
            )
        capped = self._cfg.kelly_fraction_cap * f_star
        if capped >= fraction:
            return fraction, None
        notes.append(
            f"kelly cap: risk {limits.pct(fraction)} -> {limits.pct(capped)} "
            f"({self._cfg.kelly_fraction_cap:g} x f* {f_star:.3f})"
        )
        return capped, None

    def _apply_caps(
        self,
        intent: OrderIntent,
        instrument: Instrument,
        wallet: Wallet,
        equity: float,
        positions: list[Position],
        qty: float,
        notes: list[str],
    ) -> float:
        """Shrink `qty` through every resizing rule in order, noting each one that binds."""
        cfg = self._cfg
        signal = intent.signal
        unit_notional = signal.entry * instrument.contract_size
        pair, total, tied = self._exposure(positions, signal.key)
        leverage = self._leverage_limit(instrument)
        for cap in (
            limits.cap_pair_exposure(
                qty, unit_notional, pair, equity, cfg.max_pair_exposure, signal.key
            ),
            limits.cap_portfolio_exposure(
                qty, unit_notional, total, equity, cfg.max_portfolio_exposure
            ),
            limits.cap_leverage(qty, unit_notional, total, equity, leverage),
            limits.cap_balance(
                qty, unit_notional * (1.0 / leverage + self._fee_rate), wallet.balance, tied
            ),
        ):
            if cap is not None and cap.max_qty < qty:
                notes.append(cap.note)
                qty = cap.max_qty
        return qty

    def _exposure(self, positions: list[Position], key: str) -> tuple[float, float, float]:
        """(notional on `key`, total notional, cash or margin tied up) of a wallet's positions."""
        pair = total = tied = 0.0
        for position in positions:
            mark = self._portfolio.mark(position.key) or position.entry_price
            notional = abs(position.qty) * mark * position.contract_size
            total += notional
            if position.key == key:
                pair += notional
            instrument = self._instruments.get(position.key)
            leverage = self._leverage_limit(instrument) if instrument is not None else 1.0
            tied += abs(position.notional) / leverage
        return pair, total, tied

    def _leverage_limit(self, instrument: Instrument) -> float:
        """The configured leverage cap, never above what the instrument allows (spot: 1x)."""
        return min(self._cfg.max_leverage, max(1.0, instrument.max_leverage))

    def _deny(
        self,
        intent: OrderIntent,
        now: int,
        reasons: list[str],
        salt: str,
        *,
        canary: bool = False,
    ) -> RiskDecision:
        return RiskDecision(
            id=_decision_id(intent, now, salt),
            intent=intent,
            verdict=RiskVerdict.DENIED,
            qty=0.0,
            notional=0.0,
            risk_amount=0.0,
            risk_fraction=0.0,
            reasons=tuple(reasons),
            ts_ms=now,
            canary=canary,
        )

    # ---- what closed trades and wallets teach ---------------------------------------------------
    def on_trade_closed(self, trade: ClosedTrade) -> None:
        """Update loss streaks (and start a cooldown), the no-martingale memory and the symbol's
        realised PnL today."""
        self._memory.on_trade_closed(trade, self._clock.now_ms())

    def on_wallet(self, snapshot: WalletSnapshot) -> KillSwitchTripped | None:
        """The drawdown kill switch: trips once per wallet at `max_drawdown` and HALTs trading."""
        tripped = self._trip(snapshot)
        return tripped[0] if tripped is not None else None

    def _trip(
        self, snapshot: WalletSnapshot
    ) -> tuple[KillSwitchTripped, TradingStateChanged | None] | None:
        wallet = snapshot.wallet
        drawdown = self._memory.track_drawdown(wallet, snapshot.equity)
        limit = self._cfg.max_drawdown
        if drawdown + 1e-12 < limit or self._memory.is_tripped(wallet.id):
            return None
        self._memory.trip(wallet.id)
        reason = f"drawdown {limits.pct(drawdown)} >= {limits.pct(limit)} on {wallet.id}"
        log.warning("risk: kill switch tripped: %s", reason)
        change = self.set_state(TradingState.HALTED, reason, "risk")
        self._state_reason = reason  # the latest cause, also when already HALTED
        now = self._clock.now_ms()
        kill = KillSwitchTripped(
            wallet.id, wallet.domain, drawdown, limit, self._cfg.flatten_on_kill, now
        )
        return kill, change

    # ---- console -------------------------------------------------------------------------------
    def cooldowns(self) -> dict[str, int]:
        """Arms and markets resting now -> until when (ms): loss-streak cooldowns and markets that
        hit the per-symbol loss cap (until the next UTC midnight)."""
        now = self._clock.now_ms()
        return self._memory.cooldowns(now, self._cfg.symbol_loss_cap, self._day_start_equity_of)

    def _day_start_equity_of(self, wallet_id: str) -> float:
        wallet = self._portfolio.wallet(wallet_id)
        if wallet is None:
            return 0.0
        return wallet.day_start_equity or self._portfolio.equity(wallet_id)

    def gauges(self, wallet_id: str) -> RiskGauges:
        """A wallet's figures against their limits, for the console's risk pane."""
        cfg = self._cfg
        wallet = self._portfolio.wallet(wallet_id)
        equity = self._portfolio.equity(wallet_id) if wallet is not None else 0.0
        daily_loss = drawdown = 0.0
        by_key: dict[str, float] = {}
        total = 0.0
        if wallet is not None:
            if wallet.day_start_equity > 0:
                daily_loss = max(0.0, 1.0 - equity / wallet.day_start_equity)
            drawdown = self._memory.drawdown(wallet, equity)
            for position in self._portfolio.positions(wallet_id):
                mark = self._portfolio.mark(position.key) or position.entry_price
                notional = abs(position.qty) * mark * position.contract_size
                by_key[position.key] = by_key.get(position.key, 0.0) + notional
                total += notional
        scale = 1.0 / equity if equity > 0 else 0.0
        return RiskGauges(
            wallet_id=wallet_id,
            state=self._state,
            state_reason=self._state_reason,
            daily_loss=daily_loss,
            daily_loss_cap=cfg.daily_loss_cap,
            drawdown=drawdown,
            kill_level=cfg.max_drawdown,
            tripped=self._memory.is_tripped(wallet_id),
            pair_exposure={key: value * scale for key, value in by_key.items()},
            pair_cap=cfg.max_pair_exposure,
            portfolio_exposure=total * scale,
            portfolio_cap=cfg.max_portfolio_exposure,
            cooldowns=self.cooldowns(),
            canary=self._canary is not None and self._canary.is_canary(wallet_id),
        )

    # ---- persistence ---------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """Everything the engine has learnt, as JSON-safe data (the node stores it in meta)."""
        data = self._memory.export()
        data["state"] = self._state.value
        data["state_reason"] = self._state_reason
        return data

    def import_state(self, data: dict[str, Any]) -> None:
        """Restore what `export_state` saved (missing keys keep their defaults)."""
        self._state = TradingState(data.get("state", TradingState.ACTIVE.value))
        self._state_reason = str(data.get("state_reason", ""))
        self._memory.load(data)

    # ---- bus -----------------------------------------------------------------------------------
    async def attach(self, bus: Bus) -> None:
        """INTENT -> RISK_DECISION (+ ALERT on a denial); TRADE_CLOSED -> memory; WALLET -> kill
        switch -> TRADING_STATE, KILL_SWITCH and a critical ALERT."""
        self._bus = bus
        bus.subscribe(INTENT, self._on_intent_message, name="risk.intent", inline=True)
        bus.subscribe(TRADE_CLOSED, self._on_trade_message, name="risk.trade_closed", inline=True)
        bus.subscribe(WALLET, self._on_wallet_message, name="risk.wallet", inline=True)

    async def _on_intent_message(self, topic: str, intent: OrderIntent) -> None:
        assert self._bus is not None
        decision = self.evaluate(intent)
        await self._bus.publish(RISK_DECISION, decision)
        if not decision.approved:
            text = f"risk denied {intent.arm} ({intent.wallet_id}): {decision.reason_text}"
            await self._bus.publish(ALERT, Alert("warning", text, decision.ts_ms, RISK_DECISION))

    async def _on_trade_message(self, topic: str, trade: ClosedTrade) -> None:
        self.on_trade_closed(trade)

    async def _on_wallet_message(self, topic: str, snapshot: WalletSnapshot) -> None:
        assert self._bus is not None
        if not isinstance(snapshot, WalletSnapshot):
            return
        tripped = self._trip(snapshot)
        if tripped is None:
            return
        kill, change = tripped
        if change is not None:
            await self._bus.publish(TRADING_STATE, change)
        await self._bus.publish(KILL_SWITCH, kill)
        text = (
            f"KILL SWITCH {kill.wallet_id}: drawdown {limits.pct(kill.drawdown)} >= "
            f"{limits.pct(kill.limit)}; trading HALTED" + ("; flattening" if kill.flatten else "")
        )
        await self._bus.publish(ALERT, Alert("critical", text, kill.ts_ms, KILL_SWITCH))


def _decision_id(intent: OrderIntent, ts_ms: int, salt: str) -> str:
    """`rd-` + a digest of the intent and time (a recheck adds a salt so ids never collide)."""
    if salt:
        return "rd-" + stable_id(intent.id, ts_ms, salt)
    return "rd-" + stable_id(intent.id, ts_ms)
