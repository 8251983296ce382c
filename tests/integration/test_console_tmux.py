"""The operator console in a real terminal, the way an operator on a Pi runs it: `python -m
tradeterm --config ...` inside tmux, keys through send-keys, the screen read with capture-pane,
and what the keys did checked in state/paper.db and state/tradeterm.log.

At 80x24 the panes fold into tabs (Confirm first): the operator presses y on the highlighted
order again and again, no arrow keys, each press deciding the row they see highlighted; brings
the Positions tab forward with its key (2), flattens everything with ! and FLATTEN, and quits
with q, y. At 160x48 every pane is on screen at once.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tradeterm.testing.node_kit import BUSY_SYMBOLS
from tradeterm.tui.panes.confirmations import SETTLE_S

from .daemon_kit import rows, write_config
from .tmux_kit import TmuxTerminal, tmux_path, wait_until

pytestmark = pytest.mark.skipif(
    tmux_path() is None,
    reason="tmux is not installed (CI installs it with .ci/system-deps)",
)

CONSOLE_ENV = {"PYTHONUNBUFFERED": "1", "TERM": "xterm-256color"}
BOOT_S = 300.0
"""Start-up (imports, history warm-up) plus the first 1-second-bar signals, on a busy machine."""
STEP_S = 60.0
"""One key's visible effect."""
MAX_APPROVALS = 8
"""Approvals tried before giving up: an approval is re-checked at current prices and refused when
the order no longer clears the gate."""
MAX_HELD = 5
"""A y held because its row had only just slid under the cursor is pressed again; this many
holds in a row would mean the console never lets the highlighted row be decided."""
COMPACT_TABS = " 1 Confirm  2 Positions  3 Signals  4 Universe  5 Risk  6 Stages  7 Arms"
PENDING_ROW = re.compile(
    r"(?:^|\s)(c[0-9a-f]{6})\s+(?:\d+m)?\d+s\s+(?:BUY|SELL)\s+[\d.]+\s+\S+", re.M
)
VENUE_RESULT = re.compile(r"sim: cancelled \d+ orders?, closed \d+ positions?, realised PnL")
HEADER_PENDING = re.compile(r"STAGE 1/5 .* (\d+) pending")
EQUITY_LINE = re.compile(r"^ *equity [\d,.]+ USD", re.M)


def console(term: TmuxTerminal, config: Path) -> None:
    """Open the console on `config` in the terminal, as `tradeterm --config` does."""
    term.start([sys.executable, "-m", "tradeterm", "--config", str(config)], env=CONSOLE_ENV)


def has_pending(screen: str) -> bool:
    """The header counts at least one order waiting for the operator."""
    found = HEADER_PENDING.search(screen)
    return found is not None and int(found.group(1)) > 0


def pending_ids(screen: str) -> list[str]:
    """Confirmation ids in the order the Confirm table lists them (the cursor starts on top)."""
    return PENDING_ROW.findall(screen)


def decided(db: Path, cid: str) -> tuple[str, str] | None:
    """(status, decided_by) of a confirmation once it is no longer pending."""
    found = rows(
        db,
        "SELECT status, json_extract(data, '$.decided_by') FROM confirmations WHERE id = ?",
        (cid,),
    )
    return found[0] if found and found[0][0] != "pending" else None


def entry_fills(db: Path, cid: str) -> int:
    """Fills of the entry order sent for a confirmation (linked through its signal)."""
    sql = """
        SELECT COUNT(*) FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id
        WHERE o.purpose = 'entry' AND o.signal_id =
            (SELECT json_extract(data, '$.decision.intent.signal.id') FROM confirmations WHERE id = ?)
    """
    return int(rows(db, sql, (cid,))[0][0])


def audit(db: Path, action: str) -> list[tuple[str, int, str]]:
    """(source, ok, args as JSON) of every audit row of an action, oldest first."""
    sql = (
        "SELECT source, ok, json_extract(data, '$.args') FROM audit WHERE action = ? ORDER BY rowid"
    )
    return [(s, int(ok), args) for s, ok, args in rows(db, sql, (action,))]


def decided_on_screen(cid: str) -> Callable[[str], bool]:
    """The screen check after y: the console says what happened and the row has left the table."""

    def check(screen: str) -> bool:
        said = f"{cid}: approved" in screen or f"{cid}: rejected" in screen
        return said and cid not in pending_ids(screen)

    return check


def held_keys(log: Path) -> int:
    """How many times the console held a y/n because the row had only just slid under the
    cursor (it logs each one)."""
    if not log.exists():
        return 0
    return log.read_text(encoding="utf-8").count("slid under the cursor a moment ago")


def decide_highlighted(term: TmuxTerminal, db: Path, log: Path) -> tuple[str, str]:
    """Press y on the highlighted confirmation -- the top row, where the cursor stays -- without
    any arrow key; (its id, approved or rejected). If the row had only just slid under the cursor,
    the console holds the key and says so; the operator, now seeing it highlighted, presses y
    again."""
    screen = term.wait_for_screen(
        lambda s: bool(pending_ids(s)), timeout=BOOT_S, what="a pending confirmation row"
    )
    on_screen = pending_ids(screen)
    for _press in range(MAX_HELD):
        held, asked = held_keys(log), len(audit(db, "approve"))
        term.press("y")

        def asked_or_held(held: int = held, asked: int = asked) -> bool:
            return len(audit(db, "approve")) > asked or held_keys(log) > held

        wait_until(asked_or_held, timeout=STEP_S, what="an approval asked for, or y held")
        if len(audit(db, "approve")) > asked:
            break
        time.sleep(SETTLE_S)  # held: the operator reads the row now highlighted, then presses again
    else:
        raise AssertionError(f"y was held {MAX_HELD} times in a row")
    cid = json.loads(audit(db, "approve")[-1][2])["id"]
    assert cid in on_screen, (cid, on_screen)  # a row the operator had on screen, highlighted
    status, by = wait_until(partial(decided, db, cid), timeout=STEP_S, what=f"{cid} in db")
    assert by == "console"
    term.wait_for_screen(
        decided_on_screen(cid), timeout=STEP_S, what=f"{cid} decided, gone from Confirm"
    )
    ok = 1 if status == "approved" else 0  # the re-check at current prices may say no
    assert ("console", ok, f'{{"id":"{cid}"}}') in audit(db, "approve")
    assert status in ("approved", "rejected"), status
    return cid, status


def approve_in_a_row(term: TmuxTerminal, db: Path, log: Path) -> str:
    """y, y, ... on whatever is highlighted, never an arrow key: every press decides the row the
    operator sees highlighted (two in a row at least), until one is approved; its id."""
    term.press("1")  # the Confirm tab, its table focused
    decided_ids: list[str] = []
    approved: list[str] = []
    for _attempt in range(MAX_APPROVALS):
        cid, status = decide_highlighted(term, db, log)
        decided_ids.append(cid)
        if status == "approved":
            approved.append(cid)
        if len(decided_ids) >= 2 and approved:
            assert len(set(decided_ids)) == len(decided_ids)  # each y decided a new row
            return approved[0]
    raise AssertionError(f"no approval went through in {MAX_APPROVALS} tries: {decided_ids}")


def show_positions(term: TmuxTerminal) -> str:
    """Bring the Positions tab forward with its key, 2."""

    def on_positions(screen: str) -> bool:
        return bool(EQUITY_LINE.search(screen)) and not pending_ids(screen)

    term.press("2")
    return term.wait_for_screen(on_positions, timeout=STEP_S, what="the Positions tab")


def test_operator_approves_flattens_and_quits_at_80x24(tmp_path: Path) -> None:
    config = write_config(tmp_path, confirm="always", ttl=120)
    db = tmp_path / "state" / "paper.db"
    with TmuxTerminal(tmp_path, width=80, height=24) as term:
        console(term, config)
        assert term.size() == (80, 24)
        screen = term.wait_for_screen(
            lambda s: "STAGE 1/5" in s and COMPACT_TABS in s and bool(pending_ids(s)),
            timeout=BOOT_S,
            what="header, compact tabs and a pending confirmation",
        )
        assert "[PAPER synthetics]" in screen and "UTC" in screen  # badge with text, clock
        assert re.search(r"^ Id +TTL +Side +Qty +Symbol +Entry", screen, re.M)
        footer = screen.rstrip().splitlines()[-1]
        for key in ("y n Confirm", "! Flatten", "p Pause", "s Stage", "? Help", "q Quit"):
            assert key in footer, footer

        cid = approve_in_a_row(term, db, tmp_path / "state" / "tradeterm.log")
        wait_until(lambda: entry_fills(db, cid), timeout=STEP_S, what=f"a fill for {cid}")

        screen = show_positions(term)
        assert "PAPER synthetics" in screen and "uPnL" in screen

        # something to flatten: orders keep arriving (the one approved may already have closed)
        term.wait_for_screen(has_pending, timeout=STEP_S, what="a pending order in the header")
        term.press("!")
        screen = term.wait_for_text("FLATTEN EVERYTHING", "Type FLATTEN to arm", timeout=STEP_S)
        assert "not armed: type FLATTEN" in screen and "paper:synthetics [PAPER]" in screen
        term.type("FLATTEN")
        term.wait_for_text("ARMED: enter flattens all", timeout=STEP_S)
        term.press("Enter")
        screen = term.wait_for_screen(
            lambda s: "All flat" in s or "NOT all flat" in s, timeout=STEP_S, what="the result"
        )
        assert "All flat" in screen and "by console" in screen, screen
        assert VENUE_RESULT.search(screen) or "Nothing to flatten." in screen, screen
        wait_until(
            lambda: rows(db, "SELECT COUNT(*) FROM positions")[0][0] == 0,
            timeout=STEP_S,
            what="no open position in paper.db",
        )
        assert ("console", 1, "{}") in audit(db, "flatten_all")
        left_pending = """SELECT COUNT(*) FROM confirmations WHERE status = 'pending'
            AND created_ms <= (SELECT MAX(ts_ms) FROM audit WHERE action = 'flatten_all')"""
        assert rows(db, left_pending)[0][0] == 0  # flatten cancelled every pending order too

        term.press("Enter")  # close the result
        term.wait_for_screen(lambda s: "All flat" not in s, timeout=STEP_S, what="result closed")
        term.press("q")
        term.wait_for_text("Quit tradeterm?", "y quit", timeout=STEP_S)
        term.press("y")
        assert term.wait_for_exit(timeout=60) == 0
    log = (tmp_path / "state" / "tradeterm.log").read_text(encoding="utf-8")
    assert "node stopped" in log


WIDE_PANES = {
    "header": r"\[PAPER synthetics\] +STAGE 1/5 crypto-paper +ACTIVE",
    "venue health": r"sim up \S+ r0",
    "universe": r"Symbol +Venue +Last +Chg% sess +Spread +ATR14 \S+ +Regime \S+ +Arms",
    "confirmations": r"Id +TTL +Side +Qty +Symbol +Entry +SL +TP +RR +NetRR .*Wallet +Strategy +TF",
    "positions": r"PAPER synthetics[\s\S]*equity [\d,.]+ USD +uPnL",
    "signals": r"Time +Symbol +Strategy +TF +Side +Decision",
    "risk": r"Trading ACTIVE[\s\S]*daily loss[\s\S]*drawdown[\s\S]*exposure",
    "stages": r"Stages[\s\S]*1 crypto-paper \(current\)[\s\S]*Gates of stage 1",
    "allocator": r"Arm +Mean R +SD +Pulls +Trades +Win% +Payoff",
    "footer": r"! Flatten .*q Quit",
}


def missing_panes(screen: str) -> list[str]:
    """Panes (and universe rows, one per market) not on the screen yet."""
    missing = [name for name, pattern in WIDE_PANES.items() if not re.search(pattern, screen)]
    row = r"^ {} +sim +[\d,.]+ +[+-]\d+\.\d%"  # symbol, venue, last, change
    return missing + [s for s in BUSY_SYMBOLS if not re.search(row.format(s), screen, re.M)]


def test_every_pane_on_one_screen_at_160x48(tmp_path: Path) -> None:
    config = write_config(tmp_path, confirm="always", ttl=120)
    with TmuxTerminal(tmp_path, width=160, height=48) as term:
        console(term, config)
        assert term.size() == (160, 48)
        screen = term.wait_for_screen(
            lambda s: not missing_panes(s) and bool(pending_ids(s)),
            timeout=BOOT_S,
            what="every pane at once, with a pending confirmation",
        )
        assert COMPACT_TABS not in screen  # wide: no folding into tabs
        term.press("q")
        term.wait_for_text("Quit tradeterm?", timeout=STEP_S)
        term.press("y")
        assert term.wait_for_exit(timeout=60) == 0
