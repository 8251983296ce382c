"""The pipeline as log lines: one JSON line per event, with the signal id as correlation id.

Lines come out in the order the events were published (a signal before its decision, order and
fill): the logger subscribes inline AHEAD of every engine and only forwards each event to one
queue (the `log.event` topic), whose single worker writes the lines. Numbers a trader greps for
(price, qty, fee, pnl, R...) are fields of their own, not only inside `msg`; no line carries a
Python repr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradeterm.bus import Bus, Overflow
from tradeterm.domain import events as ev
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.signals import Signal

Described = tuple[str, dict[str, Any]]
LOG_TOPIC = "log.event"
"""The one queue every logged event passes through, in publish order."""
_WARN_TOPICS = frozenset({ev.KILL_SWITCH, ev.ALERT, ev.TRADING_STATE})


def _signal(s: Signal) -> Described:
    text = f"signal {s.strategy} {s.side} {s.symbol} @ {s.entry:g} sl {s.stop_loss:g} tp {s.take_profit:g}"
    return text, {
        "corr": s.id,
        "symbol": s.key,
        "strategy": s.strategy,
        "side": s.side.value,
        "timeframe": s.timeframe,
        "entry": s.entry,
        "stop_loss": s.stop_loss,
        "take_profit": s.take_profit,
        "rr": round(s.reward_risk, 4),
    }


def _allocation(d: ev.AllocatorDecision) -> Described:
    verb = "taken" if d.taken else "skipped"
    return f"allocator {verb} {d.arm}: {d.reason}", {"corr": d.signal.id, "wallet": d.wallet_id}


def _risk(d: ev.RiskDecision) -> Described:
    text = f"risk {d.verdict} {d.intent.arm} qty {d.qty:g}: {d.reason_text}"
    return text, {
        "corr": d.intent.signal.id,
        "wallet": d.intent.wallet_id,
        "decision": d.id,
        "verdict": d.verdict.value,
        "qty": d.qty,
        "notional": d.notional,
        "risk_amount": d.risk_amount,
        "risk_fraction": d.risk_fraction,
    }


def _confirmation(c: ev.PendingConfirmation) -> Described:
    text = f"confirmation {c.id} {c.status} {c.reason}".rstrip()
    return text, {"corr": c.intent.signal.id, "wallet": c.intent.wallet_id, "by": c.decided_by}


def _trade(t: ev.ClosedTrade) -> Described:
    text = f"trade closed {t.symbol} {t.exit_reason} pnl {t.pnl:.2f} ({t.r_multiple:+.2f} R)"
    return text, {
        "corr": t.signal_id,
        "wallet": t.wallet_id,
        "arm": t.arm,
        "symbol": t.symbol,
        "side": t.side.value,
        "qty": t.qty,
        "entry_price": t.entry_price,
        "exit_price": t.exit_price,
        "pnl": t.pnl,
        "fees": t.fees,
        "r": t.r_multiple,
        "exit_reason": t.exit_reason,
    }


def _state(s: ev.TradingStateChanged) -> Described:
    return f"trading state {s.previous} -> {s.state}: {s.reason}", {"source": s.source}


def _stage(s: ev.StageChanged) -> Described:
    return f"stage {s.from_index} -> {s.to_index} ({s.name}) {s.event}: {s.reason}", {}


def _kill(k: ev.KillSwitchTripped) -> Described:
    return f"KILL SWITCH {k.wallet_id}: drawdown {k.drawdown:.1%} >= {k.limit:.0%}", {
        "wallet": k.wallet_id,
        "drawdown": k.drawdown,
        "limit": k.limit,
    }


def _audit(a: ev.AuditEntry) -> Described:
    # `args` is a reserved LogRecord attribute: the action's arguments go out as `action_args`
    text = f"audit {a.source} {a.action} {'ok' if a.ok else 'refused'}: {a.result}"
    return text, {"action": a.action, "ok": a.ok, "action_args": a.args}


def _alert(a: ev.Alert) -> Described:
    return a.text, {"alert_level": a.level}


def _toggle(t: ev.DomainToggled) -> Described:
    return f"domain {t.domain} {'on' if t.enabled else 'off'}", {"source": t.source}


_DESCRIBERS: dict[type, Callable[[Any], Described]] = {
    Signal: _signal,
    ev.AllocatorDecision: _allocation,
    ev.RiskDecision: _risk,
    ev.PendingConfirmation: _confirmation,
    ev.ClosedTrade: _trade,
    ev.TradingStateChanged: _state,
    ev.StageChanged: _stage,
    ev.KillSwitchTripped: _kill,
    ev.AuditEntry: _audit,
    ev.Alert: _alert,
    ev.DomainToggled: _toggle,
}


class EventLogger:
    """Bus subscriber that logs signal -> allocation -> risk decision -> order -> fill -> trade."""

    TOPICS = (
        ev.SIGNAL, ev.ALLOCATION, ev.RISK_DECISION, ev.CONFIRMATION, ev.ORDER, ev.FILL,
        ev.TRADE_CLOSED, ev.TRADING_STATE, ev.STAGE, ev.KILL_SWITCH, ev.AUDIT, ev.ALERT,
        ev.FLATTEN, ev.DOMAIN_TOGGLE,
    )  # fmt: skip
    QUEUE_SIZE = 50_000

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("tradeterm.events")
        self._corr_by_order: dict[str, str] = {}
        self._bus: Bus | None = None

    async def attach(self, bus: Bus) -> None:
        """Inline and first on every logged topic: each event is forwarded to the one log queue
        at the moment it is published, before any engine reacts and publishes the next."""
        self._bus = bus
        bus.subscribe(
            LOG_TOPIC,
            self._write,
            name="events-log",
            maxsize=self.QUEUE_SIZE,
            overflow=Overflow.BLOCK,
        )
        for topic in self.TOPICS:
            bus.subscribe(topic, self._forward, name=f"log:{topic}", inline=True, first=True)

    async def _forward(self, topic: str, msg: Any) -> None:
        assert self._bus is not None
        await self._bus.publish(LOG_TOPIC, (topic, msg))

    def _write(self, _topic: str, item: Any) -> None:
        topic, msg = item
        self.on_event(topic, msg)

    def on_event(self, topic: str, msg: Any) -> None:
        text, fields = self.describe(topic, msg)
        level = logging.WARNING if topic in _WARN_TOPICS else logging.INFO
        self.log.log(level, text, extra={"event": topic, **fields})

    def describe(self, topic: str, msg: Any) -> Described:
        if isinstance(msg, Order):
            if msg.signal_id:
                self._corr_by_order[msg.client_order_id] = msg.signal_id
            text = f"order {msg.client_order_id} {msg.purpose} {msg.side} {msg.qty:g} {msg.symbol} {msg.status}"
            return text, {
                "corr": msg.signal_id,
                "wallet": msg.wallet_id,
                "order": msg.client_order_id,
                "purpose": msg.purpose.value,
                "side": msg.side.value,
                "symbol": msg.symbol,
                "status": msg.status.value,
                "qty": msg.qty,
                "price": msg.price,
                "filled_qty": msg.filled_qty,
                "avg_price": msg.avg_fill_price,
                "reduce_only": msg.reduce_only,
                "reason": msg.reason,
            }
        if isinstance(msg, Fill):
            text = f"fill {msg.fill_id} {msg.side} {msg.qty:g} {msg.symbol} @ {msg.price:g} fee {msg.fee:.4f}"
            return text, {
                "corr": self._corr_by_order.get(msg.client_order_id, ""),
                "wallet": msg.wallet_id,
                "order": msg.client_order_id,
                "side": msg.side.value,
                "symbol": msg.symbol,
                "qty": msg.qty,
                "price": msg.price,
                "fee": msg.fee,
            }
        describer = _DESCRIBERS.get(type(msg))
        if describer is not None:
            return describer(msg)
        summary = getattr(msg, "summary", None)  # a flatten report describes itself
        if callable(summary):
            return f"{topic}: {summary()}", {"ok": bool(getattr(msg, "ok", True))}
        return f"{topic}: {type(msg).__name__}", {}
