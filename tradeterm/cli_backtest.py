"""`tradeterm backtest ...` and `tradeterm backtests list|show|export|delete`.

The work is done by `tradeterm.backtest.service` (the console lab and the calibrator call the
same thing); this module only parses, prints and maps bad input to exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeterm.backtest.index import RunRecord
    from tradeterm.backtest.service import BacktestOptions, RunOutcome

ENGINES = ("vector", "event", "backtrader")
DOMAINS = ("synthetics", "crypto_spot", "crypto_perp")
SHOWN_METRICS = (
    ("final_equity", "money"), ("total_return", "pct"), ("hodl_return", "pct"), ("cagr", "pct"),
    ("volatility", "pct"), ("sharpe", "num"), ("sortino", "num"), ("max_drawdown", "pct"),
    ("max_drawdown_duration_ms", "dur"), ("calmar", "num"), ("mar", "num"),
    ("trade_count", "int"), ("win_rate", "pct"), ("profit_factor", "num"),
    ("expectancy", "money"), ("expectancy_r", "num"), ("exposure", "pct"),
    ("avg_hold_ms", "dur"), ("best_trade", "money"), ("worst_trade", "money"),
    ("fees_paid", "money"), ("funding_paid", "money"), ("liquidated", "bool"),
)  # fmt: skip


def _user_error(text: str) -> Exception:
    from tradeterm.errors import UserError

    return UserError(text)


def parse_value(text: str) -> float | int | bool | str:
    """A --param/--grid value: true/false, an int, a float, else the text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    if not math.isfinite(value):
        raise _user_error(f"value {text!r} is not a finite number")
    return value


def parse_params(items: Sequence[str], option: str) -> dict[str, float | int | bool | str]:
    out: dict[str, float | int | bool | str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise _user_error(f"{option}: expected NAME=VALUE, got {item[:60]!r}")
        out[name.strip()] = parse_value(value)
    return out


def parse_grid(items: Sequence[str]) -> dict[str, list[float | int | bool | str]]:
    out: dict[str, list[float | int | bool | str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        parts = [v for v in values.split(",") if v.strip()]
        if not sep or not name.strip() or not parts:
            raise _user_error(f"--grid: expected NAME=V1,V2,..., got {item[:60]!r}")
        out[name.strip()] = [parse_value(v) for v in parts]
    return out


def parse_date(text: str, option: str) -> int:
    """Epoch ms UTC from YYYY-MM-DD, an ISO date-time (UTC unless it says otherwise) or ms."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise _user_error(
            f"{option}: {text[:40]!r} is not a date (YYYY-MM-DD, ISO date-time or epoch ms)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _positive(kind: type, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text[:24]!r}") from None
        if not (isinstance(value, int) or math.isfinite(value)) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive {what}, got {text[:24]}")
        return value

    return parse


# ---- backtest --------------------------------------------------------------------------------
def options_from_args(args: argparse.Namespace) -> BacktestOptions:
    from tradeterm.backtest.service import BacktestOptions
    from tradeterm.domain.enums import Domain

    if args.days is not None and args.date_from is not None:
        raise _user_error("--days and --from: give one of them")
    start = parse_date(args.date_from, "--from") if args.date_from else None
    end = parse_date(args.date_to, "--to") if args.date_to else None
    if start is not None and end is not None and start >= end:
        raise _user_error("--from must be before --to")
    if args.live_windows and args.engine != "event":
        raise _user_error("--live-windows applies to --engine event")
    if not 1.0 <= args.leverage <= 125.0:
        raise _user_error(f"--leverage {args.leverage:g} is outside 1..125")
    return BacktestOptions(
        strategies=tuple(args.strategy or ()), symbols=tuple(args.symbol or ()),
        venue=args.venue or "", timeframe=args.timeframe or "", start_ms=start, end_ms=end,
        days=args.days, engine=args.engine, params=parse_params(args.param or (), "--param"),
        grid=parse_grid(args.grid or ()), leverage=args.leverage, margin=args.margin,
        cash=args.cash,
        domain=Domain(args.domain) if args.domain else None, history_bars=args.bars,
        walk_forward=args.walk_forward, splits=args.splits, is_ratio=args.is_ratio,
        wf_mode="anchored" if args.anchored else "rolling", wf_metric=args.metric,
        report=not args.no_report, slippage=args.slippage, live_windows=args.live_windows,
    )  # fmt: skip


def cmd_backtest(args: argparse.Namespace) -> int:
    from tradeterm.backtest.service import BacktestService
    from tradeterm.cli import _load_tree

    if not 0.0 < args.is_ratio < 1.0:
        raise _user_error(f"--is-ratio {args.is_ratio:g} must be between 0 and 1 (exclusive)")
    options = options_from_args(args)
    cfg = _load_tree(args)
    with _Progress(quiet=args.json) as progress:
        service = BacktestService(cfg, progress=progress)
        outcomes = service.run(options)
    if args.json:
        print(json.dumps(json_document(outcomes), indent=2, allow_nan=False, default=str))
        return 0
    for outcome in outcomes:
        print_outcome(outcome, color=sys.stdout.isatty())
    return 0


def json_document(outcomes: Sequence[RunOutcome]) -> dict[str, Any]:
    """One run: its document (final_equity, trade_count, metrics, ... at the top). Several:
    {"runs": [...]} with final_equity, initial_cash and trade_count summed over the runs."""
    if len(outcomes) == 1:
        return outcomes[0].to_dict()
    runs = [o.to_dict() for o in outcomes]
    return {
        "final_equity": sum(o.metrics.final_equity for o in outcomes),
        "initial_cash": sum(o.metrics.initial_cash for o in outcomes),
        "trade_count": sum(o.metrics.trade_count for o in outcomes),
        "runs": runs,
    }


class _Progress:
    """A rich progress bar on stderr (nothing with --json or when stderr is not a terminal)."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return lambda what, done, total: None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("backtest {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self._bar.__enter__()

        def update(what: str, done: int, total: int) -> None:
            if self._task is None:
                self._task = self._bar.add_task(what, total=total)
            self._bar.update(self._task, description=what, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def fmt_metric(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "dur":
        hours = float(value) / 3_600_000
        return f"{hours / 24:,.1f} d" if hours >= 48 else f"{hours:,.1f} h"
    return f"{value:,.3f}"


def slippage_line(used: dict[str, Any]) -> str:
    """Which slippage model priced the run, in one line."""
    text = f"slippage: {used['model']} ({used['fill_slippage_bps']:.2f} bps per fill)"
    pairs = used.get("pairs") or {}
    if pairs:
        fits = ", ".join(
            f"{s} {p['fixed_bps']:.2f} bps + {p['atr_coef']:.4f} x ATR (n={p['n']}, {p['pair']})"
            for s, p in pairs.items()
        )
        text += f": {fits}"
    return text


def print_outcome(outcome: RunOutcome, *, color: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from tradeterm.charts import equity_chart, render_text

    result, metrics = outcome.result, outcome.metrics.to_dict()
    columns = shutil.get_terminal_size((120, 24)).columns
    console = Console(force_terminal=color, no_color=not color, highlight=False,
                      width=max(100, min(columns, 160)))  # fmt: skip
    symbols = (
        ", ".join(result.symbols) if len(result.symbols) <= 4 else f"{len(result.symbols)} symbols"
    )
    title = f"run {outcome.run_id}: {result.strategy} on {symbols} ({result.timeframe}, {result.engine})"
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, kind in SHOWN_METRICS:
        table.add_row(name, fmt_metric(metrics.get(name), kind))
    console.print(table)
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))
    print(render_text(equity_chart(result), width, 20, color=color))
    if outcome.walkforward is not None:
        print_walkforward(outcome.walkforward, console, width, color=color)
    if outcome.grid:
        print_grid(outcome, console)
    if outcome.slippage:
        print(slippage_line(outcome.slippage))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.report is not None:
        print(f"report: {outcome.report}")
    print()


def print_walkforward(wf: Any, console: Any, width: int, *, color: bool) -> None:
    """Per split: the parameters chosen in-sample, both scores and their gap; then the bars."""
    from rich.table import Table

    from tradeterm.charts import render_text, walkforward_chart

    metric = wf.settings.metric
    table = Table(
        title=f"walk-forward ({wf.settings.mode}, {metric}; headline: stitched out-of-sample)"
    )
    for name in (
        "split",
        "out-of-sample (UTC)",
        "params",
        f"IS {metric}",
        f"OOS {metric}",
        "gap",
        "OOS trades",
    ):
        table.add_column(
            name, justify="left" if name in ("params", "out-of-sample (UTC)") else "right"
        )
    for split in wf.splits:
        params = ", ".join(f"{k}={v}" for k, v in split.params.items() if k in wf.varied)
        table.add_row(str(split.index + 1), f"{_iso(split.start_ms)} - {_iso(split.end_ms)}", params,
                      fmt_metric(split.is_score, "num"), fmt_metric(split.oos_score, "num"),
                      fmt_metric(split.gap, "num"), str(split.oos_metrics.trade_count))  # fmt: skip
    console.print(table)
    chart = walkforward_chart([str(s.index + 1) for s in wf.splits], [s.is_score for s in wf.splits],
                              [s.oos_score for s in wf.splits], metric=metric)  # fmt: skip
    print(render_text(chart, width, 16, color=color))


def print_grid(outcome: RunOutcome, console: Any, shown: int = 10) -> None:
    """The best rows of a grid by the chosen metric (the report's run.json has every row)."""
    from rich.table import Table

    varied = [k for k in outcome.grid[0][0] if len({str(p[k]) for p, _ in outcome.grid}) > 1]
    table = Table(
        title=f"grid: {len(outcome.grid)} combinations, best {min(shown, len(outcome.grid))} "
        f"by {outcome.metric} (the first is reported above)"
    )
    for name in (*varied, "final_equity", "sharpe", "max_drawdown", "calmar", "trades"):
        table.add_column(name, justify="right")
    from tradeterm.backtest.service import score_of

    rows = sorted(outcome.grid, key=lambda r: -score_of(r[1], outcome.metric))[:shown]
    for params, m in rows:
        table.add_row(*(str(params[k]) for k in varied), fmt_metric(m.final_equity, "money"),
                      fmt_metric(m.sharpe, "num"), fmt_metric(m.max_drawdown, "pct"),
                      fmt_metric(m.calmar, "num"), str(m.trade_count))  # fmt: skip
    console.print(table)


# ---- backtests list/show/export/delete -------------------------------------------------------
def _index(args: argparse.Namespace) -> Any:
    from tradeterm.backtest.index import RunIndex
    from tradeterm.cli import _load_tree

    cfg = _load_tree(args)
    return RunIndex.open(cfg.storage.state_dir)


def _run_id(text: str) -> int:
    if not text.strip().isdigit():
        raise _user_error(f"backtests: the run id must be a number, got {text[:40]!r}")
    return int(text)


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def cmd_list(args: argparse.Namespace) -> int:
    with _index(args) as index:
        records = index.list()
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2, default=str))
        return 0
    if not records:
        print("no backtest runs yet (run `tradeterm backtest`)")
        return 0
    print(f"{'id':>4}  {'status':<9} {'kind':<11} {'strategy':<14} {'timeframe':<4} "
          f"{'symbols':<24} {'range (UTC)':<33} {'final equity':>13} {'trades':>6}")  # fmt: skip
    for r in records:
        syms = ",".join(r.symbols)
        syms = syms if len(syms) <= 24 else f"{syms[:21]}..."
        eq = r.metrics.get("final_equity")
        print(f"{r.id:>4}  {r.status:<9} {r.kind:<11} {r.strategy:<14} {r.timeframe:<4} "
              f"{syms:<24} {_iso(r.start_ms)} - {_iso(r.end_ms):<16} "
              f"{'-' if eq is None else f'{eq:,.2f}':>13} {r.metrics.get('trade_count', '-'):>6}")  # fmt: skip
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _index(args) as index:
        record = index.get(_run_id(args.id))
    doc = record.to_dict()
    report = Path(record.report_path) if record.report_path else None
    if report is not None and (report / "metrics.json").is_file():
        doc["metrics"] = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return 0
    _print_record(record, doc)
    return 0


def _print_record(record: RunRecord, doc: dict[str, Any]) -> None:
    print(f"run {record.id}: {record.status} {record.kind} {record.strategy} "
          f"{','.join(record.symbols)} {record.timeframe} ({record.engine})")  # fmt: skip
    print(f"range: {_iso(record.start_ms)} - {_iso(record.end_ms)} UTC")
    print(f"params: {json.dumps(record.params)}")
    if record.error:
        print(f"error: {record.error}")
    metrics = doc.get("metrics", {})
    for name, kind in SHOWN_METRICS:
        if name in metrics:
            print(f"  {name:<26} {fmt_metric(metrics[name], kind):>16}")
    for warning in metrics.get("warnings", []) if isinstance(metrics, dict) else []:
        print(f"warning: {warning}")
    if record.report_path:
        print(f"report: {record.report_path}")


def cmd_export(args: argparse.Namespace) -> int:
    with _index(args) as index:
        record = index.get(_run_id(args.id))
    report = Path(record.report_path) if record.report_path else None
    if report is None or not report.is_dir():
        raise _user_error(
            f"backtests: the report folder of run {record.id} is gone ({record.report_path or 'none'})"
        )
    if args.format == "csv":
        text = (report / "trades.csv").read_text(encoding="utf-8")
    else:
        doc = record.to_dict()
        doc["metrics"] = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
        doc["trades"] = json.loads((report / "trades.json").read_text(encoding="utf-8"))
        text = json.dumps(doc, indent=2, default=str) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    if args.all and args.id:
        raise _user_error("--all: give a run id or --all, not both")
    if not args.all and not args.id:
        raise _user_error("backtests: delete needs a run id, or --all --yes")
    if args.all and not args.yes:
        raise _user_error("--all: removes every run and its report; add --yes")
    with _index(args) as index:
        records = index.delete_all() if args.all else [index.delete(_run_id(args.id))]
    for record in records:
        if record.report_path and Path(record.report_path).is_dir():
            shutil.rmtree(record.report_path, ignore_errors=True)
    print(f"deleted {len(records)} run(s)")
    return 0


# ---- parsers ---------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from tradeterm.cli import _add_config, _Parser

    p = sub.add_parser(
        "backtest", help="backtest strategies; writes a report folder and indexes the run"
    )
    _add_config(p)
    p.add_argument(
        "--strategy",
        action="append",
        metavar="S",
        help="strategy (repeatable; default: the config's enabled strategies)",
    )
    p.add_argument(
        "--symbol",
        action="append",
        metavar="X",
        help="symbol (repeatable; found in the candle store under any venue; default: the strategy's universe)",
    )
    p.add_argument(
        "--venue", metavar="V", help="the venue (name or kind) whose stored candles to use"
    )
    p.add_argument("--timeframe", metavar="T", help="bar timeframe (default: the strategy's first)")
    p.add_argument(
        "--from", dest="date_from", metavar="D", help="first bar (YYYY-MM-DD, ISO, epoch ms; UTC)"
    )
    p.add_argument(
        "--to", dest="date_to", metavar="D", help="end, exclusive (YYYY-MM-DD, ISO, epoch ms; UTC)"
    )
    p.add_argument(
        "--days",
        type=_positive(float, "number of days"),
        metavar="N",
        help="the last N days of the data",
    )
    p.add_argument(
        "--bars",
        type=_positive(int, "number of bars"),
        default=3000,
        metavar="N",
        help="bars of generated synthetic history after the warm-up (default 3000)",
    )
    p.add_argument(
        "--engine", choices=ENGINES, default="vector", help="backtest engine (default vector)"
    )
    p.add_argument(
        "--live-windows",
        action="store_true",
        help="event engine: evaluate the strategy on its rolling window at every bar and play "
        "every bar, exactly as live (slower, same trades; by default the strategy is evaluated "
        "once over the history and bars where the node is idle are skipped)",
    )
    p.add_argument(
        "--param", action="append", metavar="K=V", help="strategy parameter override (repeatable)"
    )
    p.add_argument(
        "--grid",
        action="append",
        metavar="K=V1,V2",
        help="parameter grid (repeatable; best row reported by --metric)",
    )
    p.add_argument(
        "--walk-forward",
        action="store_true",
        help="walk-forward: choose parameters in-sample, score out-of-sample",
    )
    p.add_argument(
        "--splits",
        type=_positive(int, "number of splits"),
        default=5,
        metavar="N",
        help="walk-forward splits (default 5)",
    )
    p.add_argument(
        "--is-ratio",
        type=float,
        default=0.7,
        metavar="R",
        help="walk-forward in-sample share of each window (default 0.7)",
    )
    p.add_argument(
        "--anchored",
        action="store_true",
        help="walk-forward: in-sample windows start at the first bar and grow",
    )
    p.add_argument(
        "--metric",
        default="calmar",
        metavar="M",
        help="metric that chooses parameters (default calmar)",
    )
    p.add_argument(
        "--leverage",
        type=float,
        default=1.0,
        metavar="L",
        help="leverage on perpetuals (default 1)",
    )
    p.add_argument(
        "--margin",
        choices=("isolated", "cross"),
        default="isolated",
        help="margin mode (default isolated)",
    )
    p.add_argument(
        "--cash",
        type=_positive(float, "amount"),
        metavar="C",
        help="starting equity (default: wallets.paper_balance)",
    )
    p.add_argument(
        "--domain",
        choices=DOMAINS,
        help="trade the symbols as this domain (default: guessed from the venue and data)",
    )
    p.add_argument(
        "--no-report", action="store_true", help="index the run but write no report folder"
    )
    p.add_argument(
        "--slippage",
        choices=("configured", "fitted"),
        default="configured",
        help="slippage of fills: the config's fill model, or the per-pair model fitted from "
        "recorded fills (state DB; see `tradeterm slippage show`)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print only JSON (final_equity and trade_count at the top)",
    )
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("backtests", help="indexed backtest runs: list, show, export, delete")
    bsub = p.add_subparsers(
        dest="backtests_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    sp = bsub.add_parser("list", help="every run, newest first")
    _add_config(sp)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_list)
    sp = bsub.add_parser("show", help="one run: settings, metrics, report folder")
    _add_config(sp)
    sp.add_argument("id", metavar="ID")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_show)
    sp = bsub.add_parser("export", help="one run's trades (csv) or run, metrics and trades (json)")
    _add_config(sp)
    sp.add_argument("id", metavar="ID")
    sp.add_argument("--format", choices=("csv", "json"), default="json")
    sp.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of stdout")
    sp.set_defaults(func=cmd_export)
    sp = bsub.add_parser("delete", help="delete a run (or --all --yes) and its report folder")
    _add_config(sp)
    sp.add_argument("id", metavar="ID", nargs="?")
    sp.add_argument("--all", action="store_true", help="every run")
    sp.add_argument("--yes", action="store_true", help="confirm --all")
    sp.set_defaults(func=cmd_delete)


# ---- data import --kind funding|mark ---------------------------------------------------------
def import_rates(cfg: Any, args: argparse.Namespace) -> int:
    """`tradeterm data import FILE --kind funding|mark --venue V --symbol S`: funding rates
    (ts,rate) into the funding store, mark-price bars into the mark candle store; both under
    `storage.state_dir`, where backtests find them. --venue: a configured name or a kind."""
    from tradeterm.checks import VENUE_KINDS, check_name
    from tradeterm.marketdata.funding import (
        FundingStore,
        funding_root,
        mark_store_root,
        read_funding_file,
    )

    venue = check_name("--venue", args.venue)
    symbol = check_name("--symbol", args.symbol)
    if venue not in cfg.venues and venue not in VENUE_KINDS:
        known = ", ".join(sorted(cfg.venues)) or "none"
        raise _user_error(f"--venue: no venue named '{venue}' in the config (configured: {known}) "
                          f"and not a venue kind ({', '.join(VENUE_KINDS)})")  # fmt: skip
    state = Path(cfg.storage.state_dir)
    path = Path(args.file)
    if args.kind == "funding":
        rates = read_funding_file(path)
        added = FundingStore(funding_root(state)).write(venue, symbol, rates)
        doc: dict[str, Any] = {"kind": "funding", "file": str(path), "venue": venue,
                               "symbol": symbol, "rows_read": len(rates), "rows_added": added,
                               "first_ts": int(rates.ts[0]), "last_ts": int(rates.ts[-1])}  # fmt: skip
    else:
        from tradeterm.domain.timeframes import TIMEFRAME_MS
        from tradeterm.marketdata.importer import import_file
        from tradeterm.marketdata.store import CandleStore

        if args.timeframe not in TIMEFRAME_MS:
            raise _user_error(
                f"--timeframe: give the mark bars' timeframe (known: {', '.join(TIMEFRAME_MS)})"
            )
        report = import_file(
            CandleStore(mark_store_root(state)), path, venue, symbol, args.timeframe
        )
        doc = {"kind": "mark", "file": str(path), "venue": venue, "symbol": symbol,
               "timeframe": args.timeframe, "rows_read": report.rows_read,
               "rows_added": report.rows_added, "first_ts": report.first_ts,
               "last_ts": report.last_ts}  # fmt: skip
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"imported {doc['rows_read']} {doc['kind']} rows of {symbol} ({venue}) from {path}: "
              f"{doc['rows_added']} new, {_iso(doc['first_ts'])} - {_iso(doc['last_ts'])} UTC")  # fmt: skip
    return 0
