"""The risk engine: every order intent is priced, sized and checked here, and nothing bypasses it.

It owns the trading state (see `state.py`), remembers what closed trades taught it (`memory.py`)
and runs the per-wallet drawdown kill switch (`killswitch.py`). Every verdict is a
`RiskDecision` with its reasons and the costs it expected; a denial is an event, never an
exception.

Order of evaluation in `evaluate` (the first failure is the first reason):
 1. trading state: HALTED (node-wide or the wallet's own kill switch) denies everything,
    REDUCING denies entries
 2. the wallet exists, the instrument is known, a spot market is not shorted, a price is known
 3. pricing at the current quote (`pricing.py`): expected entry, stop and target fills and the
    round trip's costs (fees by maker/taker and contract size, spread, slippage, funding)
 4. gates, every failure collected: signal consistency -> the entry fills between its stop and
    its target -> the stop is at least `min_stop_cost_multiple` round-trip costs away ->
    reward:risk net of costs >= min_reward_risk -> stop width <= max_stop_atr x ATR -> weekend
    cut-off -> daily loss cap -> per-symbol daily loss cap -> arm cooldown -> max open positions
    (working entries and pending confirmations count)
 5. sizing: the smaller of the notional size (position_size of equity; canary size for canary
    wallets and exploration) and the money-at-risk size (max_risk_per_trade of equity over the
    net risk per unit), Kelly-capped, volatility-targeted when configured
 6. caps, each may only shrink the size: pair exposure -> portfolio exposure -> leverage ->
    wallet balance (margin + entry fee); working entries and pending confirmations count as
    exposure; then no martingale on the final money at risk (after a loss, an arm risks no more
    than the losing trade did, that UTC day)
 7. round down to the lot step; below the venue minimums denies
Verdict: APPROVED when nothing shrank the size, RESIZED (with the notes) when a cap did.
Exits and flatten orders never come here: they are reduce-only and exempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import RiskConfig
from tradeterm.domain.calendar import parse_weekly_cutoff
from tradeterm.domain.costs import CostModel, TradeEconomics
from tradeterm.domain.enums import ContractKind, RiskVerdict, Side, TradingState
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
    DecisionCosts,
    KillSwitchTripped,
    OrderIntent,
    RiskDecision,
    TradingStateChanged,
    WalletSnapshot,
)
from tradeterm.domain.ids import stable_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.positions import Position
from tradeterm.domain.wallets import Wallet
from tradeterm.risk import limits
from tradeterm.risk.gauges import RiskGauges
from tradeterm.risk.killswitch import KillSwitch
from tradeterm.risk.memory import TradeMemory
from tradeterm.risk.pricing import EntryPricing, price_entry
from tradeterm.risk.sizing import entry_qty, kelly_fraction, kelly_risk_fraction, vol_target_qty
from tradeterm.risk.state import EffectiveState, TradingStates

log = logging.getLogger(__name__)


class PortfolioView(Protocol):
    """What the risk engine reads from the portfolio (satisfied by `Portfolio`)."""

    def wallet(self, wallet_id: str) -> Wallet | None: ...
    def positions(self, wallet_id: str | None = None) -> list[Position]: ...
    def mark(self, key: str) -> float | None: ...
    def quote(self, key: str) -> Tick | None: ...
    def equity(self, wallet_id: str) -> float: ...
    def snapshot(self, wallet_id: str) -> WalletSnapshot: ...


class StorageHealthView(Protocol):
    """Whether state can be written (tradeterm/storage/health.py; issue 9)."""

    @property
    def degraded(self) -> bool: ...
    @property
    def reason(self) -> str: ...


class CanaryView(Protocol):
    """Whether a wallet is a canary: a newly live domain trading at the reduced size."""

    def is_canary(self, wallet_id: str) -> bool: ...


class Commitment(Protocol):
    """Exposure promised but not yet held: a working entry order or a pending confirmation.
    `notional` and `margin` are money; `decision_id` is the risk decision it came from."""

    @property
    def key(self) -> str: ...
    @property
    def notional(self) -> float: ...
    @property
    def margin(self) -> float: ...
    @property
    def decision_id(self) -> str: ...


class CommitmentsView(Protocol):
    """Working entries and pending confirmations of a wallet (the execution engine)."""

    def commitments(self, wallet_id: str) -> Sequence[Commitment]: ...


CostModels = Callable[[Instrument], CostModel]


def default_cost_model(instrument: Instrument) -> CostModel:
    """Costs when no venue says otherwise: the default fill model's fees and slippage, the
    instrument's typical spread and contract size (perpetuals: the usual 0.01% funding)."""
    perp = instrument.kind is ContractKind.PERPETUAL
    return CostModel(
        half_spread=instrument.half_spread,
        funding_rate_8h=0.0001 if perp else 0.0,
        contract_size=instrument.contract_size,
    )


@dataclass(frozen=True, slots=True)
class EntryOrderStyle:
    """How entries are placed (ExecutionConfig): the gate prices a limit entry as a maker."""

    entry_order: str = "market"
    limit_offset_bps: float = 2.0
    stale_tolerance_bps: float = 25.0


@dataclass(slots=True)
class _Exposure:
    """A wallet's exposure in money: on one market, in total, and the cash or margin tied up;
    `keys` are the markets held or committed (for the open-position count)."""

    pair: float
    total: float
    tied: float
    keys: set[str]


class RiskEngine:
    """Prices, sizes and checks every intent; owns the trading state and the kill switch."""

    def __init__(
        self,
        config: RiskConfig,
        clock: Clock,
        portfolio: PortfolioView,
        instruments: Mapping[str, Instrument],
        *,
        canary: CanaryView | None = None,
        cost_model: CostModels | None = None,
        orders: EntryOrderStyle | None = None,
    ) -> None:
        self._cfg = config
        self._clock = clock
        self._portfolio = portfolio
        self._instruments = instruments
        self._canary = canary
        self._cost_model = cost_model or default_cost_model
        self._orders = orders or EntryOrderStyle()
        self._cutoff_minute = parse_weekly_cutoff(config.weekend_cutoff_utc)
        self._states = TradingStates()
        self._memory = TradeMemory(config)
        self._kill = KillSwitch(config.max_drawdown)
        self._bus: Bus | None = None
        self.commitments: CommitmentsView | None = None
        """Working entries and pending confirmations (set by the node once execution exists)."""
        self.on_change: Callable[[], None] | None = None
        """Called after every change of the trading state or the kill switch, so the node can
        persist it at once (a crash right after a trip must restart HALTED)."""
        self.storage_health: StorageHealthView | None = None
        """Set by the node: while state cannot be written, entries are refused (issue 9)."""

    # ---- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> TradingState:
        """The node-wide state: ACTIVE trades; REDUCING takes no new entries; HALTED nothing."""
        return self._states.state

    @property
    def state_reason(self) -> str:
        return self._states.reason

    def state_for(self, wallet_id: str) -> EffectiveState:
        """A wallet's effective state: the node-wide one, or HALTED by its own kill switch."""
        return self._states.effective(wallet_id)

    def halted_wallets(self) -> dict[str, str]:
        """Wallets halted by their own kill switch -> why."""
        return self._states.halted_wallets()

    @property
    def max_hold_ms(self) -> int:
        """How long a position may be held before the monitor closes it."""
        return round(self._cfg.max_hold_minutes * 60_000)

    @property
    def weekend_cutoff_minute(self) -> int | None:
        """The weekly cut-off (minutes after Monday 00:00 UTC) when weekend-carry avoidance is
        on; None when it is off."""
        return self._cutoff_minute if self._cfg.avoid_weekend_carry else None

    def cost_model(self, instrument: Instrument) -> CostModel:
        """The cost model the gate prices entries on this instrument with."""
        return self._cost_model(instrument)

    def set_state(
        self, state: TradingState, reason: str, source: str
    ) -> TradingStateChanged | None:
        """Change the node-wide state; None when unchanged or refused. Only an operator (any
        `source` but "risk") may leave HALTED; doing so also lifts every wallet's halt and
        re-arms the kill switch from each tripped wallet's equity now."""
        halted_before = list(self._states.halted_wallets())
        previous = self._states.set(state, reason, source)
        if previous is None:
            return None
        if previous is TradingState.HALTED:
            self._kill.rearm(halted_before, self._portfolio.equity)
        self._changed()
        return TradingStateChanged(state, previous, reason, self._clock.now_ms(), source)

    def resume_wallets(self, source: str) -> list[TradingStateChanged]:
        """Lift every wallet halted by its kill switch (operator resume); re-arms them."""
        changes = []
        halted = self._states.resume_wallets()
        self._kill.rearm(halted, self._portfolio.equity)
        now = self._clock.now_ms()
        for wallet_id in halted:
            changes.append(
                TradingStateChanged(
                    self._states.state,
                    TradingState.HALTED,
                    f"resumed by {source}",
                    now,
                    source,
                    scope=wallet_id,
                )
            )
        if changes:
            self._changed()
        return changes

    async def change_state(
        self, state: TradingState, reason: str, source: str
    ) -> TradingStateChanged | None:
        """`set_state`, then publish the change on TRADING_STATE (when attached to a bus)."""
        change = self.set_state(state, reason, source)
        if change is not None and self._bus is not None:
            await self._bus.publish(TRADING_STATE, change)
        return change

    async def resume(self, source: str) -> list[TradingStateChanged]:
        """The operator's resume: node-wide ACTIVE and every wallet halt lifted; each change is
        published on TRADING_STATE."""
        changes: list[TradingStateChanged] = []
        change = self.set_state(TradingState.ACTIVE, f"resumed by {source}", source)
        if change is not None:
            changes.append(change)
        changes.extend(self.resume_wallets(source))
        if self._bus is not None:
            for item in changes:
                await self._bus.publish(TRADING_STATE, item)
        return changes

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("risk: persisting the trading state failed")

    # ---- decisions -----------------------------------------------------------------------------
    def evaluate(self, intent: OrderIntent) -> RiskDecision:
        """Price, size and check an intent. Never raises for a denial: the verdict says why."""
        return self._evaluate(intent, "", "")

    def recheck(self, decision: RiskDecision) -> RiskDecision:
        """Decide an approved intent again when the operator confirms it: a price that moved more
        than the stale tolerance from the entry denies it; otherwise every rule runs again at
        current prices (its own pending confirmation does not count against its caps)."""
        intent = decision.intent
        signal = intent.signal
        instrument = self._instruments.get(signal.key)
        decimals = instrument.price_decimals if instrument is not None else 2
        stale = limits.check_stale(
            signal.entry,
            self._portfolio.mark(signal.key),
            self._orders.stale_tolerance_bps,
            decimals,
        )
        now = self._clock.now_ms()
        if stale is not None:
            return self._deny(intent, now, [stale], "recheck", recheck_of=decision.id)
        return self._evaluate(intent, "recheck", decision.id)

    def redecide(
        self, intent: OrderIntent, previous_id: str, salt: str = "restart"
    ) -> RiskDecision:
        """Decide an intent again from scratch (an entry restored after a restart), under the
        restored state and at current prices; its own working order does not count."""
        return self._evaluate(intent, salt, previous_id)

    def check_adoption(
        self, wallet_id: str, key: str, side: Side, qty: float, price: float
    ) -> str | None:
        """Why a position found at the venue may not be adopted into a wallet (None: it fits).
        Adoption takes on exposure like an entry does, so the same limits apply: the market is
        known and may be held that way, and the pair and portfolio exposure caps, the leverage
        cap and the wallet's balance (margin) hold with it (replacing what we hold on `key`)."""
        instrument = self._instruments.get(key)
        if instrument is None:
            return f"unknown instrument {key}"
        short = limits.check_shortable(instrument, side)
        if short is not None:
            return short
        wallet = self._portfolio.wallet(wallet_id)
        if wallet is None:
            return f"no wallet {wallet_id}"
        equity = self._portfolio.equity(wallet_id)
        exposure = self._exposure(wallet_id, key, "")
        replaced = next((p for p in self._portfolio.positions(wallet_id) if p.key == key), None)
        leverage = self._leverage_limit(instrument)
        if replaced is not None:
            mark = self._portfolio.mark(key) or replaced.entry_price
            held = abs(replaced.qty) * mark * replaced.contract_size
            exposure.pair -= held
            exposure.total -= held
            exposure.tied -= abs(replaced.notional) / leverage
        notional = qty * price * instrument.contract_size
        cfg = self._cfg
        rules = (
            (exposure.pair, cfg.max_pair_exposure * equity, f"pair exposure cap on {key}"),
            (exposure.total, cfg.max_portfolio_exposure * equity, "portfolio exposure cap"),
            (exposure.total, leverage * equity, f"leverage cap {leverage:g}x"),
        )
        for used, limit, label in rules:
            if used + notional > limit * (1 + 1e-9):
                return (
                    f"{label}: adopting notional {notional:.2f} would make {used + notional:.2f} "
                    f"> limit {limit:.2f} (equity {equity:.2f})"
                )
        if exposure.tied + notional / leverage > wallet.balance * (1 + 1e-9):
            return (
                f"balance: adopting needs {notional / leverage:.2f} of margin, free "
                f"{wallet.balance - exposure.tied:.2f}"
            )
        return None

    def check_stop_change(self, position: Position, new_stop: float) -> str | None:
        """Why a stop move is refused (widening), or None when allowed (tightening)."""
        instrument = self._instruments.get(position.key)
        decimals = instrument.price_decimals if instrument is not None else 2
        return limits.check_stop_change(position.side, position.stop_loss, new_stop, decimals)

    def _evaluate(self, intent: OrderIntent, salt: str, previous: str) -> RiskDecision:
        now = self._clock.now_ms()
        signal = intent.signal
        effective = self._states.effective(intent.wallet_id)
        blocked = limits.check_trading_state(effective.state, effective.reason, effective.scope)
        if blocked is not None:
            return self._deny(intent, now, [blocked], salt, recheck_of=previous)
        # ---- storage DEGRADED (issue 9): no new entry while state cannot be written ----
        health = self.storage_health
        if health is not None and health.degraded:
            why = f"storage DEGRADED ({health.reason}): no new entries until writes work"
            return self._deny(intent, now, [why], salt, recheck_of=previous)
        wallet = self._portfolio.wallet(intent.wallet_id)
        if wallet is None:
            why = f"no wallet {intent.wallet_id} (domain not active)"
            return self._deny(intent, now, [why], salt, recheck_of=previous)
        instrument = self._instruments.get(signal.key)
        if instrument is None:
            why = f"unknown instrument {signal.key}"
            return self._deny(intent, now, [why], salt, recheck_of=previous)
        early = limits.check_signal_consistency(signal) or limits.check_shortable(
            instrument, signal.side
        )
        quote = self._portfolio.quote(signal.key)
        if early is None and (quote is None or not quote.price > 0.0):
            early = f"no current price for {signal.key}"
        if early is not None or quote is None:
            return self._deny(intent, now, [early or "no price"], salt, recheck_of=previous)
        model = self._cost_model(instrument)
        offset = self._orders.limit_offset_bps if self._orders.entry_order == "limit" else None
        pricing = price_entry(
            signal,
            instrument,
            model,
            quote,
            limit_offset_bps=offset,
            hold_hours=self._cfg.funding_hold_hours,
        )
        equity = self._portfolio.equity(intent.wallet_id)
        exposure = self._exposure(intent.wallet_id, signal.key, previous)
        reasons = self._gates(intent, wallet, instrument, pricing, equity, exposure, now)
        if reasons:
            costs = pricing.costs_for(0.0, signal, model)
            return self._deny(intent, now, reasons, salt, recheck_of=previous, costs=costs)
        if equity <= 0.0:
            why = f"wallet equity {equity:.2f}: nothing to risk"
            return self._deny(intent, now, [why], salt, recheck_of=previous)
        return self._size(
            intent, wallet, instrument, model, pricing, equity, exposure, now, salt, previous
        )

    def _gates(
        self,
        intent: OrderIntent,
        wallet: Wallet,
        instrument: Instrument,
        pricing: EntryPricing,
        equity: float,
        exposure: _Exposure,
        now: int,
    ) -> list[str]:
        cfg = self._cfg
        signal = intent.signal
        key = signal.key
        decimals = instrument.price_decimals
        econ = pricing.econ
        day_start = wallet.day_start_equity or equity
        held = {p.key for p in self._portfolio.positions(wallet.id)}
        gross = signal.reward_risk
        checks = (
            limits.check_fill_side(econ, signal, decimals),
            limits.check_stop_cost(econ, cfg.min_stop_cost_multiple, decimals),
            limits.check_reward_risk(econ.reward_risk, gross, cfg.min_reward_risk),
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
            if key in held
            else limits.check_open_positions(len(exposure.keys), cfg.max_open_positions),
        )
        return [reason for reason in checks if reason is not None]

    def _size(
        self,
        intent: OrderIntent,
        wallet: Wallet,
        instrument: Instrument,
        model: CostModel,
        pricing: EntryPricing,
        equity: float,
        exposure: _Exposure,
        now: int,
        salt: str,
        previous: str,
    ) -> RiskDecision:
        cfg = self._cfg
        signal = intent.signal
        econ = pricing.econ
        canary = intent.explore or (
            self._canary is not None and self._canary.is_canary(intent.wallet_id)
        )
        position_fraction = cfg.canary_position_size if canary else cfg.position_size
        risk_fraction = cfg.canary_max_risk_per_trade if canary else cfg.max_risk_per_trade
        notes: list[str] = []
        risk_fraction, denial = self._kelly(intent, risk_fraction, notes)
        if denial is not None:
            return self._deny(intent, now, [denial], salt, canary=canary, recheck_of=previous)
        size = instrument.contract_size
        unit_risk = econ.risk
        if instrument.is_multiplier:  # a multiplier loses at most its stake (stop-out)
            unit_risk = min(unit_risk, econ.entry * size / instrument.multiplier)
        qty = entry_qty(equity, position_fraction, risk_fraction, econ.entry, unit_risk, size)
        if cfg.sizing == "vol_target":
            qty = min(
                qty,
                vol_target_qty(equity, cfg.vol_target_annual, signal.atr, signal.timeframe, size),
            )
        qty = self._apply_caps(
            intent, instrument, model, wallet, equity, exposure, econ, qty, notes
        )
        if qty <= 0.0:
            reasons = notes[-1:] + notes[:-1] or ["size 0: nothing to risk"]
            return self._deny(intent, now, reasons, salt, canary=canary, recheck_of=previous)
        minimum = limits.check_venue_minimum(instrument, qty, econ.entry)
        if minimum is not None:
            return self._deny(
                intent, now, [minimum, *notes], salt, canary=canary, recheck_of=previous
            )
        lot_qty = instrument.floor_qty(qty)
        risk_amount = lot_qty * unit_risk
        return RiskDecision(
            id=_decision_id(intent, now, salt),
            intent=intent,
            verdict=RiskVerdict.RESIZED if notes else RiskVerdict.APPROVED,
            qty=lot_qty,
            notional=lot_qty * econ.entry * size,
            risk_amount=risk_amount,
            risk_fraction=risk_amount / equity,
            reasons=tuple(notes),
            ts_ms=now,
            canary=canary,
            costs=pricing.costs_for(lot_qty, signal, model),
            recheck_of=previous,
        )

    def _kelly(
        self, intent: OrderIntent, fraction: float, notes: list[str]
    ) -> tuple[float, str | None]:
        """The money-at-risk fraction after the Kelly cap, or a denial when the arm shows no
        edge (win rate and payoff measured in net R)."""
        cap = self._cfg.kelly_fraction_cap
        capped = kelly_risk_fraction(
            fraction, intent.arm_trades, intent.win_rate, intent.payoff, cap, intent.explore
        )
        if capped < 0.0:
            f_star = kelly_fraction(intent.win_rate, intent.payoff)
            return fraction, limits.check_kelly_edge(
                intent.win_rate, intent.payoff, f_star, intent.arm_trades
            )
        if capped >= fraction:
            return fraction, None
        f_star = kelly_fraction(intent.win_rate, intent.payoff)
        notes.append(
            f"kelly cap: risk {limits.pct(fraction)} -> {limits.pct(capped)} "
            f"({self._cfg.kelly_fraction_cap:g} x f* {f_star:.3f})"
        )
        return capped, None

    def _apply_caps(
        self,
        intent: OrderIntent,
        instrument: Instrument,
        model: CostModel,
        wallet: Wallet,
        equity: float,
        exposure: _Exposure,
        econ: TradeEconomics,
        qty: float,
        notes: list[str],
    ) -> float:
        """Shrink `qty` through every resizing rule in order, noting each one that binds; the
        no-martingale limit on money at risk comes last, on the final size."""
        cfg = self._cfg
        signal = intent.signal
        unit_notional = econ.entry * instrument.contract_size
        leverage = self._leverage_limit(instrument)
        entry_fee = unit_notional * model.taker_fee_rate
        # cash an entry takes: a multiplier's stake (notional / multiplier), else the margin
        cash_rate = instrument.multiplier if instrument.is_multiplier else leverage
        caps = (
            (unit_notional, exposure.pair, cfg.max_pair_exposure * equity,
             f"pair exposure cap {limits.pct(cfg.max_pair_exposure)} on {signal.key}", "notional "),
            (unit_notional, exposure.total, cfg.max_portfolio_exposure * equity,
             f"portfolio exposure cap {limits.pct(cfg.max_portfolio_exposure)}", "notional "),
            (unit_notional, exposure.total, leverage * equity,
             f"leverage cap {leverage:g}x", "notional "),
            (unit_notional / cash_rate + entry_fee, exposure.tied, wallet.balance,
             "balance (margin + fee)", "needs "),
        )  # fmt: skip
        for per_unit, used, limit, label, unit in caps:
            bound = limits.cap(qty, per_unit, used, limit, label, unit)
            if bound is not None:
                notes.append(bound.note)
                qty = bound.max_qty
        last = self._memory.martingale_limit(intent.arm, self._clock.now_ms())
        if last is not None:
            bound = limits.cap(
                qty,
                econ.risk,
                0.0,
                last,
                f"no martingale (the last trade on {intent.arm} lost)",
                "risk ",
            )
            if bound is not None:
                notes.append(bound.note)
                qty = bound.max_qty
        return qty

    def _exposure(self, wallet_id: str, key: str, exclude: str) -> _Exposure:
        """Open positions at their marks, plus working entries and pending confirmations (all
        but those of decision `exclude`, the one being decided again)."""
        pair = total = tied = 0.0
        keys: set[str] = set()
        for position in self._portfolio.positions(wallet_id):
            mark = self._portfolio.mark(position.key) or position.entry_price
            notional = abs(position.qty) * mark * position.contract_size
            total += notional
            if position.key == key:
                pair += notional
            instrument = self._instruments.get(position.key)
            leverage = self._leverage_limit(instrument) if instrument is not None else 1.0
            if position.margin <= 0.0:  # a multiplier's stake has left the balance already
                tied += abs(position.notional) / leverage
            keys.add(position.key)
        if self.commitments is not None:
            for promise in self.commitments.commitments(wallet_id):
                if exclude and promise.decision_id in (exclude,):
                    continue
                total += promise.notional
                tied += promise.margin
                if promise.key == key:
                    pair += promise.notional
                keys.add(promise.key)
        return _Exposure(pair, total, tied, keys)

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
        recheck_of: str = "",
        costs: DecisionCosts | None = None,
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
            costs=costs,
            recheck_of=recheck_of,
        )

    # ---- what closed trades and wallets teach ---------------------------------------------------
    def on_trade_closed(self, trade: ClosedTrade) -> None:
        """Update loss streaks (and start a cooldown), the no-martingale memory and the symbol's
        realised PnL today."""
        self._memory.on_trade_closed(trade, self._clock.now_ms())

    def on_wallet(self, snapshot: WalletSnapshot) -> KillSwitchTripped | None:
        """The drawdown kill switch: trips once per wallet at `max_drawdown` and HALTs it."""
        tripped = self._trip(snapshot)
        return tripped[0] if tripped is not None else None

    def _trip(
        self, snapshot: WalletSnapshot
    ) -> tuple[KillSwitchTripped, TradingStateChanged | None] | None:
        wallet = snapshot.wallet
        drawdown = self._kill.should_trip(wallet, snapshot.equity)
        if drawdown is None:
            return None
        limit = self._cfg.max_drawdown
        reason = f"kill switch: drawdown {limits.pct(drawdown)} >= {limits.pct(limit)}"
        now = self._clock.now_ms()
        change = None
        if self._states.halt_wallet(wallet.id, reason):
            previous = self._states.state
            change = TradingStateChanged(
                TradingState.HALTED, previous, reason, now, "risk", scope=wallet.id
            )
        self._changed()  # stored before anyone hears of it
        log.warning("risk: %s on %s; %s HALTED", reason, wallet.id, wallet.id)
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
        total = committed = 0.0
        if wallet is not None:
            if wallet.day_start_equity > 0:
                daily_loss = max(0.0, 1.0 - equity / wallet.day_start_equity)
            drawdown = self._kill.drawdown(wallet, equity)
            for position in self._portfolio.positions(wallet_id):
                mark = self._portfolio.mark(position.key) or position.entry_price
                notional = abs(position.qty) * mark * position.contract_size
                by_key[position.key] = by_key.get(position.key, 0.0) + notional
                total += notional
            if self.commitments is not None:
                committed = sum(c.notional for c in self.commitments.commitments(wallet_id))
        scale = 1.0 / equity if equity > 0 else 0.0
        effective = self._states.effective(wallet_id)
        return RiskGauges(
            wallet_id=wallet_id,
            state=effective.state,
            state_reason=effective.reason,
            daily_loss=daily_loss,
            daily_loss_cap=cfg.daily_loss_cap,
            drawdown=drawdown,
            kill_level=cfg.max_drawdown,
            tripped=self._kill.is_tripped(wallet_id),
            pair_exposure={key: value * scale for key, value in by_key.items()},
            pair_cap=cfg.max_pair_exposure,
            portfolio_exposure=total * scale,
            portfolio_cap=cfg.max_portfolio_exposure,
            cooldowns=self.cooldowns(),
            canary=self._canary is not None and self._canary.is_canary(wallet_id),
            committed_exposure=committed * scale,
            halted_wallets=self._states.halted_wallets(),
        )

    # ---- persistence ---------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """Everything the engine has learnt, as JSON-safe data (the node stores it in meta)."""
        data = self._memory.export()
        data.update(self._kill.export())
        data.update(self._states.export())
        return data

    def import_state(self, data: dict[str, Any]) -> None:
        """Restore what `export_state` saved (missing keys keep their defaults)."""
        self._states.load(data)
        self._memory.load(data)
        self._kill.load(data)

    # ---- bus -----------------------------------------------------------------------------------
    async def attach(self, bus: Bus) -> None:
        """INTENT -> RISK_DECISION (+ ALERT on a denial); TRADE_CLOSED -> memory; WALLET -> kill
        switch -> TRADING_STATE (the wallet's), KILL_SWITCH and a critical ALERT."""
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
            f"{limits.pct(kill.limit)}; {kill.wallet_id} HALTED"
            + ("; flattening" if kill.flatten else "")
        )
        await self._bus.publish(ALERT, Alert("critical", text, kill.ts_ms, KILL_SWITCH))


def _decision_id(intent: OrderIntent, ts_ms: int, salt: str) -> str:
    """`rd-` + a digest of the intent and time (a recheck adds a salt so ids never collide)."""
    if salt:
        return "rd-" + stable_id(intent.id, ts_ms, salt)
    return "rd-" + stable_id(intent.id, ts_ms)
