"""The bridge's coalescing: at most one view per dirty pane per flush, slow panes rate-limited,
repeated alerts toasted once per window. Real node (not started), real control, no Textual app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message

from tests.tui.kit import START_MS
from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain import events as ev
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import busy_config
from tradeterm.tui.bridge import PANE_MIN_INTERVAL_MS, TOAST_REPEAT_MS, Bridge
from tradeterm.tui.messages import AlertRaised, ViewChanged

ALL_PANES = {
    "header",
    "universe",
    "wallets",
    "signals",
    "risk",
    "stages",
    "confirmations",
    "allocator",
}


class Harness:
    def __init__(self, state_dir: Path) -> None:
        self.clock = SimClock(START_MS)
        node = build_node(busy_config(state_dir), self.clock, NodeOptions(metrics_server=False))
        self.posted: list[Message] = []
        self.bridge = Bridge(Control(node), self.posted.append, self.clock.now_ms)

    def views(self) -> list[str]:
        out = [m.pane for m in self.posted if isinstance(m, ViewChanged)]
        self.posted.clear()
        return out

    def advance(self, ms: int) -> None:
        self.clock.set_time(self.clock.now_ms() + ms)


def test_first_flush_posts_every_pane_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.bridge.flush()
    views = h.views()
    assert sorted(views) == sorted(ALL_PANES)
    h.bridge.flush()  # nothing dirty, same second: nothing posted
    assert h.views() == []


def test_many_events_one_view_per_pane(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.bridge.flush()
    h.views()
    h.advance(PANE_MIN_INTERVAL_MS["stages"])
    for _ in range(500):
        h.bridge.on_event(ev.TRADE_CLOSED, object())
    h.bridge.flush()
    views = h.views()
    assert sorted(views) == sorted(set(views))  # no pane twice in one flush
    assert {"wallets", "risk", "allocator", "stages"} <= set(views)


def test_slow_panes_wait_for_their_interval_and_stay_dirty(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.bridge.flush()
    h.views()
    h.advance(100)
    h.bridge.on_event(ev.TRADE_CLOSED, object())
    h.bridge.on_event(ev.SIGNAL, object())
    h.bridge.flush()
    assert set(h.views()) == {"signals"}  # signals keep the full rate; the rest wait
    h.advance(PANE_MIN_INTERVAL_MS["wallets"])
    h.bridge.flush()
    assert {"wallets"} <= set(h.views())
    h.advance(PANE_MIN_INTERVAL_MS["stages"])
    h.bridge.flush()
    later = set(h.views())
    assert {"stages", "allocator", "risk"} <= later  # nothing dirty was dropped


def test_force_flush_ignores_intervals(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.bridge.flush()
    h.views()
    h.advance(1)
    h.bridge.on_event(ev.STAGE, object())
    h.bridge.flush(force=True)
    assert {"stages", "header", "wallets"} <= set(h.views())


def test_header_and_confirmations_tick_every_second(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.bridge.flush()
    h.views()
    h.advance(1_000)
    h.bridge.flush()
    assert set(h.views()) == {"header", "confirmations"}  # clock and TTL countdown


def _alert(text: str, level: str = "error", topic: str = ev.ORDER) -> Any:
    return ev.Alert(level=level, text=text, topic=topic, ts_ms=START_MS)


def test_repeated_alert_toasted_once_per_window(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    for _ in range(3):
        h.bridge.on_event(ev.ALERT, _alert("venue sim disconnected"))
    toasts = [m for m in h.posted if isinstance(m, AlertRaised)]
    assert len(toasts) == 1 and "venue sim disconnected" in toasts[0].text
    h.posted.clear()
    h.advance(TOAST_REPEAT_MS)
    h.bridge.on_event(ev.ALERT, _alert("venue sim disconnected"))
    assert len([m for m in h.posted if isinstance(m, AlertRaised)]) == 1
