"""The risk gate on the shipped configs/default.toml: what an hour (and a longer session) of
simulated trading costs, measured on the fills the node really got.

    python -m bench.gate            # 60 and 360 simulated minutes
    python -m bench.gate 60         # just one session length

For each session: decisions (approved / denied, the most common denial reasons), entries filled
and how many filled at or beyond their own take profit (target: 0), the cost of a round trip in
R ex ante (the gate's figure) and ex post (closed trades: spread and slippage on both legs, fees,
funding, over the money the gate planned to risk), and whether R and won/lost agree on every
trade. Figures go to bench/RESULTS.md (section `gate`).
"""

from __future__ import annotations

import asyncio
import collections
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.results import machine_line, write_section
from tradeterm.clock import SimClock
from tradeterm.config import load_config
from tradeterm.domain import events as ev
from tradeterm.domain.orders import OrderPurpose
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import advance

REPO = Path(__file__).resolve().parents[1]
START_MS = 1_763_380_800_000  # 2025-11-17 12:00 UTC, a Monday


@dataclass
class Session:
    minutes: float
    decisions: list[ev.RiskDecision] = field(default_factory=list)
    orders: dict[str, Any] = field(default_factory=dict)
    fills: list[Any] = field(default_factory=list)
    trades: list[ev.ClosedTrade] = field(default_factory=list)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_s: float = 0.0

    def on(self, topic: str, message: Any) -> None:
        if topic == ev.RISK_DECISION:
            self.decisions.append(message)
        elif topic == ev.ORDER:
            self.orders[message.client_order_id] = message
        elif topic == ev.FILL:
            self.fills.append(message)
        elif topic == ev.TRADE_CLOSED:
            self.trades.append(message)


async def run_session(minutes: float) -> Session:
    session = Session(minutes)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(REPO / "configs" / "default.toml", [f"storage.state_dir={tmp}"])
        clock = SimClock(START_MS)
        node = build_node(cfg, clock, NodeOptions(metrics_server=False))
        node.bus.subscribe("*", session.on, inline=True, name="bench.gate")
        started = time.perf_counter()
        await node.start()
        await advance(clock, minutes * 60, step=1.0)
        for order in session.orders.values():
            if order.purpose is OrderPurpose.ENTRY:
                plan = node.stores.paper.order_plan(order.client_order_id)
                if plan is not None:
                    session.plans[order.client_order_id] = plan
        await node.stop()
        session.wall_s = time.perf_counter() - started
    return session


def _reason(text: str) -> str:
    """A denial reason without its numbers, to count kinds."""
    return re.sub(r"[-+]?\d[\d.,]*x?", "N", text.split(";", maxsplit=1)[0])[:60]


def summarise(s: Session) -> list[str]:
    approved = [d for d in s.decisions if d.approved]
    denied = [d for d in s.decisions if not d.approved]
    beyond = 0
    entries = 0
    for fill in s.fills:
        order = s.orders.get(fill.client_order_id)
        plan = s.plans.get(fill.client_order_id)
        if order is None or order.purpose is not OrderPurpose.ENTRY or plan is None:
            continue
        entries += 1
        if (plan["take_profit"] - fill.price) * fill.side.sign <= 0:
            beyond += 1
    ex_ante = [d.costs.cost_r for d in approved if d.costs is not None]
    ex_post = [t.cost_r for t in s.trades if t.risk_amount > 0]
    agree = all((t.r_multiple > 0) is t.won for t in s.trades)
    reasons = collections.Counter(_reason(d.reasons[0]) for d in denied if d.reasons)
    top = "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3)) or "none"
    lines = [
        f"| {s.minutes:.0f} min | {len(s.decisions)} ({len(approved)} approved) | {entries} | "
        f"{beyond} | {_median(ex_ante)} | {_median(ex_post)} ({len(ex_post)} trades) | "
        f"{'yes' if agree else 'NO'} | {s.wall_s:.1f} s |",
    ]
    lines.append(f"  denials, most common: {top}")
    return lines


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "—"


def main(argv: list[str]) -> int:
    lengths = [float(a) for a in argv] or [60.0, 360.0]
    rows: list[str] = []
    notes: list[str] = []
    misses = 0
    for minutes in lengths:
        session = asyncio.run(run_session(minutes))
        row, note = summarise(session)
        print(row, flush=True)
        print(note, flush=True)
        rows.append(row)
        notes.append(f"- {minutes:.0f} min: {note.strip()}")
        beyond = int(row.split("|")[4])
        ex_post = [t.cost_r for t in session.trades if t.risk_amount > 0]
        if beyond or (ex_post and statistics.median(ex_post) > 0.3):
            misses += 1
            print(f"MISS: {minutes:.0f} min session: beyond-TP entries or median cost > 0.3 R")
    body = "\n".join(
        [
            machine_line() + "; configs/default.toml as shipped, sim venue seed 7, SimClock.",
            "",
            "| session | decisions | entries filled | filled at/beyond TP (target 0) | "
            "median cost in R ex ante | median cost in R realised (target <= 0.3) | "
            "R and won agree | wall |",
            "|---|---:|---:|---:|---:|---:|---|---:|",
            *rows,
            "",
            *notes,
        ]
    )
    write_section("gate", "Risk gate on the shipped default config", body)
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
