"""`tradeterm reconcile list|run|adopt|close|ignore` -- the running daemon's reconciliation
differences (what a live venue and tradeterm disagree about) and the operator's actions on them.

    tradeterm reconcile list                 open and ignored differences, then recent history
    tradeterm reconcile run                  reconcile now (under policy "halt", an open one halts)
    tradeterm reconcile adopt ID [--yes]     take the venue's side, through the risk gate
    tradeterm reconcile close ID [--yes]     orphan position: reduce-only close at the venue;
                                             orphan order: cancel it at the venue
    tradeterm reconcile ignore ID [--yes]    keep it listed, no longer halting

Every action goes through the control socket to the Control facade (source "cli") and is
written to the audit journal; before acting, the command prints what will be sent and asks
(unless --yes). Refusals (the risk gate's reason, a difference already settled) exit 1; bad
input exits 2. A halt stays until the operator resumes (`tradeterm resume`).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def _call(args: argparse.Namespace, cmd: str, payload: dict[str, object] | None = None) -> Any:
    from tradeterm.cli import _call as call  # late: tradeterm.cli imports this module

    return call(args, cmd, payload)


def _age(ms: int) -> str:
    seconds = max(0.0, time.time() - ms / 1000)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def table(diffs: list[dict[str, Any]]) -> str:
    """The differences as aligned lines (ids first: the actions take them)."""
    if not diffs:
        return "no reconciliation differences"
    rows = [("ID", "STATUS", "WALLET", "KIND", "SYMBOL", "LOCAL", "VENUE", "SEEN")]
    for d in diffs:
        rows.append(
            (
                d["id"],
                d["status"],
                d["wallet_id"],
                d["kind"].replace("_", " "),
                d["symbol"] or "-",
                d["local"],
                d["at_venue"],
                _age(int(d["first_seen_ms"])),
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def cmd_list(args: argparse.Namespace) -> int:
    result = _call(args, "reconcile_list")
    if args.json:
        import json

        print(json.dumps(result["differences"], indent=2))
    else:
        print(table(result["differences"]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    result = _call(args, "reconcile_run")
    print(table(result["differences"]) if result["differences"] else "clean: no differences")
    if result["halt"]:
        print(f"trading HALTED: {result['reason']}")
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    action: str = args.action
    preview = _call(args, "reconcile_preview", {"id": args.id, "action": action})
    print(preview["text"])
    if not args.yes:
        if not sys.stdin.isatty():
            from tradeterm.errors import UserError

            raise UserError(f"reconcile {action}: not a terminal; pass --yes to act without asking")
        if input("Go ahead? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing done")
            return 1
    done = _call(args, f"reconcile_{action}", {"id": args.id})
    print(f"{done['id']} {done['status']}: {done['note']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `reconcile` with list / run / adopt / close / ignore (running daemon)."""
    from tradeterm.cli import _add_config

    p = sub.add_parser(
        "reconcile", help="reconciliation differences of the running daemon and actions on them"
    )
    rsub = p.add_subparsers(dest="reconcile_command", metavar="ACTION", required=True)
    q = rsub.add_parser("list", help="open and ignored differences, then recent history")
    _add_config(q)
    q.add_argument("--json", action="store_true", help="print them as JSON")
    q.set_defaults(func=cmd_list)
    q = rsub.add_parser("run", help="reconcile now (an open difference halts under policy halt)")
    _add_config(q)
    q.set_defaults(func=cmd_run)
    for action, text in (
        ("adopt", "take the venue's side (through the risk gate)"),
        ("close", "orphan position: reduce-only close; orphan order: cancel at the venue"),
        ("ignore", "keep it listed, no longer halting"),
    ):
        q = rsub.add_parser(action, help=text)
        _add_config(q)
        q.add_argument("id", metavar="ID", help="difference id, as `reconcile list` shows it")
        q.add_argument("--yes", action="store_true", help="do not ask before acting")
        q.set_defaults(func=cmd_action, action=action)
