"""The one bridge from the bus to the screen.

Bus events land in a DROP_OLDEST queue (the engine never waits for the screen) and only mark panes
dirty and update small caches (last ticks, recent signals). A Textual timer calls `flush()` about
ten times a second; each dirty pane gets ONE new view model, built from the Control facade's reads,
posted as a ViewChanged message (which also replaces an unprocessed older one for that pane).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual.message import Message

from tradeterm.bus import Bus, Overflow
from tradeterm.control import ATR_PERIOD, Control
from tradeterm.domain import events as ev
from tradeterm.domain.market import Tick
from tradeterm.domain.multipliers import held_terms
from tradeterm.domain.positions import Position
from tradeterm.domain.reconcile import RECONCILE
from tradeterm.domain.signals import Signal
from tradeterm.tui import views as v
from tradeterm.tui.messages import AlertRaised, ViewChanged

log = logging.getLogger(__name__)

MAX_SIGNALS = 200
PANE_MIN_INTERVAL_MS: dict[str, int] = {
    "universe": 250,
    "wallets": 250,
    "risk": 500,
    "allocator": 1_000,
    "stages": 2_000,
}
"""Slowest-changing or busiest panes refresh less often than the flush rate: fifty prices
repainting ten times a second cannot be read, and cost most of the console's CPU. Pending
confirmations, signals and the header keep the full rate."""
TOAST_REPEAT_MS = 10_000
"""The same alert text is shown as a toast at most once in this long."""

# which panes an event makes stale
_DIRTY: dict[str, tuple[str, ...]] = {
    ev.TICK: ("universe",),
    ev.REGIME: ("universe",),
    ev.SIGNAL: ("signals", "universe"),
    ev.ALLOCATION: ("signals",),
    ev.RISK_DECISION: ("signals", "risk"),
    ev.CONFIRMATION: ("confirmations", "signals", "header"),
    ev.ORDER: ("wallets",),
    ev.FILL: ("wallets", "risk"),
    ev.POSITION: ("wallets", "risk"),
    ev.WALLET: ("wallets", "risk", "header"),
    ev.TRADE_CLOSED: ("wallets", "risk", "allocator", "stages"),
    ev.TRADING_STATE: ("header", "risk"),
    ev.STAGE: ("stages", "header", "wallets"),
    ev.DOMAIN_TOGGLE: ("stages", "header"),
    ev.ALLOCATOR_STATE: ("allocator",),
    ev.VENUE_HEALTH: ("header",),
    RECONCILE: ("header",),
    ev.KILL_SWITCH: ("risk", "header", "stages"),
}


class Bridge:
    """Turns bus events into coalesced ViewChanged messages for the app."""

    def __init__(
        self, control: Control, post: Callable[[Message], Any], now_ms: Callable[[], int]
    ) -> None:
        self.control = control
        self._post = post
        self._now_ms = now_ms
        self._dirty: set[str] = {
            "header",
            "universe",
            "wallets",
            "signals",
            "risk",
            "stages",
            "confirmations",
            "allocator",
        }
        self._ticks: dict[str, Tick] = {}
        self._first_price: dict[str, float] = {}
        self._session_ms = 0
        """When the first price of this session arrived (what Chg% is measured from)."""
        self._atr: dict[str, float] = {}
        self._signals: OrderedDict[str, v.SignalRow] = OrderedDict()
        self._decimals: dict[str, int] = {}
        self._toasted: dict[str, int] = {}
        self._own: dict[str, int] = {}
        """Ids the console itself is acting on (ms): their alerts would repeat what the console
        already says about its own action, so they are not toasted again."""
        self._posted_ms: dict[str, int] = {}
        self._last_header_s = -1
        self.flushes = 0
        self.posted = 0

    async def attach(self, bus: Bus) -> None:
        bus.subscribe(
            "*", self.on_event, name="tui.bridge", maxsize=20_000, overflow=Overflow.DROP_OLDEST
        )

    # ---- events: cheap, no view building here ----------------------------------------------------
    def on_event(self, topic: str, msg: Any) -> None:
        panes = _DIRTY.get(topic)
        if panes:
            self._dirty.update(panes)
        if isinstance(msg, Tick):
            self._ticks[msg.key] = msg
            self._first_price.setdefault(msg.key, msg.price)
            self._session_ms = self._session_ms or msg.ts_ms
            if self.control.node.portfolio.positions_on(msg.key):
                self._dirty.add("wallets")
        elif isinstance(msg, Signal):
            self._add_signal(msg)
        elif isinstance(msg, ev.AllocatorDecision):
            self._decide(msg.signal.id, "taken" if msg.taken else "skipped", msg.reason)
        elif isinstance(msg, ev.RiskDecision):
            self._decide(msg.intent.signal.id, msg.verdict.value, msg.reason_text)
        elif isinstance(msg, ev.PendingConfirmation):
            word = "pending" if msg.status.value == "pending" else msg.status.value
            self._decide(msg.intent.signal.id, word, msg.reason or f"confirmation {msg.id}")
        elif isinstance(msg, ev.Alert):
            self._toast(msg)
        elif isinstance(msg, ev.AuditEntry) and not msg.ok and msg.source != "console":
            # the console says the outcome of its own actions itself (one toast per event)
            self._post(AlertRaised("warning", f"{msg.source} {msg.action} refused: {msg.result}"))

    def decimals(self, key: str) -> int:
        """The market's price decimals (looked up once per market)."""
        if key not in self._decimals:
            for m in self.control.markets():
                self._decimals[m.key] = m.decimals
        return self._decimals.get(key, -1)

    def own(self, item_id: str) -> None:
        """The console is acting on `item_id` (a confirmation): it reports the outcome itself."""
        now = self._now_ms()
        self._own = {k: t for k, t in self._own.items() if now - t < TOAST_REPEAT_MS}
        self._own[item_id] = now

    def _toast(self, alert: ev.Alert) -> None:
        """Alerts become toasts, except risk denials (each is already in the signals pane with its
        reason; with 50 markets they would arrive several a second and bury the alerts that
        matter), and except a repeat of the same text within TOAST_REPEAT_MS."""
        if alert.topic == ev.RISK_DECISION and alert.level == "warning":
            return
        now = self._now_ms()
        if any(item in alert.text and now - t < TOAST_REPEAT_MS for item, t in self._own.items()):
            return
        last = self._toasted.get(alert.text)
        if last is not None and now - last < TOAST_REPEAT_MS:
            return
        self._toasted[alert.text] = now
        if len(self._toasted) > 500:
            self._toasted.clear()
        self._post(AlertRaised(alert.level, alert.text))

    def _add_signal(self, s: Signal) -> None:
        self._atr[s.key] = s.atr
        row = v.SignalRow(
            s.id,
            s.ts_ms,
            s.symbol,
            s.strategy,
            s.side.value,
            s.entry,
            s.stop_loss,
            s.take_profit,
            s.reward_risk,
            s.confidence,
            "",
            "",
            self.decimals(s.key),
            s.timeframe,
        )
        self._signals[s.id] = row
        self._signals.move_to_end(s.id, last=False)
        while len(self._signals) > MAX_SIGNALS:
            self._signals.popitem(last=True)

    def _decide(self, signal_id: str, decision: str, reason: str) -> None:
        row = self._signals.get(signal_id)
        if row is not None:
            self._signals[signal_id] = replace(row, decision=decision, reason=reason)

    # ---- flush: at most one view per dirty pane -----------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Called by the app's timer (~10 Hz). Never raises: a failing view is logged and skipped.

        ``force`` posts every dirty pane now, ignoring the per-pane minimum intervals (tests, and
        a screen that must show the latest state at once)."""
        self.flushes += 1
        now = self._now_ms()
        if now // 1000 != self._last_header_s:  # the UTC clock ticks once a second
            self._last_header_s = now // 1000
            self._dirty.update(("header", "confirmations"))
        due = {
            p
            for p in self._dirty
            if force or now - self._posted_ms.get(p, -(10**15)) >= PANE_MIN_INTERVAL_MS.get(p, 0)
        }
        self._dirty -= due  # panes not yet due stay dirty for a later flush
        for pane in sorted(due):
            try:
                view = getattr(self, f"_{pane}_view")(now)
            except Exception:
                log.exception("building the %s view failed", pane)
                continue
            self._posted_ms[pane] = now
            self._post(ViewChanged(pane, view))
            self.posted += 1

    def build(self, pane: str) -> Any:
        """Build one view now (tests, and screens opened between flushes)."""
        return getattr(self, f"_{pane}_view")(self._now_ms())

    def _header_view(self, now: int) -> v.HeaderView:
        st = self.control.status()
        return v.HeaderView(
            wallets=tuple(
                v.WalletBadge(w.wallet.id, w.wallet.mode.value.upper()) for w in st.wallets
            ),
            stage_index=st.stage_index,
            stage_count=st.stage_count,
            stage_name=st.stage_name,
            trading_state=st.trading_state.value.upper(),
            trading_reason=st.trading_reason,
            venues=tuple(
                v.VenueBadge(
                    h.venue,
                    h.connected,
                    (now - h.last_message_ms) / 1000 if h.last_message_ms else float("nan"),
                    h.reconnects,
                    h.detail,
                )
                for h in st.venues
            ),
            pending=len(st.pending),
            orphans=sum(d.halts for d in self.control.reconcile_list()),
            live_enabled=st.live_enabled,
            now_ms=now,
        )

    def _universe_view(self, _now: int) -> v.UniverseView:
        rows = []
        for m in self.control.markets():
            tick = self._ticks.get(m.key)
            last = tick.price if tick else float("nan")
            first = self._first_price.get(m.key)
            change = (last / first - 1.0) * 100.0 if tick and first else 0.0
            atr, bars = self.control.market_atr(m.key)
            rows.append(
                v.MarketRow(
                    m.key,
                    m.venue,
                    m.symbol,
                    last,
                    change,
                    tick.spread if tick else 0.0,
                    atr,
                    self.control.regime_label(m.key),
                    m.arms,
                    m.decimals,
                    bars,
                )
            )
        return v.UniverseView(
            tuple(rows), self.control.regime_timeframe, ATR_PERIOD, self._session_ms
        )

    def _wallets_view(self, now: int) -> v.WalletsView:
        st = self.control.status()
        by_wallet: dict[str, list[v.PositionRow]] = {}
        for p in st.positions:
            mark = self.control.mark(p.key) or p.entry_price
            perp = self.control.perp_margin(p)
            row = v.PositionRow(
                p.key,
                p.symbol,
                p.side.value,
                p.qty,
                p.entry_price,
                mark,
                p.unrealized_pnl(mark),
                p.stop_loss,
                p.take_profit,
                max(0.0, (now - p.opened_ms) / 1000),
                p.strategy,
                self.decimals(p.key),
                *(
                    (
                        perp.leverage,
                        perp.margin_mode,
                        perp.liquidation_price,
                        perp.distance(mark),
                        perp.funding,
                    )
                    if perp is not None
                    else ()
                ),
            )
            by_wallet.setdefault(p.wallet_id, []).append(self._contract_cells(row, p))
        multiplier_venues = {
            i.venue for i in self.control.node.instruments.values() if i.is_multiplier
        }
        wallets = tuple(
            v.WalletView(
                w.wallet.id,
                w.wallet.mode.value.upper(),
                w.wallet.currency,
                w.equity,
                w.wallet.balance,
                w.unrealized_pnl,
                w.wallet.realized_pnl,
                w.daily_pnl,
                w.drawdown,
                w.exposure,
                tuple(sorted(by_wallet.get(w.wallet.id, []), key=lambda r: r.symbol)),
                w.wallet.venue in multiplier_venues,
            )
            for w in st.wallets
        )
        return v.WalletsView(wallets)

    def _contract_cells(self, row: v.PositionRow, p: Position) -> v.PositionRow:
        """A multiplier position's contract columns: id, multiplier, stake, TP/SL in currency
        and the stop-out price (domain/multipliers.py, the venue's own maths)."""
        instrument = self.control.node.instruments.get(p.key)
        if instrument is None or not instrument.is_multiplier or p.margin <= 0:
            return row
        terms = held_terms(
            p.side.sign,
            p.entry_price,
            instrument.multiplier,
            p.margin,
            p.fees,
            p.stop_loss,
            p.take_profit,
        )
        if terms is None:
            return row
        nan = float("nan")
        return replace(
            row,
            contract=p.venue_ref,
            multiplier=terms.multiplier,
            stake=terms.stake,
            tp_amount=terms.take_profit if terms.take_profit is not None else nan,
            sl_amount=terms.stop_loss if terms.stop_loss is not None else nan,
            stop_out=terms.stop_out_price(),
        )

    def _signals_view(self, _now: int) -> v.SignalsView:
        return v.SignalsView(tuple(self._signals.values()))

    def _risk_view(self, now: int) -> v.RiskView:
        gauges = self.control.gauges()
        st = self.control.node.risk
        return v.RiskView(
            trading_state=st.state.value.upper(),
            reason=st.state_reason,
            gauges=tuple(
                v.GaugeView(
                    g.wallet_id,
                    g.daily_loss,
                    g.daily_loss_cap,
                    g.drawdown,
                    g.kill_level,
                    g.portfolio_exposure,
                    g.portfolio_cap,
                    tuple(sorted(g.pair_exposure.items())),
                    g.pair_cap,
                    g.canary,
                    g.tripped,
                )
                for g in gauges
            ),
            cooldowns=tuple(sorted(self.control.cooldowns().items())),
            now_ms=now,
        )

    def _stages_view(self, _now: int) -> v.StageView:
        st = self.control.status()
        report = self.control.gate_report()
        stages = tuple(
            v.StageRow(
                i,
                s.name,
                s.description,
                tuple((d.value, m) for d, m in s.domains.items() if m != "off"),
                i == st.stage_index,
            )
            for i, s in enumerate(self.control.stages(), start=1)
        )
        gates = tuple(
            v.GateRow(
                d.domain.value,
                c.name,
                c.value,
                c.threshold,
                c.at_most,
                c.passed,
                c.text().strip(),  # the domain is its own field: panes prefix it
            )
            for d in report.domains
            for c in d.checks
        )
        domains = tuple(
            v.DomainRow(d.domain.value, d.mode, d.enabled, d.available) for d in st.domains
        )
        return v.StageView(
            st.stage_index, stages, gates, report.ready, report.text(), domains, st.live_enabled
        )

    def _confirmations_view(self, _now: int) -> v.ConfirmationsView:
        rows = []
        for c in self.control.node.execution.pending():
            s = c.intent.signal
            d = c.decision
            rows.append(
                v.ConfirmationRow(
                    c.id,
                    c.intent.wallet_id,
                    s.symbol,
                    s.side.value,
                    d.qty,
                    s.entry,
                    s.stop_loss,
                    s.take_profit,
                    s.reward_risk,
                    s.strategy,
                    c.created_ms,
                    c.expires_ms,
                    d.reason_text,
                    d.notional,
                    d.risk_amount,
                    c.intent.explore,
                    d.canary,
                    self.decimals(s.key),
                    s.timeframe,
                    self.control.mark(s.key) or float("nan"),
                    _costs(d.costs),
                )
            )
        return v.ConfirmationsView(tuple(sorted(rows, key=lambda r: r.expires_ms)))

    def _allocator_view(self, _now: int) -> v.AllocatorView:
        state = self.control.allocator_state()
        arms = tuple(
            v.ArmRow(a.arm, a.mean, a.sd, a.pulls, float(a.trades), a.win_rate, a.payoff, a.value)
            for a in state.arms
        )
        regimes = tuple(
            (m.symbol, label)
            for m in self.control.markets()
            if (label := self.control.regime_label(m.key))
        )
        return v.AllocatorView(
            state.exploration,
            state.learning,
            arms,
            self.control.chop_exploration(),
            regimes,
            self.control.regime_timeframe,
        )


def _costs(costs: ev.DecisionCosts | None) -> v.ConfirmationCosts | None:
    """The gate's ex-ante costs as the confirmation views show them."""
    if costs is None:
        return None
    return v.ConfirmationCosts(
        costs.expected_entry,
        costs.fees,
        costs.spread,
        costs.slippage,
        costs.funding,
        costs.total,
        costs.cost_r,
        costs.net_reward_risk,
    )
