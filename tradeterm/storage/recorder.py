"""The event recorder: stores signals, allocator decisions and risk decisions as they happen.

It subscribes inline and FIRST, so by the time any other subscriber (execution, the console,
Telegram) sees a decision it is already committed. Orders, fills, positions, wallets, confirmations
and stage changes are persisted by the engines that own them, before they publish.
"""

from __future__ import annotations

from typing import Any

from tradeterm.bus import Bus
from tradeterm.domain import events as ev
from tradeterm.domain.signals import Signal
from tradeterm.storage.router import Stores


class EventRecorder:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self.recorded = 0

    async def attach(self, bus: Bus) -> None:
        bus.subscribe(ev.SIGNAL, self.on_event, inline=True, name="recorder.signal")
        bus.subscribe(ev.ALLOCATION, self.on_event, inline=True, name="recorder.allocation")
        bus.subscribe(ev.RISK_DECISION, self.on_event, inline=True, name="recorder.risk")
        bus.subscribe(ev.RISK_RECHECK, self.on_event, inline=True, name="recorder.recheck")

    def on_event(self, _topic: str, message: Any) -> None:
        if isinstance(message, Signal):
            self._stores.home.save_signal(message)
        elif isinstance(message, ev.AllocatorDecision):
            self._stores.home.save_allocation(message)
        elif isinstance(message, ev.RiskDecision):
            self._stores.for_wallet(message.intent.wallet_id).save_risk_decision(message)
        else:
            return
        self.recorded += 1
