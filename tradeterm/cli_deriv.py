"""Deriv commands: `discover`, `paper`, `live --confirm`.

tradeterm discover --config configs/deriv.toml [--set venues.deriv.endpoint=URL]
tradeterm paper    --config configs/deriv.toml [--no-ui] [--duration S]
tradeterm live     --config configs/deriv.toml --confirm   (needs DERIV_API_TOKEN and
                   wallets.live.approved = true; one minimum-stake multiplier with TP and SL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from tradeterm.errors import PermanentVenueError, TemporaryVenueError, UserError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from tradeterm.cli import _add_config, cmd_run

    p = sub.add_parser("discover", help="Deriv: synthetic indices that offer multipliers")
    _add_config(p)
    p.add_argument("--venue", default="", help="venue name in the config (default: the deriv one)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--every",
        type=float,
        default=0.0,
        metavar="S",
        help="keep running and refresh the universe every S seconds (3600 = hourly)",
    )
    p.add_argument("--count", type=int, default=0, help="with --every: stop after N refreshes")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("paper", help="paper-trade live venue ticks (the node on paper wallets)")
    _add_config(p)
    p.add_argument("--no-ui", action="store_true", help="headless daemon")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.set_defaults(func=cmd_run, confirm=False, paper_only=True)

    p = sub.add_parser("live", help="Deriv: one minimum-stake multiplier trade with TP/SL")
    _add_config(p)
    p.add_argument("--venue", default="", help="venue name in the config (default: the deriv one)")
    p.add_argument("--symbol", default="", help="index to trade (default: the first configured)")
    p.add_argument("--down", action="store_true", help="MULTDOWN instead of MULTUP")
    p.add_argument("--confirm", action="store_true", help="confirm the live trade")
    p.add_argument("--hold", type=float, default=0.0, metavar="S", help="keep it open S seconds")
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("orstac-seed", help="mine DBot XML bots into seed parameters (TOML)")
    p.add_argument("--input", required=True, metavar="DIR", help="folder of DBot/Binary Bot XML")
    p.add_argument("--output", default="configs/seed_params.toml", metavar="PATH")
    p.set_defaults(func=cmd_orstac_seed)


def cmd_orstac_seed(args: argparse.Namespace) -> int:
    import logging

    from tradeterm.orstac import mine_directory, write_seed

    source = Path(args.input)
    if not source.is_dir():
        raise UserError(f"--input: {source} is not a folder")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    report = mine_directory(source)
    if not report.bots:
        raise UserError(f"--input: no readable DBot XML in {source}")
    write_seed(report, Path(args.output))
    martingale = sum(1 for b in report.bots if b.martingale_factors)
    print(
        f"{len(report.bots)} bots mined, {len(report.skipped)} skipped, martingale in "
        f"{martingale} (rejected); seed parameters written to {args.output}"
    )
    return 0


def _deriv_venue(cfg: Any, wanted: str) -> tuple[str, Any]:
    from tradeterm.config.models import DerivVenueConfig

    for name, venue in cfg.venues.items():
        if isinstance(venue, DerivVenueConfig) and (not wanted or name == wanted):
            return name, venue
    raise UserError(
        f"venues: no Deriv venue{' named ' + wanted if wanted else ''} in the config "
        '(add [venues.deriv] with kind = "deriv", see configs/deriv.toml)'
    )


def cmd_discover(args: argparse.Namespace) -> int:
    from tradeterm.cli import _load_tree

    cfg = _load_tree(args)
    name, venue = _deriv_venue(cfg, args.venue)
    if args.every < 0 or args.count < 0:
        raise UserError("--every and --count: must not be negative")
    done = 0
    while True:
        try:
            _discover_once(args, cfg, name, venue)
        except TemporaryVenueError as exc:
            if args.every <= 0:
                raise
            print(f"refresh failed, next in {args.every:g}s: {exc}", file=sys.stderr)
        done += 1
        if args.every <= 0 or (args.count and done >= args.count):
            return 0
        time.sleep(args.every)


def _discover_once(args: argparse.Namespace, cfg: Any, name: str, venue: Any) -> None:
    offers = asyncio.run(_discover(name, venue))
    rows = [
        {
            "symbol": o.info.symbol,
            "name": o.info.name,
            "submarket": o.info.submarket,
            "pip": o.info.pip,
            "multipliers": list(o.offer.multipliers),
            "min_stake": o.offer.min_stake,
            "max_stake": o.offer.max_stake,
            "cancellation": list(o.offer.cancellation),
        }
        for o in offers
    ]
    universe = Path(cfg.storage.state_dir) / f"universe-{name}.json"
    universe.parent.mkdir(parents=True, exist_ok=True)
    universe.write_text(json.dumps(rows, indent=1))
    if args.json:
        print(json.dumps(rows, indent=1), flush=True)
        return
    print(
        f"{'symbol':<11}{'name':<28}{'submarket':<14}{'pip':>8}  {'multipliers':<22}{'stake':<13}cancellation"
    )
    for r in rows:
        mults = ",".join(str(m) for m in r["multipliers"])
        stake = f"{r['min_stake']:g}-{r['max_stake']:g}"
        cancel = ",".join(r["cancellation"]) or "-"
        print(
            f"{r['symbol']:<11}{r['name'][:27]:<28}{r['submarket']:<14}{r['pip']:>8g}  {mults:<22}{stake:<13}{cancel}"
        )
    print(
        f"{len(rows)} synthetic indices with multipliers; universe stored in {universe}",
        flush=True,
    )


async def _discover(name: str, venue: Any) -> list[Any]:
    from tradeterm.clock import LiveClock
    from tradeterm.venues.deriv import connection_for
    from tradeterm.venues.deriv.data import DerivDataClient

    conn = connection_for(name, venue, token=None)
    client = DerivDataClient(name, conn, LiveClock(), conn.health)
    try:
        await conn.ensure_open()
        return await client.discover()
    finally:
        await conn.close()


def cmd_live(args: argparse.Namespace) -> int:
    from tradeterm.cli import _load_tree
    from tradeterm.venues.deriv import deriv_token

    cfg = _load_tree(args)
    name, venue = _deriv_venue(cfg, args.venue)
    missing = []
    if not args.confirm:
        missing.append("--confirm on the command line")
    if not cfg.wallets.live.approved:
        missing.append("wallets.live.approved = true in the config")
    token = deriv_token()
    if token is None:
        missing.append("a Deriv API token in DERIV_API_TOKEN (environment or .env)")
    if missing:
        raise UserError("live trading on Deriv needs " + "; ".join(missing))
    assert token is not None
    domain = next(iter(cfg.domains.values()), None)
    symbol = args.symbol or (
        domain.symbols[0] if domain is not None and domain.symbols else "R_100"
    )
    from tradeterm.cli_deriv_gate import risk_gate
    from tradeterm.venues.deriv.trader import MultiplierTrader, TradeRefused

    audit = Path(cfg.storage.state_dir) / f"{name}-live-audit.jsonl"
    trader = MultiplierTrader(name, venue, token, audit_path=audit, risk=cfg.risk)
    gate = risk_gate(name, venue, cfg.risk, pip=_pip(symbol))
    try:
        result = asyncio.run(
            trader.one_trade(symbol, up=not args.down, hold_s=args.hold, gate=gate)
        )
    except TradeRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    except TemporaryVenueError as exc:
        print(f"venue unavailable: {exc}", file=sys.stderr)
        return 1
    except PermanentVenueError as exc:
        if exc.code in ("InvalidToken", "AuthorizationRequired", "InvalidAppID"):
            raise UserError(f"the Deriv token was refused: {exc} (check DERIV_API_TOKEN)") from None
        raise
    adopted = (
        " (found open from an earlier run; closed it, bought nothing)"
        if result.get("adopted")
        else ""
    )
    print(
        f"contract {result['contract_id']} {result['contract_type']} {result['symbol']}: "
        f"stake {result['stake']:.2f} x{result['multiplier']:g}, TP {result['take_profit']:.2f} "
        f"SL {result['stop_loss']:.2f}, commission {result['commission']:.2f}, "
        f"entry {result['entry_spot']}, sold for {result['sell_price']:.2f}, "
        f"profit {result['profit']:+.2f} ({result['status']}){adopted}"
    )
    return 0


def _pip(symbol: str) -> float:
    """The index's pip when the catalog knows it (the gate's tick size), else a cent."""
    from tradeterm.venues.sim.catalog import index_spec

    spec = index_spec(symbol)
    return spec.pip if spec is not None else 0.01
