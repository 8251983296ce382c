"""`tradeterm close POSITION`, `tradeterm stop POSITION PRICE`, `tradeterm target POSITION PRICE`
-- actions on ONE position of the running daemon.

A position is named as `tradeterm status` lists it: "venue:symbol" (e.g. sim:R_100), its symbol
alone, or "wallet/venue:symbol" when two wallets hold the same market. Every action goes through
the control socket to the Control facade (source "cli"), is written to the audit journal, and
passes the same checks as in the console: a close is a reduce-only market order; a stop may only
tighten (the risk engine's reason is printed when it refuses); a target must sit on the profit
side of the current price. Refusals exit 1 with the reason; bad input exits 2.
"""

from __future__ import annotations

import argparse
import sys


def _call(args: argparse.Namespace, cmd: str, payload: dict[str, object]) -> object:
    from tradeterm.cli import _call as call  # late: tradeterm.cli imports this module

    return call(args, cmd, payload)


def cmd_close(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            from tradeterm.errors import UserError

            raise UserError("close: not a terminal; pass --yes to close without the prompt")
        answer = input(f"Close {args.position} at market? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not closed")
            return 1
    result = _call(args, "close_position", {"position": args.position})
    assert isinstance(result, dict)
    print(result["summary"])
    return 0


def _levels(result: object) -> str:
    assert isinstance(result, dict)
    return (
        f"{result['wallet_id']}/{result['venue']}:{result['symbol']}: "
        f"stop {result['stop_loss']:g}, target {result['take_profit']:g}"
    )


def cmd_stop(args: argparse.Namespace) -> int:
    payload = {"position": args.position, "price": args.price}
    print(_levels(_call(args, "move_stop", payload)))
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    payload = {"position": args.position, "price": args.price}
    print(_levels(_call(args, "move_target", payload)))
    return 0


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a price") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a price (a positive number)")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `close`, `stop` and `target` (running daemon)."""
    from tradeterm.cli import _add_config

    where = (
        'open position: "venue:symbol" (as `status` lists it), a symbol, or "wallet/venue:symbol"'
    )
    p = sub.add_parser("close", help="close one position at market, reduce-only (running daemon)")
    _add_config(p)
    p.add_argument("position", metavar="POSITION", help=where)
    p.add_argument("--yes", action="store_true", help="do not ask before closing")
    p.set_defaults(func=cmd_close)
    for name, func, text in (
        ("stop", cmd_stop, "move one position's stop: tighten only (running daemon)"),
        ("target", cmd_target, "move one position's take profit (running daemon)"),
    ):
        p = sub.add_parser(name, help=text)
        _add_config(p)
        p.add_argument("position", metavar="POSITION", help=where)
        p.add_argument("price", metavar="PRICE", type=_price, help="the new level")
        p.set_defaults(func=func)
