"""The backtrader peer: the same strategy and the same decisions, executed by backtrader's
Cerebro, so users can check tradeterm against the tool they know.

Backtrader is the broker, the clock and the ledger; tradeterm's own allocator (method "all"),
risk engine and position monitor make every decision, as they do in the node:
- the data is the replay feed's tick path (four one-price bars per bar: open, the extreme
  visited first, the other extreme, the close), so backtrader's orders see the prices ours see;
- a bar's signal is decided on the next bar's open (`next_open`, cheat-on-open) and entered
  with a market bracket: the stop-market and the take-profit limit rest from the next tick on,
  one cancelling the other;
- fees are the taker rate on every fill (backtrader has one commission per instrument),
  slippage is the fill model's, on every market and stop fill;
- the position monitor (max hold, time stop, weekend) closes at market on the tick it decides;
  wallet marks feed the kill switch, which flattens on the next tick.

Rules backtrader cannot express, left out here (see `LEFT_OUT`); the parity test names them
and compares only what remains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeterm.allocator.engine import Allocator
from tradeterm.backtest.plan import VENUE, RunPlan, data_warnings, plan_run
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.clock import SimClock
from tradeterm.domain.enums import Domain, Side, WalletMode
from tradeterm.domain.events import ClosedTrade, RiskDecision, WalletSnapshot
from tradeterm.domain.ids import signal_id, stable_id
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan
from tradeterm.domain.positions import Position, linear_pnl
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet, wallet_id
from tradeterm.errors import UserError
from tradeterm.execution.monitor import ExitCall, PositionMonitor
from tradeterm.portfolio.wallets import mark_equity, open_wallet
from tradeterm.risk.engine import RiskEngine
from tradeterm.strategies.runner import vector_signals
from tradeterm.venues.sim.generators import decimals_of
from tradeterm.venues.sim.tape import QuoteRule

if TYPE_CHECKING:
    from tradeterm.backtest.engines import BacktestRequest

log = logging.getLogger(__name__)

LEFT_OUT: tuple[str, ...] = (
    "bid/ask: backtrader fills at the price (slipped), ours at the touch one tick away",
    "maker fee: backtrader charges the taker rate on take-profit fills too",
    "a take profit the price jumps through fills at the jumped price in backtrader, at its "
    "limit in ours",
    "a stop or target filled on a bar's open tick frees the symbol for that bar's signal in "
    "ours; backtrader decides the signal (and the monitor its exits) before it matches the "
    "resting orders of that tick",
    "the arm's record behind the Kelly cap: it learns from the fill prices above, so the "
    "comparison runs with allocator learning off",
    "protective orders rest from the tick after the entry in backtrader (ours check the entry "
    "tick too)",
    "the monitor's second line (a breach outliving the stop grace) and trailing stops",
    "funding payments of perpetuals",
    "the kill switch flattens on the tick after it trips (ours on the same tick)",
)
"""What the peer does not reproduce, in the words the parity test prints."""


@dataclass
class _Held:
    """The open position as our portfolio would hold it, with the decision that opened it."""

    position: Position
    plan: EntryPlan
    decision: RiskDecision
    orders: list[Any] = field(default_factory=list)
    closing: str = ""
    entry_bar: int = 0


class _BrokerView:
    """The risk engine's PortfolioView over the peer's book (PnL accounting as the Portfolio
    keeps it: the balance moves by fees and realised PnL)."""

    def __init__(self, wallet: Wallet, key: str) -> None:
        self.wallet_state = wallet
        self.key = key
        self.held: _Held | None = None
        self.tick: Tick | None = None

    def wallet(self, wallet_id: str) -> Wallet | None:
        return self.wallet_state if wallet_id == self.wallet_state.id else None

    def positions(self, wallet_id: str | None = None) -> list[Position]:
        return [self.held.position] if self.held is not None else []

    def mark(self, key: str) -> float | None:
        return self.tick.price if self.tick is not None and key == self.key else None

    def quote(self, key: str) -> Tick | None:
        return self.tick if key == self.key else None

    def equity(self, wallet_id: str) -> float:
        eq = self.wallet_state.balance
        if self.held is not None and self.tick is not None:
            eq += self.held.position.unrealized_pnl(self.tick.price)
        return eq

    def snapshot(self, wallet_id: str) -> WalletSnapshot:
        equity = self.equity(wallet_id)
        now = self.tick.ts_ms if self.tick is not None else self.wallet_state.updated_ms
        self.wallet_state, _ = mark_equity(self.wallet_state, equity, now)
        return WalletSnapshot(
            wallet=self.wallet_state,
            equity=equity,
            unrealized_pnl=equity - self.wallet_state.balance,
            exposure=0.0,
            exposure_by_symbol={},
            open_positions=1 if self.held is not None else 0,
            drawdown=0.0,
            daily_pnl=equity - self.wallet_state.day_start_equity,
            ts_ms=now,
        )


class PeerRun:
    """One backtest through backtrader (see the module text)."""

    def __init__(self, plan: RunPlan) -> None:
        if len(plan.symbols) != 1:
            raise UserError("the backtrader peer runs one symbol at a time")
        self.plan = plan
        self.symbol = plan.symbols[0]
        self.key = plan.key(self.symbol)
        self.bars = plan.bars[self.symbol]
        req = plan.request
        self.clock = SimClock(plan.t0)
        self.wallet_id = wallet_id(WalletMode.PAPER, req.domain)
        wallet = open_wallet(
            WalletMode.PAPER, req.domain, req.initial_cash, currency="USD", now_ms=plan.t0
        )
        self.view = _BrokerView(wallet, self.key)
        instruments = {self.key: plan.instruments[self.symbol]}
        self.instrument = plan.instruments[self.symbol]
        self.risk = RiskEngine(
            plan.risk,
            self.clock,
            self.view,
            instruments,
            cost_model=lambda _i: plan.costs[self.symbol],
        )
        self.allocator = Allocator(
            req.config.allocator.model_copy(update={"method": "all"}),
            self.clock,
            route=lambda domain, explore: self.wallet_id,
            open_count=lambda key: 1 if self.view.held is not None else 0,
            domain_of=lambda key: req.domain if key == self.key else None,
            regime_timeframe=plan.timeframe,
        )
        self.monitor = PositionMonitor(plan.execution, plan.risk, instruments)
        tick = plan.sources[self.symbol].tick_size
        self.quote_rule = QuoteRule(tick, decimals_of(tick))
        self.frame = vector_signals(plan.strategy, plan.params, self.bars, timeframe=plan.timeframe)
        self.trades: list[BacktestTrade] = []
        self.equity = np.full(plan.axis.shape[0], req.initial_cash, dtype=np.float64)
        self.fees = 0.0
        self._ticks = self._tick_table()
        self._day = plan.t0 // 86_400_000
        self._flatten = False

    # ---- the data: the replay feed's ticks as one-price bars ---------------------------------
    def _tick_table(self) -> np.ndarray:  # type: ignore[type-arg]
        """Rows (bar, phase, ts, price) of every tick from the first tradeable bar on, plus one
        closing tick 1 ms after the last (so orders placed on the last tick can fill)."""
        bars = self.bars
        first = int(np.searchsorted(bars.open_ms, self.plan.t0, side="left"))
        quarter = self.plan.bar_ms // 4
        rows = []
        for b in range(first, len(bars)):
            o, h, lo, c = bars.open[b], bars.high[b], bars.low[b], bars.close[b]
            path = (o, lo, h, c) if c >= o else (o, h, lo, c)
            for phase, price in enumerate(path):
                rows.append((b, phase, int(bars.open_ms[b]) + phase * quarter, float(price)))
        if rows:
            b, _, ts, price = rows[-1]
            rows.append((b, 4, ts + 1, price))
        return np.array(rows, dtype=[("bar", "i8"), ("phase", "i8"), ("ts", "i8"), ("price", "f8")])

    def feed(self) -> Any:
        import backtrader as bt
        import pandas as pd

        t = self._ticks
        index = pd.to_datetime(t["ts"], unit="ms")
        price = t["price"]
        frame = pd.DataFrame(
            {"open": price, "high": price, "low": price, "close": price, "volume": 1.0},
            index=index,
        )
        return bt.feeds.PandasData(dataname=frame)

    # ---- the strategy's hooks -----------------------------------------------------------------
    def on_open(self, strat: Any) -> None:
        """Before backtrader matches this tick: marks, the monitor, the bar's signal."""
        i = len(strat.data) - 1
        row = self._ticks[i]
        now, price, phase, bar = (
            int(row["ts"]),
            float(row["price"]),
            int(row["phase"]),
            int(row["bar"]),
        )
        self.clock.set_time(max(now, self.clock.now_ms()))
        self.view.tick = Tick(
            VENUE,
            self.symbol,
            now,
            price,
            self.quote_rule.bid(price),
            self.quote_rule.ask(price),
            1.0,
        )
        if now // 86_400_000 != self._day:
            self._day = now // 86_400_000
            self._mark()
        held = self.view.held
        if self._flatten and held is not None and not held.closing:
            self._close(strat, "kill_switch")
        elif phase == 4:
            if held is not None and not held.closing:
                self._close(strat, "end_of_data")
            return
        elif held is not None and not held.closing:
            call = self.monitor.check(held.position, held.plan, self.view.tick, protected=True)
            if isinstance(call, ExitCall) and call.purpose.value == "exit":
                self._close(strat, call.tag)
        if phase == 0 and bar >= 1:
            self._signal(strat, bar - 1, now)

    def on_next(self, strat: Any) -> None:
        """After backtrader matched this tick: the wallet is marked (kill switch), the bar's
        equity recorded after its close."""
        i = len(strat.data) - 1
        row = self._ticks[i]
        self._mark()
        if int(row["phase"]) == 3:
            g = self.plan.bar_index(int(self.bars.open_ms[int(row["bar"])]))
            self.equity[g] = self.view.equity(self.wallet_id)

    def _mark(self) -> None:
        tripped = self.risk.on_wallet(self.view.snapshot(self.wallet_id))
        if tripped is not None and tripped.flatten:
            self._flatten = True

    def _signal(self, strat: Any, row: int, now: int) -> None:
        side, entry, stop, target, confidence = self.frame.row(row)
        if side == 0 or int(self.bars.open_ms[row]) < self.plan.t0:
            return
        tf = self.plan.timeframe
        signal = Signal(
            id=signal_id(self.plan.instance, VENUE, self.symbol, tf, int(self.bars.open_ms[row])),
            ts_ms=now,
            venue=VENUE,
            symbol=self.symbol,
            timeframe=tf,
            strategy=self.plan.instance,
            strategy_version=self.plan.strategy.version,
            side=Side.from_sign(side),
            entry=entry,
            stop_loss=stop,
            take_profit=target,
            confidence=confidence,
            atr=self.frame.atr_at(row),
        )
        _decision, intent = self.allocator.on_signal(signal)
        if intent is None:
            return
        decision = self.risk.evaluate(intent)
        if not decision.approved:
            return
        qty = self.instrument.floor_qty(decision.qty)
        bracket = strat.buy_bracket if side > 0 else strat.sell_bracket
        import backtrader as bt

        orders = bracket(
            size=qty, exectype=bt.Order.Market, stopprice=stop, limitprice=target, price=None
        )
        plan = EntryPlan(
            stop_loss=stop,
            take_profit=target,
            strategy=signal.strategy,
            arm=intent.arm,
            signal_id=signal.id,
            timeframe=tf,
            atr=signal.atr,
            max_hold_ms=self.risk.max_hold_ms,
            decision_id=decision.id,
            risk_per_unit=decision.risk_amount / decision.qty,
            ideal_entry=decision.costs.mark if decision.costs is not None else entry,
        )
        position = Position(
            self.wallet_id, VENUE, self.symbol, signal.side, qty, 0.0, now, stop, target,
            initial_stop=stop, strategy=signal.strategy, signal_id=signal.id,
            risk_per_unit=plan.risk_per_unit, max_hold_ms=plan.max_hold_ms,
        )  # fmt: skip
        self.view.held = _Held(position, plan, decision, list(orders), entry_bar=-1)

    def _close(self, strat: Any, reason: str) -> None:
        held = self.view.held
        assert held is not None
        held.closing = reason
        for order in held.orders[1:]:
            strat.cancel(order)
        strat.close()

    def on_order(self, order: Any) -> None:
        """A fill: the entry opens the position, anything else closes it (reason by order)."""
        if order.status != order.Completed:
            return
        held = self.view.held
        if held is None:
            return
        price = float(order.executed.price)
        fee = float(order.executed.comm)
        now = self.clock.now_ms()
        wallet = self.view.wallet_state
        self.fees += fee
        refs = [o.ref for o in held.orders]
        if order.ref == refs[0]:
            held.position = _replace(held.position, entry_price=price, fees=fee, opened_ms=now,
                                     high_water=price, low_water=price, last_funding_ms=now)  # fmt: skip
            held.entry_bar = self.plan.bar_index(now)
            self.view.wallet_state = _replace(wallet, balance=wallet.balance - fee)
            return
        pos = held.position
        realized = linear_pnl(pos.side.sign, pos.entry_price, price, pos.qty, pos.contract_size)
        self.view.wallet_state = _replace(wallet, balance=wallet.balance + realized - fee)
        fees = pos.fees + fee
        pnl = realized - fees
        reason = held.closing or ("stop_loss" if order.ref == refs[1] else "take_profit")
        risk = pos.planned_risk(pos.qty)
        r = pnl / risk if risk > 0 else 0.0
        self.view.held = None
        self.monitor.forget(self.wallet_id, self.key)
        trade = ClosedTrade(
            id="tr-" + stable_id(pos.signal_id, now), wallet_id=self.wallet_id, venue=VENUE,
            symbol=self.symbol, side=pos.side, qty=pos.qty, entry_price=pos.entry_price,
            exit_price=price, opened_ms=pos.opened_ms, closed_ms=now, pnl=pnl, fees=fees,
            r_multiple=r, strategy=pos.strategy, arm=held.plan.arm, signal_id=pos.signal_id,
            exit_reason=reason, risk_amount=risk,
        )  # fmt: skip
        self.risk.on_trade_closed(trade)
        self.allocator.on_trade_closed(trade)
        self.trades.append(
            BacktestTrade(
                symbol=self.symbol, side=pos.side.sign, entry_bar=held.entry_bar,
                exit_bar=self.plan.bar_index(now), entry_ms=pos.opened_ms, exit_ms=now,
                qty=pos.qty, entry_price=pos.entry_price, exit_price=price, pnl=pnl, fees=fees,
                funding=0.0, risk_amount=risk, r_multiple=r, exit_reason=reason,
                strategy=pos.strategy,
            )
        )  # fmt: skip

    # ---- the run ------------------------------------------------------------------------------
    def run(self) -> BacktestResult:
        import backtrader as bt

        req = self.plan.request
        if len(self._ticks):
            cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True, runonce=False)
            cerebro.adddata(self.feed())
            broker = cerebro.broker
            broker.setcash(req.initial_cash)
            broker.setcommission(
                commission=self.plan.costs[self.symbol].taker_fee_rate,
                commtype=bt.CommInfoBase.COMM_PERC,
                percabs=True,
                stocklike=True,
            )
            slip = self.plan.fill_model.slippage_bps / 10_000.0
            broker.set_slippage_perc(slip, slip_open=True, slip_limit=False, slip_match=True,
                                     slip_out=True)  # fmt: skip
            cerebro.addstrategy(_strategy_class(), run=self)
            cerebro.run()
        last = self.plan.axis.shape[0] - 1
        self.equity[last] = self.view.wallet_state.balance
        return BacktestResult(
            engine="backtrader",
            strategy=req.strategy,
            params=dict(self.plan.params.model_dump()),
            symbols=self.plan.symbols,
            timeframe=self.plan.timeframe,
            initial_cash=req.initial_cash,
            ts=self.plan.axis,
            equity=self.equity,
            hodl=self.plan.hodl(),
            trades=tuple(sorted(self.trades, key=lambda t: t.entry_ms)),
            fees_paid=self.fees,
            warnings=(*data_warnings(self.plan), *(f"left out: {x}" for x in LEFT_OUT)),
            settings=self.plan.settings(),
        )


def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(obj, **changes)


def _strategy_class() -> Any:
    import backtrader as bt

    class PeerStrategy(bt.Strategy):  # type: ignore[misc]
        """Hands every tick to the PeerRun: decisions before matching, marks after."""

        params = (("run", None),)

        def next_open(self) -> None:
            self.p.run.on_open(self)

        def next(self) -> None:
            self.p.run.on_next(self)

        def notify_order(self, order: Any) -> None:
            self.p.run.on_order(order)

    return PeerStrategy


def run_backtrader(request: BacktestRequest) -> BacktestResult:
    """The request through backtrader (one symbol; see the module text)."""
    plan = plan_run(request)
    if plan.request.domain is Domain.CRYPTO_PERP and request.funding:
        log.info("backtrader peer: funding series ignored (left out)")
    return PeerRun(plan).run()
