"""The pipeline as log lines: one JSON line per event, with the signal id as correlation id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradeterm.bus import Bus, Overflow
from tradeterm.domain import events as ev
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.signals import Signal

Described = tuple[str, dict[str, Any]]
_WARN_TOPICS = frozenset({ev.KILL_SWITCH, ev.ALERT, ev.TRADING_STATE})


def _signal(s: Signal) -> Described:
    text = f"signal {s.strategy} {s.side} {s.symbol} @ {s.entry:g} sl {s.stop_loss:g} tp {s.take_profit:g}"
    return text, {"corr": s.id, "symbol": s.key, "rr": round(s.reward_risk, 2)}


def _allocation(d: ev.AllocatorDecision) -> Described:
    verb = "taken" if d.taken else "skipped"
    return f"allocator {verb} {d.arm}: {d.reason}", {"corr": d.signal.id, "wallet": d.wallet_id}


def _risk(d: ev.RiskDecision) -> Described:
    text = f"risk {d.verdict} {d.intent.arm} qty {d.qty:g}: {d.reason_text}"
    return text, {"corr": d.intent.signal.id, "wallet": d.intent.wallet_id, "decision": d.id}


def _confirmation(c: ev.PendingConfirmation) -> Described:
    text = f"confirmation {c.id} {c.status} {c.reason}".rstrip()
    return text, {"corr": c.intent.signal.id, "wallet": c.intent.wallet_id, "by": c.decided_by}


def _trade(t: ev.ClosedTrade) -> Described:
    text = f"trade closed {t.symbol} {t.exit_reason} pnl {t.pnl:.2f} ({t.r_multiple:+.2f} R)"
    return text, {"corr": t.signal_id, "wallet": t.wallet_id, "arm": t.arm}


def _state(s: ev.TradingStateChanged) -> Described:
    return f"trading state {s.previous} -> {s.state}: {s.reason}", {"source": s.source}


def _stage(s: ev.StageChanged) -> Described:
    return f"stage {s.from_index} -> {s.to_index} ({s.name}) {s.event}: {s.reason}", {}


def _kill(k: ev.KillSwitchTripped) -> Described:
    return f"KILL SWITCH {k.wallet_id}: drawdown {k.drawdown:.1%} >= {k.limit:.0%}", {
        "wallet": k.wallet_id
    }


def _audit(a: ev.AuditEntry) -> Described:
    return f"audit {a.source} {a.action} {'ok' if a.ok else 'failed'}: {a.result}", {"args": a.args}


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

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("tradeterm.events")
        self._corr_by_order: dict[str, str] = {}
        self._topics = frozenset(self.TOPICS)

    async def attach(self, bus: Bus) -> None:
        for topic in self.TOPICS:
            bus.subscribe(
                topic, self.on_event, name=f"log:{topic}", maxsize=50_000, overflow=Overflow.BLOCK
            )

    def on_event(self, topic: str, msg: Any) -> None:
        text, fields = self.describe(topic, msg)
        level = logging.WARNING if topic in _WARN_TOPICS else logging.INFO
        self.log.log(level, text, extra={"event": topic, **fields})

    def describe(self, topic: str, msg: Any) -> Described:
        if isinstance(msg, Order):
            if msg.signal_id:
                self._corr_by_order[msg.client_order_id] = msg.signal_id
            text = f"order {msg.client_order_id} {msg.purpose} {msg.side} {msg.qty:g} {msg.symbol} {msg.status}"
            return text, {"corr": msg.signal_id, "wallet": msg.wallet_id, "reason": msg.reason}
        if isinstance(msg, Fill):
            text = f"fill {msg.fill_id} {msg.side} {msg.qty:g} {msg.symbol} @ {msg.price:g} fee {msg.fee:.4f}"
            return text, {
                "corr": self._corr_by_order.get(msg.client_order_id, ""),
                "wallet": msg.wallet_id,
            }
        describer = _DESCRIBERS.get(type(msg))
        if describer is not None:
            return describer(msg)
        return f"{topic}: {msg}", {}
