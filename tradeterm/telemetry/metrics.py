"""Prometheus metrics: a bus subscriber that counts the pipeline and gauges wallets and health.

Each node owns its CollectorRegistry (no module-level singleton); `serve()` exposes it over HTTP
on the configured address when telemetry.prometheus is on.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from tradeterm.bus import Bus, Overflow
from tradeterm.domain import events as ev
from tradeterm.domain.enums import TradingState
from tradeterm.domain.orders import Fill, Order
from tradeterm.venues.base import VenueHealth

_STATE_VALUE = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Metrics:
    """Counters and gauges of one node."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ticks = Counter("tradeterm_ticks", "Ticks received", ["venue"], registry=r)
        self.bars = Counter("tradeterm_bars", "Closed bars", ["timeframe"], registry=r)
        self.signals = Counter("tradeterm_signals", "Strategy signals", ["strategy"], registry=r)
        self.allocations = Counter(
            "tradeterm_allocations", "Allocator decisions", ["taken"], registry=r
        )
        self.decisions = Counter(
            "tradeterm_risk_decisions", "Risk decisions", ["verdict"], registry=r
        )
        self.orders = Counter("tradeterm_orders", "Order updates", ["status"], registry=r)
        self.fills = Counter("tradeterm_fills", "Fills", ["wallet"], registry=r)
        self.trades = Counter(
            "tradeterm_trades_closed", "Closed trades", ["wallet", "result"], registry=r
        )
        self.equity = Gauge("tradeterm_wallet_equity", "Wallet equity", ["wallet"], registry=r)
        self.drawdown = Gauge(
            "tradeterm_wallet_drawdown", "Drawdown from peak equity", ["wallet"], registry=r
        )
        self.exposure = Gauge("tradeterm_wallet_exposure", "Open notional", ["wallet"], registry=r)
        self.state = Gauge("tradeterm_trading_state", "0 active, 1 reducing, 2 halted", registry=r)
        self.stage = Gauge("tradeterm_rollout_stage", "Current rollout stage (1-based)", registry=r)
        self.pending = Gauge("tradeterm_pending_confirmations", "Confirmations waiting", registry=r)
        self.venue_up = Gauge(
            "tradeterm_venue_connected", "1 when connected", ["venue"], registry=r
        )
        self.venue_reconnects = Gauge(
            "tradeterm_venue_reconnects", "Reconnects since start", ["venue"], registry=r
        )
        self._pending_ids: set[str] = set()

    async def attach(self, bus: Bus) -> None:
        bus.subscribe(
            "*", self.on_event, name="metrics", maxsize=10_000, overflow=Overflow.DROP_OLDEST
        )

    def on_event(self, topic: str, msg: Any) -> None:
        handler = getattr(self, "_on_" + topic.replace(".", "_"), None)
        if handler is not None:
            handler(msg)

    def _on_tick(self, msg: Any) -> None:
        self.ticks.labels(msg.venue).inc()

    def _on_bar(self, msg: Any) -> None:
        self.bars.labels(msg.timeframe).inc()

    def _on_signal(self, msg: Any) -> None:
        self.signals.labels(msg.strategy).inc()

    def _on_allocator_decision(self, msg: ev.AllocatorDecision) -> None:
        self.allocations.labels(str(msg.taken).lower()).inc()

    def _on_risk_decision(self, msg: ev.RiskDecision) -> None:
        self.decisions.labels(msg.verdict.value).inc()

    def _on_order(self, msg: Order) -> None:
        self.orders.labels(msg.status.value).inc()

    def _on_fill(self, msg: Fill) -> None:
        self.fills.labels(msg.wallet_id).inc()

    def _on_trade_closed(self, msg: ev.ClosedTrade) -> None:
        self.trades.labels(msg.wallet_id, "win" if msg.won else "loss").inc()

    def _on_wallet(self, msg: ev.WalletSnapshot) -> None:
        self.equity.labels(msg.wallet.id).set(msg.equity)
        self.drawdown.labels(msg.wallet.id).set(msg.drawdown)
        self.exposure.labels(msg.wallet.id).set(msg.exposure)

    def _on_trading_state(self, msg: ev.TradingStateChanged) -> None:
        self.state.set(_STATE_VALUE[msg.state])

    def _on_stage(self, msg: ev.StageChanged) -> None:
        self.stage.set(msg.to_index)

    def _on_confirmation(self, msg: ev.PendingConfirmation) -> None:
        if msg.status.value == "pending":
            self._pending_ids.add(msg.id)
        else:
            self._pending_ids.discard(msg.id)
        self.pending.set(len(self._pending_ids))

    def _on_venue_health(self, msg: VenueHealth) -> None:
        self.venue_up.labels(msg.venue).set(1 if msg.connected else 0)
        self.venue_reconnects.labels(msg.venue).set(msg.reconnects)

    def text(self) -> str:
        """The exposition text (what /metrics serves)."""
        return generate_latest(self.registry).decode("utf-8")

    def serve(self, host: str, port: int) -> Any:
        """Serve /metrics in a background thread; returns the server (call .shutdown() to stop)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
