"""`tradeterm` command line (also `python -m tradeterm`).

Start-up must stay fast (`tradeterm --help` well under 0.3 s on a Pi), so this module imports only
the standard library at the top; each command imports what it needs when it runs.

User errors (bad arguments, config, data files) print one clear line per problem and exit 2,
never a traceback. An unexpected error prints one line and writes the traceback to a crash log.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

DEFAULT_CONFIG = "configs/default.toml"
EXIT_USER_ERROR = 2

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (and exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        default=None,
        metavar="PATH",
        help=f"config file (default: $TRADETERM_CONFIG or {DEFAULT_CONFIG})",
    )


def _config_path(args: argparse.Namespace) -> str:
    return str(
        getattr(args, "config", None) or os.environ.get("TRADETERM_CONFIG") or DEFAULT_CONFIG
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


# ---- commands ----------------------------------------------------------------------------------
def cmd_validate_config(args: argparse.Namespace) -> int:
    from tradeterm.checks import validate_config_file

    problems = validate_config_file(args.path)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"{args.path}: ok")
    return 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    from tradeterm.config.schema import config_schema_text

    sys.stdout.write(config_schema_text())
    return 0


def cmd_strategies_list(args: argparse.Namespace) -> int:
    from tradeterm.checks import strategies_table

    print(strategies_table())
    return 0


def cmd_sim_ticks(args: argparse.Namespace) -> int:
    import asyncio

    from tradeterm.checks import stream_sim_ticks

    try:
        return asyncio.run(
            stream_sim_ticks(_config_path(args), args.symbol, args.seconds, sys.stdout)
        )
    except KeyboardInterrupt:
        return 130


def cmd_data_import(args: argparse.Namespace) -> int:
    from tradeterm.checks import import_candles

    print(
        import_candles(_config_path(args), Path(args.file), args.venue, args.symbol, args.timeframe)
    )
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from tradeterm.checks import check_candles

    text, damaged = check_candles(_config_path(args))
    print(text)
    return 1 if damaged else 0


# ---- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tradeterm",
        description="Terminal operator console and headless daemon for a portfolio of trading strategies.",
    )
    _add_config(parser)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate-config", help="check a config file; exit 2 listing every problem")
    p.add_argument("path", metavar="PATH", help="TOML config file")
    p.set_defaults(func=cmd_validate_config)

    p = sub.add_parser("config", help="config tools")
    csub = p.add_subparsers(
        dest="config_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    cp = csub.add_parser("schema", help="print the JSON Schema of the config (configs/schema.json)")
    cp.set_defaults(func=cmd_config_schema)

    p = sub.add_parser("strategies", help="strategy registry")
    ssub = p.add_subparsers(
        dest="strategies_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    sp = ssub.add_parser(
        "list", help="registered strategies: name, version, parameters with bounds"
    )
    sp.set_defaults(func=cmd_strategies_list)

    p = sub.add_parser("sim", help="the embedded simulated venue")
    simsub = p.add_subparsers(
        dest="sim_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    sp = simsub.add_parser("ticks", help="print live ticks of a simulated index")
    _add_config(sp)
    sp.add_argument("--symbol", "-s", default="R_100", help="sim symbol (default R_100)")
    sp.add_argument(
        "--seconds",
        "-n",
        type=_positive_float,
        default=10.0,
        help="how long to stream (default 10)",
    )
    sp.set_defaults(func=cmd_sim_ticks)

    p = sub.add_parser("data", help="candle store: import files, check integrity")
    dsub = p.add_subparsers(
        dest="data_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    dp = dsub.add_parser("import", help="import a CSV/parquet candle file into the candle store")
    _add_config(dp)
    dp.add_argument(
        "file",
        metavar="FILE",
        help="CSV or parquet: ts,open,high,low,close,volume (ts = bar open, epoch ms UTC)",
    )
    dp.add_argument("--venue", required=True, help="venue name the candles belong to")
    dp.add_argument("--symbol", required=True, help="symbol")
    dp.add_argument("--timeframe", required=True, help="bar timeframe, e.g. 5m")
    dp.set_defaults(func=cmd_data_import)
    dp = dsub.add_parser(
        "check", help="report gaps, duplicates and misaligned bars in the candle store"
    )
    _add_config(dp)
    dp.set_defaults(func=cmd_data_check)

    return parser


def _report_crash(exc: BaseException) -> None:
    import traceback

    log_dir = Path(os.environ.get("TRADETERM_STATE", "state"))
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "crash.log").open("a", encoding="utf-8") as fh:
            traceback.print_exception(exc, file=fh)
        where = f" (traceback in {log_dir / 'crash.log'})"
    except OSError:
        where = ""
    print(f"tradeterm: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from tradeterm import __version__

        print(f"tradeterm {__version__}")
        return 0
    func: Command | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    from tradeterm.errors import TradetermError, UserError

    try:
        return func(args)
    except UserError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        for line in problems:
            print(line, file=sys.stderr)
        return EXIT_USER_ERROR
    except TradetermError as exc:
        print(f"tradeterm: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        _report_crash(exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
