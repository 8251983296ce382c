"""`tradeterm calibrate ...`, `tradeterm calibrate status|promote` and `tradeterm promote`.

    tradeterm calibrate --strategy ema_trend --symbol BTCUSDT --symbol ETHUSDT --timeframe 15m \\
        --data ../shared/data/crypto --trials 30 --jobs 2 --leverage-max 20 --margin both
    tradeterm calibrate status --study ema_trend-BTCUSDT+ETHUSDT-15m
    tradeterm calibrate promote ema_trend-BTCUSDT+ETHUSDT-15m [--trial N]

Progress goes to stderr; the results table (or `--json`) to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from typing import Any

from tradeterm.cli import _add_config, _load_tree

MB = 1 << 20


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage: sqlite:///PATH (default state/optuna.db, WAL) or "
        "postgresql://user@host/db (a study shared by workers on many hosts)",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "calibrate",
        help="Optuna search over a strategy's parameters, leverage and margin mode",
        description="Run (or join) a calibration study; `status` and `promote` act on one.",
    )
    _add_config(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_calibrate)
    csub = p.add_subparsers(dest="calibrate_command", metavar="{status,promote}")
    sp = csub.add_parser("status", help="progress of a study: trials by state, best, workers")
    _add_config(sp)
    sp.add_argument("--study", required=True, help="study name")
    _add_storage(sp)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_status)
    sp = csub.add_parser("promote", help="make a study's best (or chosen) trial the active config")
    _add_promote_options(sp, positional=True)
    p = sub.add_parser(
        "promote", help="make a calibration trial the active config (= calibrate promote)"
    )
    _add_promote_options(p, positional=False)


def _add_promote_options(p: argparse.ArgumentParser, *, positional: bool) -> None:
    _add_config(p)
    if positional:
        p.add_argument("study", help="study name")
    else:
        p.add_argument("--study", required=True, help="study name")
    p.add_argument("--trial", type=int, help="trial number (default: the best non-liquidated)")
    _add_storage(p)
    p.add_argument("--postgres", metavar="DSN", help="also write PostgreSQL active_configs here")
    p.add_argument("--by", help="who promotes (default: user@host)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_promote)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", help="registered strategy name")
    p.add_argument(
        "--symbol", action="append", default=[], help="symbol (repeat or comma-separate)"
    )
    p.add_argument("--timeframe", default="15m", help="bar timeframe (default 15m)")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day (UTC, YYYY-MM-DD)")
    p.add_argument("--to", dest="end", metavar="DATE", help="end day, exclusive (UTC)")
    p.add_argument("--days", type=int, help="the last N days of the data")
    p.add_argument("--data", metavar="DIR", help="folder of *_SYMBOL_TF_*.csv files (+ funding)")
    p.add_argument("--venue", help="candle-store venue to read (default: any)")
    p.add_argument("--domain", help="domain of the symbols (default: from the data)")
    p.add_argument("--cash", type=float, help="starting equity (default wallets.paper_balance)")
    p.add_argument("--trials", type=int, default=30, help="trials in the study (default 30)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (-1 = cores)")
    p.add_argument("--timeout", type=float, help="stop starting trials after S seconds")
    p.add_argument("--study", help="study name (default strategy-symbols-timeframe)")
    _add_storage(p)
    p.add_argument(
        "--objective",
        choices=("score", "calmar", "sharpe", "sortino"),
        default="score",
        help="score = total return / (max drawdown x leverage) (default)",
    )
    p.add_argument("--walk-forward", action="store_true", help="score out of sample on splits")
    p.add_argument("--splits", type=int, default=3, help="walk-forward splits (default 3)")
    p.add_argument(
        "--leverage-max", type=int, help="search leverage 1..N (default: risk.max_leverage)"
    )
    p.add_argument("--margin", choices=("isolated", "cross", "both"), default="isolated")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="pin a parameter")
    p.add_argument("--seed", type=int, default=42, help="sampler seed (default 42)")
    p.add_argument("--resume", action="store_true", help="continue an existing study")
    p.add_argument(
        "--priors",
        metavar="FILE",
        help="seed parameters tried first (default configs/seed_params.toml)",
    )
    p.add_argument("--json", action="store_true", help="print only JSON")


def _storage_url(args: argparse.Namespace, cfg: Any) -> str:
    from tradeterm.calibration.storage import default_url

    return str(args.storage or cfg.calibration.storage_url or default_url(cfg.storage.state_dir))


def _pins(items: list[str]) -> dict[str, Any]:
    from tradeterm.errors import UserError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UserError(f"--param {item!r}: expected NAME=VALUE")
        try:
            out[key] = json.loads(text.lower() if text.lower() in ("true", "false") else text)
        except json.JSONDecodeError:
            out[key] = text
    return out


def _symbols(items: list[str]) -> list[str]:
    return [s.strip() for item in items for s in item.split(",") if s.strip()]


def _task(args: argparse.Namespace, cfg: Any) -> Any:
    from tradeterm.calibration.data import resolve
    from tradeterm.calibration.space import build_space
    from tradeterm.calibration.task import CalibrationTask
    from tradeterm.domain.enums import Domain
    from tradeterm.errors import StrategyError, UserError
    from tradeterm.strategies.registry import get_strategy

    if not args.strategy:
        raise UserError("calibrate: --strategy is required (see `tradeterm strategies list`)")
    try:
        get_strategy(args.strategy)
    except StrategyError as exc:
        raise UserError(f"--strategy: {exc}") from None
    if args.cash is not None and not (args.cash > 0 and math.isfinite(args.cash)):
        raise UserError(f"--cash {args.cash}: give a positive amount")
    if args.walk_forward and not 1 <= args.splits <= 20:
        raise UserError(f"--splits {args.splits}: give 1..20")
    try:
        domain = Domain(args.domain) if args.domain else None
    except ValueError:
        raise UserError(f"--domain {args.domain!r}: one of {[d.value for d in Domain]}") from None
    data = resolve(
        _symbols(args.symbol),
        args.timeframe,
        data_dir=args.data,
        state_dir=cfg.storage.state_dir,
        venue=args.venue,
        start=args.start,
        end=args.end,
        days=args.days,
        domain=domain,
    )
    lev = args.leverage_max if args.leverage_max is not None else int(cfg.risk.max_leverage)
    space = build_space(
        args.strategy, leverage_max=lev, margin=args.margin, fixed=_pins(args.param)
    )
    task = CalibrationTask(
        args.strategy,
        args.timeframe,
        data.bars,
        space,
        config=cfg,
        funding=data.funding,
        domain=data.domain,
        markets=data.markets,
        cash=args.cash,
        objective=args.objective,
        splits=args.splits if args.walk_forward else 0,
    )
    return task, data


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tradeterm.calibration.memory import MemoryGuard
    from tradeterm.calibration.priors import load_priors
    from tradeterm.calibration.study import StudySettings, default_study_name, run_study
    from tradeterm.errors import UserError

    if args.trials < 1:
        raise UserError(f"--trials {args.trials}: give at least 1")
    cfg = _load_tree(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, data = _task(args, cfg)
    settings = StudySettings(
        storage_url=_storage_url(args, cfg),
        study_name=args.study or default_study_name(task.strategy, task.symbols, task.timeframe),
        n_trials=args.trials,
        jobs=args.jobs,
        timeout_s=args.timeout,
        seed=args.seed,
        resume=args.resume,
        guard=MemoryGuard.from_config(cfg.calibration),
        priors=load_priors(task.strategy, Path(args.priors) if args.priors else None),
    )
    settings.workers  # noqa: B018  (validates --jobs before anything starts)
    for symbol, source in data.sources.items():
        print(f"data: {symbol}: {source}", file=sys.stderr)
    report = run_study(task, settings, on_progress=_progress_line)
    _progress_line(report.progress, final=True)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        _print_report(report)
    return 130 if report.interrupted else 0


def _progress_line(p: Any, final: bool = False) -> None:
    states = " ".join(f"{k.lower()} {v}" for k, v in sorted(p.by_state.items()))
    best = f"{p.best_value:.4g} (#{p.best_number})" if p.best_value is not None else "-"
    text = f"{p.done}/{p.target} trials [{states}] best {best} rss {p.rss_bytes / MB:.0f} MB"
    end = "\r" if sys.stderr.isatty() and not final else "\n"
    erase = "\x1b[2K" if sys.stderr.isatty() else ""
    print(f"{erase}{text}", end=end, file=sys.stderr, flush=True)


def _trial_json(t: Any) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "value": t.value,
        "params": t.params,
        "user_attrs": t.user_attrs,
    }


def report_json(report: Any) -> dict[str, Any]:
    p = report.progress
    return {
        "study": report.study,
        "storage": report.storage,
        "trials": p.by_state,
        "liquidated": p.liquidated,
        "workers_seen": p.workers_seen,
        "peak_rss_mb": round(report.peak_rss_bytes / MB, 1),
        "memory_stops": report.memory_stops,
        "interrupted": report.interrupted,
        "best": _trial_json(report.best) if report.best is not None else None,
        "top": [_trial_json(t) for t in report.top],
    }


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    p = report.progress
    console = Console()
    table = Table(title=f"study {report.study} - best non-liquidated trials")
    for col in ("#", "score", "return", "max DD", "sharpe", "trades", "lev", "margin"):
        table.add_column(col, justify="right")
    for t in report.top:
        a = t.user_attrs
        table.add_row(
            str(t.number),
            f"{t.value:.4g}",
            _fmt(a.get("total_return"), ".2%"),
            _fmt(a.get("max_drawdown"), ".2%"),
            _fmt(a.get("sharpe"), ".2f"),
            _fmt(a.get("trade_count"), ".0f"),
            f"{a.get('leverage', 1):g}",
            str(a.get("margin_mode", "-")),
        )
    console.print(table)
    states = ", ".join(f"{v} {k.lower()}" for k, v in sorted(p.by_state.items()))
    console.print(f"trials: {states}; liquidated (never best): {p.liquidated}")
    console.print(
        f"storage: {report.storage}; workers seen: {p.workers_seen}; "
        f"peak worker RSS {report.peak_rss_bytes / MB:.0f} MB"
    )
    if report.memory_stops:
        console.print(f"memory guard stopped {report.memory_stops} worker(s); resume with --resume")
    if report.best is None:
        console.print("no complete, non-liquidated trial: nothing to promote")
    else:
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in report.best.params.items()
        )
        console.print(f"best params: {params}")
        console.print(
            f"best: trial {report.best.number}, score {report.best.value:.4g}; "
            f"promote: tradeterm calibrate promote {report.study}"
        )


def cmd_status(args: argparse.Namespace) -> int:
    from tradeterm.calibration.study import load, progress

    cfg = _load_tree(args)
    study = load(_storage_url(args, cfg), args.study)
    p = progress(study, len(study.get_trials(deepcopy=False)))
    out = {
        "study": p.study,
        "trials": p.by_state,
        "liquidated": p.liquidated,
        "workers_seen": p.workers_seen,
        "best_trial": p.best_number,
        "best_value": p.best_value,
        "best_params": p.best_params,
        "user_attrs": study.user_attrs,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for key, value in out.items():
        print(f"{key}: {value}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from tradeterm.calibration.promote import promote
    from tradeterm.calibration.study import load

    cfg = _load_tree(args)
    url = _storage_url(args, cfg)
    study = load(url, args.study)
    done = promote(
        study,
        storage_url=url,
        state_dir=cfg.storage.state_dir,
        trial_number=args.trial,
        postgres_dsn=args.postgres or cfg.calibration.postgres_dsn,
        by=args.by,
    )
    c = done["config"]
    out = {
        "strategy": c.strategy,
        "version": c.version,
        "symbols": list(c.symbols),
        "timeframe": c.timeframe,
        "params": dict(c.params),
        "leverage": c.leverage,
        "margin_mode": c.margin_mode,
        "score": c.score,
        "study": c.study,
        "trial": c.trial,
        "promoted_by": c.promoted_by,
        "research_db": done["sqlite"][0],
        "id": done["sqlite"][1],
        "postgres": done["postgres"][0] if done["postgres"] else None,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    where = out["research_db"] + (f" and {out['postgres']}" if out["postgres"] else "")
    print(
        f"promoted {c.study} trial {c.trial} ({c.strategy} {c.timeframe}, score {c.score:.4g}, "
        f"leverage {c.leverage:g}x {c.margin_mode}) into active_configs in {where}"
    )
    print("a node picks it up at its next start (risk.max_leverage still caps leverage)")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    from tradeterm.cli import _call

    result = _call(args, "reload")
    changed = result.get("changed", []) if isinstance(result, dict) else []
    print("reloaded active configs: " + (", ".join(changed) if changed else "no change"))
    return 0
