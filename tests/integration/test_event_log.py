"""Issue 11 item 9: the JSON log of a trading session is something a trader can grep and sort.

A real node trades the busy sim config on a SimClock with the real JSON logging set up as the
daemon sets it up. Then: each trade idea's signal line comes before its order and fill lines;
price, qty, fee, pnl and R are JSON numbers of their own; no line carries a Python repr; audit
lines keep their arguments' types."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.node import NodeOptions, build_node
from tradeterm.telemetry.logging import setup_logging
from tradeterm.testing.node_kit import advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC
REPR = re.compile(
    r"\b[A-Z][A-Za-z]+\([a-z_]+=|<[A-Za-z_.]+ object at 0x|\b(Side|OrderStatus|Domain)\.[A-Z]"
)


@pytest.fixture()
def log_lines() -> Iterator[io.StringIO]:
    """A stream to log into; the `tradeterm` logger is put back as it was afterwards."""
    root = logging.getLogger("tradeterm")
    saved = (list(root.handlers), root.level, root.propagate)
    yield io.StringIO()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers, root.level, root.propagate = saved
    for handler in handlers:
        root.addHandler(handler)


async def test_a_session_logs_in_order_with_numbers_as_fields(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    clock = SimClock(START_MS)
    setup_logging(clock, level="info", fmt="json", stream=log_lines)
    node = build_node(busy_config(tmp_path), clock, NodeOptions(metrics_server=False))
    control = Control(node)
    await node.start()
    for _ in range(60):
        await advance(clock, 10)
        if node.stores.paper.count("trades") >= 1:
            break
    await control.set_learning(False, source="cli")
    await node.stop()
    lines = [json.loads(text) for text in log_lines.getvalue().splitlines()]
    assert lines, "nothing was logged"

    # no Python reprs anywhere: messages, and every text field
    for line in lines:
        for key, value in line.items():
            if isinstance(value, str) and key != "exc":
                assert not REPR.search(value), (key, value)

    # order: signal -> order -> fill, per correlation id (the signal id)
    first: dict[tuple[str, str], int] = {}
    for i, line in enumerate(lines):
        corr, event = line.get("corr"), line.get("event")
        if corr and event:
            first.setdefault((corr, event), i)
    filled = {corr for (corr, event) in first if event == "fill"}
    assert filled, "no fill in the session"
    for corr in filled:
        assert first[(corr, "signal")] < first[(corr, "order")] < first[(corr, "fill")], corr

    # numbers as numbers
    fill = next(line for line in lines if line.get("event") == "fill")
    assert all(isinstance(fill[k], float | int) for k in ("price", "qty", "fee")), fill
    signal = next(line for line in lines if line.get("event") == "signal")
    assert all(isinstance(signal[k], float) for k in ("entry", "stop_loss", "take_profit", "rr"))
    decision = next(line for line in lines if line.get("event") == "risk.decision")
    assert isinstance(decision["qty"], float) and isinstance(decision["risk_amount"], float)
    trade = next(line for line in lines if line.get("event") == "trade.closed")
    assert all(isinstance(trade[k], float) for k in ("pnl", "r", "fees", "exit_price")), trade

    audit = [line for line in lines if line.get("event") == "audit"]
    assert [(a["action"], a["ok"], a["action_args"]) for a in audit] == [
        ("set_learning", True, {"enabled": False})
    ]


def test_text_logs_show_tables_as_json_not_reprs(log_lines: io.StringIO) -> None:
    setup_logging(SimClock(0), fmt="text", stream=log_lines)
    extra: dict[str, Any] = {"action_args": {"id": "c1", "force": True}}
    logging.getLogger("tradeterm.test").info("audit", extra=extra)
    assert 'action_args={"id":"c1","force":true}' in log_lines.getvalue()
