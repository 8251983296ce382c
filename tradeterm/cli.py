"""`tradeterm` command line (also `python -m tradeterm`).

Start-up must stay fast (`tradeterm --help` well under 0.3 s on a Pi), so this module imports only
the standard library at the top; each command imports what it needs when it runs.

User errors (bad arguments, config, data files) print one clear line per problem and exit 2,
never a traceback. An unexpected error prints one line and writes the traceback to a crash log.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tradeterm.config import TradetermConfig

DEFAULT_CONFIG = "configs/default.toml"
EXIT_USER_ERROR = 2

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (and exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 240:  # argparse repeats what it did not understand: never all of it
            message = f"{message[:240]}... ({len(message):,} characters)"
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_config(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--config and --set, on the top-level parser (`tradeterm --config X run`) and on every
    sub-command (`tradeterm run --config X`); both placements are honoured."""
    suffix = "_top" if top else ""
    parser.add_argument(
        "--config",
        "-c",
        dest=f"config{suffix}",
        default=None,
        metavar="PATH",
        help=f"config file (default: $TRADETERM_CONFIG or {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--set",
        dest=f"set{suffix}",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, validated like the file (repeatable), e.g. "
        "--set risk.max_drawdown=0.1",
    )


@dataclass(frozen=True, slots=True)
class ConfigChoice:
    """Which config a command reads: the file, the --set overrides, and whether the user named
    the file (--config or $TRADETERM_CONFIG) rather than falling back to the default."""

    path: str
    overrides: tuple[str, ...]
    explicit: bool


def _config_choice(args: argparse.Namespace) -> ConfigChoice:
    here = getattr(args, "config", None)
    top = getattr(args, "config_top", None)
    if here and top and here != top:
        raise _user_error(f"--config given twice with different files: {top} and {here}")
    env = os.environ.get("TRADETERM_CONFIG")
    path = here or top or env or DEFAULT_CONFIG
    overrides = (*getattr(args, "set_top", ()), *getattr(args, "set", ()))
    return ConfigChoice(str(path), tuple(overrides), bool(here or top or env))


def _seconds(limit: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in (0, limit]."""

    def parse(text: str) -> float:
        shown = text if len(text) <= 24 else f"{text[:24]}..."
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds, got {shown!r}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number of seconds, got {shown}")
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be > 0 and <= {limit:g}, got {shown}")
        return value

    return parse


MAX_TICK_SECONDS = 86_400.0
MAX_RUN_SECONDS = 366 * 86_400.0


# ---- commands ----------------------------------------------------------------------------------
def cmd_validate_config(args: argparse.Namespace) -> int:
    from tradeterm.checks import validate_config_file

    problems = validate_config_file(args.path, _config_choice(args).overrides)
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

    if _config_choice(args).explicit:
        _load(args)  # a named config must exist and be valid, even where it adds nothing
    print(strategies_table())
    return 0


def cmd_sim_ticks(args: argparse.Namespace) -> int:
    import asyncio

    from tradeterm.checks import stream_sim_ticks

    try:
        return asyncio.run(
            stream_sim_ticks(_load_tree(args), args.symbol, args.seconds, sys.stdout)
        )
    except KeyboardInterrupt:
        return 130


def cmd_data_import(args: argparse.Namespace) -> int:
    import json

    from tradeterm.checks import import_candles, import_json, import_text

    cfg = _load_tree(args)
    if args.kind != "candles":  # funding rates or mark-price bars (tradeterm.cli_backtest)
        from tradeterm.cli_backtest import import_rates

        return import_rates(cfg, args)
    if not args.timeframe:
        raise _user_error("--timeframe: required for candles, e.g. --timeframe 5m")
    report = import_candles(cfg, Path(args.file), args.venue, args.symbol, args.timeframe)
    print(json.dumps(import_json(report), indent=2) if args.json else import_text(report))
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    """Exit 0 when every series is clean, 1 when any has gaps, duplicates, misaligned or
    misfiled rows or an unreadable file."""
    import json

    from tradeterm.checks import (
        candle_store_root,
        candles_damaged,
        check_candles,
        check_json,
        check_text,
    )

    cfg = _load_tree(args)
    reports = check_candles(cfg)
    root = candle_store_root(cfg)
    print(
        json.dumps(check_json(reports, root), indent=2) if args.json else check_text(reports, root)
    )
    return 1 if candles_damaged(reports) else 0


def _load(args: argparse.Namespace) -> TradetermConfig:
    """The fully checked config (what a node would run): exit 2 on any problem."""
    from tradeterm.checks import load_checked_config

    choice = _config_choice(args)
    return load_checked_config(choice.path, choice.overrides)


def _load_tree(args: argparse.Namespace) -> TradetermConfig:
    """The config tree (schema-valid) for commands that only need paths and venue settings."""
    from tradeterm.config import load_config

    choice = _config_choice(args)
    return load_config(choice.path, choice.overrides)


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from tradeterm.node import NodeOptions

    cfg = _load(args)
    options = NodeOptions(
        live_confirmed=args.confirm,
        paper_only=args.paper_only,
        config_overrides=_config_choice(args).overrides,
    )
    _live_banner(cfg, options)
    if not args.no_ui:
        from tradeterm.tui.factory import run_console

        return run_console(cfg, options)
    from tradeterm.daemon import run_daemon

    return asyncio.run(run_daemon(cfg, options, duration_s=args.duration))


def _live_banner(cfg: object, options: object) -> None:
    from tradeterm.node import live_enabled

    if live_enabled(cfg, options):  # type: ignore[arg-type]
        print(
            "LIVE trading enabled: wallets.live.approved = true and --confirm given",
            file=sys.stderr,
        )


def _socket(args: argparse.Namespace) -> Path:
    from tradeterm.daemon import socket_path

    cfg = _load_tree(args)
    return socket_path(cfg, Path(cfg.storage.state_dir))


def _call(args: argparse.Namespace, cmd: str, payload: dict[str, object] | None = None) -> object:
    from tradeterm.ipc import call

    return call(_socket(args), cmd, payload)


def cmd_status(args: argparse.Namespace) -> int:
    import json

    result = _call(args, "status")
    assert isinstance(result, dict)
    print(json.dumps(result["status"], indent=2) if args.json else result["text"])
    return 0


def cmd_flatten(args: argparse.Namespace) -> int:
    preview = _call(args, "flatten_preview")
    assert isinstance(preview, dict)
    print(_preview_text(preview))
    if not args.yes:
        if not sys.stdin.isatty():
            raise _user_error("flatten: not a terminal; pass --yes to flatten without the prompt")
        if input("Type FLATTEN to close everything: ").strip() != "FLATTEN":
            print("not flattened")
            return 1
    if getattr(args, "pause", False):  # flatten-and-pause: no new entry slips in between
        _call(args, "pause")
        print("paused: no new entries (tradeterm resume to trade again)")
    result = _call(args, "flatten")
    assert isinstance(result, dict)
    print(result["summary"])
    return 0 if result["ok"] else 1


def _preview_text(preview: dict[str, object]) -> str:
    lines = []
    for wallet in preview.get("wallets", []):  # type: ignore[attr-defined]
        lines.append(
            f"{wallet['wallet_id']}: {len(wallet['positions'])} position(s), {len(wallet['working_orders'])}"
            f" working order(s), {wallet['pending_confirmations']} pending; est. cost {wallet['estimated_cost']:.2f}"
        )
        for pos in wallet["positions"]:
            lines.append(
                f"    close {pos['side']} {pos['qty']:g} {pos['key']} @ ~{pos['mark']:g} (uPnL {pos['unrealized_pnl']:+.2f})"
            )
    return "\n".join(lines) or "nothing open: no positions, orders or confirmations"


def _user_error(text: str) -> Exception:
    from tradeterm.errors import UserError

    return UserError(text)


def cmd_approve(args: argparse.Namespace) -> int:
    result = _call(args, "approve", {"id": args.id})
    assert isinstance(result, dict)
    print(f"{result['id']}: {result['status']} {result.get('reason', '')}".rstrip())
    return 0 if result["status"] == "approved" else 1


def cmd_reject(args: argparse.Namespace) -> int:
    result = _call(args, "reject", {"id": args.id, "reason": args.reason})
    assert isinstance(result, dict)
    print(f"{result['id']}: {result['status']}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    _call(args, "pause")
    print("paused: no new entries (REDUCING); exits keep working")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    _call(args, "resume")
    print("resumed: ACTIVE")
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    if args.stage_command == "gates":
        result = _call(args, "gates")
        assert isinstance(result, dict)
        print(result["text"])
        return 0
    if args.stage_command == "promote":
        result = _call(args, "promote", {"force": args.force})
    else:
        result = _call(
            args, "set_stage", {"index": args.index, "reason": args.reason, "force": args.force}
        )
    assert isinstance(result, dict)
    print(
        f"stage {result['from_index']} -> {result['to_index']} ({result['name']}): {result['reason']}"
    )
    return 0


# ---- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tradeterm",
        description="Terminal operator console and headless daemon for a portfolio of trading strategies.",
        epilog="With no COMMAND: open the console on the config (same as `tradeterm run`).",
    )
    _add_config(parser, top=True)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate-config", help="check a config file; exit 2 listing every problem")
    p.add_argument("path", metavar="PATH", help="TOML config file")
    _add_config(p)
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
    _add_config(sp)
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
        type=_seconds(MAX_TICK_SECONDS),
        default=10.0,
        help="how long to stream (default 10, at most a day)",
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
    dp.add_argument("--timeframe", help="bar timeframe, e.g. 5m (candles and mark bars)")
    dp.add_argument("--json", action="store_true", help="machine-readable output")
    dp.add_argument("--kind", choices=("candles", "funding", "mark"), default="candles",
                    help="what FILE holds: candles, funding rates (ts,rate) or mark-price bars")  # fmt: skip
    dp.set_defaults(func=cmd_data_import)
    dp = dsub.add_parser(
        "check",
        help="report gaps, duplicates and misaligned bars in the candle store (exit 1 if any)",
    )
    _add_config(dp)
    dp.add_argument("--json", action="store_true", help="machine-readable output")
    dp.set_defaults(func=cmd_data_check)

    _add_node_commands(sub)
    from tradeterm import cli_backtest, cli_simserver

    cli_simserver.register(sub)
    cli_backtest.register(sub)
    from tradeterm import cli_calibrate

    cli_calibrate.register(sub)
    from tradeterm import cli_positions

    cli_positions.register(sub)
    from tradeterm import cli_reconcile

    cli_reconcile.register(sub)
    from tradeterm import cli_crypto

    cli_crypto.register(sub)
    from tradeterm import cli_deriv

    cli_deriv.register(sub)
    from tradeterm import cli_drift

    cli_drift.register(sub)
    from tradeterm import cli_slippage

    cli_slippage.register(sub)
    return parser


def _add_node_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the trading node: the console, or headless with --no-ui")
    _add_config(p)
    p.add_argument(
        "--no-ui", action="store_true", help="headless daemon: JSON logs, control socket"
    )
    p.add_argument(
        "--duration",
        type=_seconds(MAX_RUN_SECONDS),
        default=None,
        metavar="S",
        help="stop safely after S seconds",
    )
    p.add_argument(
        "--confirm",
        action="store_true",
        help="confirm live trading (also needs wallets.live.approved)",
    )
    p.add_argument(
        "--paper-only", action="store_true", help="run every domain of the stage on paper wallets"
    )
    p.set_defaults(func=cmd_run)

    for name, func, text in (
        (
            "status",
            cmd_status,
            "stage, trading state, wallets, positions, pending confirmations, venues",
        ),
        ("pause", cmd_pause, "pause entries (REDUCING): exits and stops keep working"),
        ("resume", cmd_resume, "resume trading (ACTIVE; also leaves HALTED)"),
    ):
        p = sub.add_parser(name, help=f"{text} (running daemon)")
        _add_config(p)
        if name == "status":
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)

    p = sub.add_parser(
        "flatten", help="cancel every order and close every position (running daemon)"
    )
    _add_config(p)
    p.add_argument("--yes", action="store_true", help="do not ask to type FLATTEN")
    p.add_argument("--pause", action="store_true", help="pause new entries first (REDUCING)")
    p.set_defaults(func=cmd_flatten)

    for name, func in (("approve", cmd_approve), ("reject", cmd_reject)):
        p = sub.add_parser(name, help=f"{name} a pending confirmation (running daemon)")
        _add_config(p)
        p.add_argument("id", metavar="ID", help="confirmation id, as shown by `tradeterm status`")
        if name == "reject":
            p.add_argument("--reason", default="", help="why (kept in the audit journal)")
        p.set_defaults(func=func)

    p = sub.add_parser("stage", help="rollout stages: gates, promote, set (running daemon)")
    stsub = p.add_subparsers(
        dest="stage_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    sp = stsub.add_parser("gates", help="the current stage's KPI gates and whether they pass")
    _add_config(sp)
    sp = stsub.add_parser("promote", help="promote to the next stage (gates must pass)")
    _add_config(sp)
    sp.add_argument("--force", action="store_true", help="promote past failed gates (audited)")
    sp = stsub.add_parser("set", help="jump to stage N")
    _add_config(sp)
    sp.add_argument("index", type=int, metavar="N")
    sp.add_argument("--reason", default="", help="why (kept in the audit journal)")
    sp.add_argument("--force", action="store_true", help="jump forward past failed gates (audited)")
    p.set_defaults(func=cmd_stage)


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
    old_umask = os.umask(0o077)  # state, logs and candles are the owner's alone (0700 / 0600)
    try:
        return _main(argv)
    finally:
        os.umask(old_umask)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    func: Command | None = getattr(args, "func", None)
    if args.version:
        func = _print_version
    if func is None:  # plain `tradeterm`: the console on the default (or given) config
        top = vars(args)
        args = parser.parse_args(["run"])
        args.config_top, args.set_top = top["config_top"], top["set_top"]
        func = args.func
    try:
        code = _run(func, args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _pipe_closed()
    return code


def _print_version(_args: argparse.Namespace) -> int:
    from tradeterm import __version__

    print(f"tradeterm {__version__}")
    return 0


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what `status | head -1` leaves behind, as every Unix tool does."""


def _pipe_closed() -> int:
    """The reader of stdout went away (`tradeterm status | head -1`): stop quietly. stdout is
    pointed at /dev/null so the interpreter's final flush cannot complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _run(func: Command, args: argparse.Namespace) -> int:
    from tradeterm.errors import TradetermError, UserError

    try:
        return func(args)
    except BrokenPipeError:
        raise
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
