"""`tradeterm slippage show [--pair P]` and `tradeterm slippage refit`: the slippage every fill
recorded against its decision price and the per-pair models fitted to it (state/paper.db and,
when it exists, state/live.db). Adverse slippage is positive, in bps of the decision price.

`show` reads only; `refit` fits every pair with at least `costs.min_fills` taker fills now (what
the running node does every `costs.refit_every_s`) -- useful before a backtest with
`--slippage fitted` when the node has not refitted yet.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradeterm.config import TradetermConfig
    from tradeterm.storage.db import Storage

BOOKS = (("paper", "paper.db"), ("live", "live.db"))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `slippage show` and `slippage refit`."""
    from tradeterm.cli import _add_config

    p = sub.add_parser("slippage", help="recorded fill slippage and the per-pair fitted models")
    ssub = p.add_subparsers(dest="slippage_command", required=True, metavar="COMMAND")
    show = ssub.add_parser(
        "show", help="per pair: fills, mean/median/p90 bps, fitted vs configured"
    )
    _add_config(show)
    show.add_argument("--pair", metavar="P", help='one market: "venue:symbol" or a symbol')
    show.add_argument("--json", action="store_true", help="print the rows as JSON")
    show.set_defaults(func=cmd_show)
    refit = ssub.add_parser("refit", help="fit every pair with enough fills now")
    _add_config(refit)
    refit.set_defaults(func=cmd_refit)


def open_books(state_dir: Path) -> list[tuple[str, Storage]]:
    """The wallet databases that exist in a state folder (UserError when none does)."""
    from tradeterm.errors import UserError
    from tradeterm.storage.db import Storage

    found = [
        (name, Storage(state_dir / file)) for name, file in BOOKS if (state_dir / file).is_file()
    ]
    if not found:
        raise UserError(
            f"storage.state_dir: no state database in {state_dir} (paper.db): run the node first"
        )
    return found


def _close(books: list[tuple[str, Storage]]) -> None:
    for _name, store in books:
        store.close()


def _config(args: argparse.Namespace) -> TradetermConfig:
    from tradeterm.cli import _load_tree

    return _load_tree(args)


def cmd_show(args: argparse.Namespace) -> int:
    from tradeterm.errors import UserError
    from tradeterm.execution.slippage import report_json, report_text, slippage_report
    from tradeterm.storage import slippage as slip_db

    config = _config(args)
    books = open_books(Path(config.storage.state_dir))
    try:
        rows = slippage_report(books, config, args.pair)
        if args.pair is not None and not rows:
            known = sorted({f"{v}:{s}" for _n, st in books for v, s, _c in slip_db.pairs(st)})
            raise UserError(
                f"--pair {args.pair}: no recorded fills for that pair"
                f" (recorded: {', '.join(known) or 'none yet'})"
            )
    finally:
        _close(books)
    if args.json:
        print(json.dumps(report_json(rows), indent=2))
        return 0
    if not rows:
        print("no fills recorded yet: slippage is recorded with every paper and live fill")
        return 0
    print(report_text(rows))
    print(
        f"costs.slippage = {config.costs.slippage!r}; fits need {config.costs.min_fills} taker"
        f" fills and are refitted every {config.costs.refit_every_s:g} s by the running node"
    )
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    from tradeterm.clock import LiveClock
    from tradeterm.execution.slippage import SlippageBook

    config = _config(args)
    books = open_books(Path(config.storage.state_dir))
    try:
        book = SlippageBook(config.costs, LiveClock(), [s for _n, s in books])
        made = book.refit()
    finally:
        _close(books)
    for fit in made:
        print(
            f"{fit.key}: n={fit.n} fixed {fit.fixed_bps:.2f} bps + {fit.atr_coef:.4f} x ATR"
            f" (residual {fit.residual:.2f} bps)"
        )
    if not made:
        print(
            f"no pair has {config.costs.min_fills} taker fills in the last {config.costs.window_days:g} days"
        )
    return 0
