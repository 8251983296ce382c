"""`tradeterm drift`: compare what a wallet did with what the event backtest says it would have
done over the same stored bars (tradeterm.backtest.drift)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `drift`."""
    from tradeterm.cli import _add_config

    p = sub.add_parser(
        "drift",
        help="re-run the event backtest over a wallet's period and compare trade by trade",
    )
    _add_config(p)
    p.add_argument("--wallet", required=True, metavar="W", help="paper:<domain> or live:<domain>")
    p.add_argument(
        "--from", dest="date_from", metavar="D", help="period start (UTC; default: first trade)"
    )
    p.add_argument(
        "--to", dest="date_to", metavar="D", help="period end (UTC; default: last stored bar)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-export", action="store_true", help="do not write reports/..._drift_W/")
    p.set_defaults(func=cmd_drift)


def cmd_drift(args: argparse.Namespace) -> int:
    import time

    from tradeterm.backtest.drift import compute_drift, export_drift
    from tradeterm.cli import _load, _user_error
    from tradeterm.cli_backtest import parse_date

    config = _load(args)
    start = parse_date(args.date_from, "--from") if args.date_from else None
    end = parse_date(args.date_to, "--to") if args.date_to else None
    if start is not None and end is not None and start >= end:
        raise _user_error("--from must be before --to")
    report = compute_drift(config, args.wallet, start, end)
    folder = None
    if not args.no_export:
        folder = export_drift(report, Path(config.storage.reports_dir), int(time.time() * 1000))
    if args.json:
        data = report.to_dict()
        data["report_dir"] = str(folder) if folder else ""
        print(json.dumps(data, indent=2))
    else:
        print(report.summary())
        if folder is not None:
            print(f"report: {folder}")
    return 0
