"""Crypto venue commands: `tradeterm data download` (candles, funding and mark prices of a
Binance USDT-M or Bybit market into the candle store; spot markets have candles only)."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from tradeterm.errors import UserError

VENUE_ALIASES = {
    "binance": "binance_futures",
    "binance_futures": "binance_futures",
    "bybit": "bybit",
}
MAX_DAYS = 3650


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text[:20]!r}") from None
    if not 0 < value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"--days must be in (0, {MAX_DAYS}]")
    return value


def _data_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    data = sub.choices["data"]
    for action in data._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the data command has no sub-commands")  # pragma: no cover


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from tradeterm.cli import _add_config

    dp = _data_subparsers(sub).add_parser(
        "download",
        help="download candles (+ funding and mark prices) from a crypto venue into the store",
    )
    _add_config(dp)
    dp.add_argument(
        "--venue",
        required=True,
        help="a configured crypto venue name, or 'binance' / 'bybit' (the first venue of that"
        " kind, else the exchange's public API; Bybit: linear perpetuals)",
    )
    dp.add_argument("--symbol", required=True, help="market: BTCUSDT or BTC/USDT:USDT")
    dp.add_argument("--timeframe", required=True, help="bar timeframe, e.g. 15m")
    dp.add_argument("--days", type=_days, default=30.0, help="how far back (default 30)")
    dp.add_argument("--no-funding", action="store_true", help="skip the funding series")
    dp.add_argument("--no-mark", action="store_true", help="skip the mark-price candles")
    dp.set_defaults(func=cmd_data_download)


def _venue(cfg: object, wanted: str) -> tuple[str, object]:
    from tradeterm.config.models import BinanceFuturesVenueConfig, BybitVenueConfig

    venues = getattr(cfg, "venues", {})
    if wanted in venues:
        vcfg = venues[wanted]
        if not isinstance(vcfg, BinanceFuturesVenueConfig | BybitVenueConfig):
            raise UserError(
                f"--venue: '{wanted}' is a {vcfg.kind} venue; download supports"
                " binance_futures and bybit"
            )
        return wanted, vcfg
    kind = VENUE_ALIASES.get(wanted)
    if kind is None:
        known = ", ".join(sorted(venues)) or "none"
        raise UserError(
            f"--venue: no venue named '{wanted[:40]}' (configured: {known}; or 'binance', 'bybit')"
        )
    for name, vcfg in venues.items():
        if getattr(vcfg, "kind", "") == kind:
            return name, vcfg
    if kind == "bybit":
        return "bybit", BybitVenueConfig(testnet=False)
    return "binance_futures", BinanceFuturesVenueConfig(testnet=False)


def _session(name: str, vcfg: object) -> object:
    """A ccxt session of the venue (keys from the environment, when set)."""
    from tradeterm.config.models import BybitVenueConfig
    from tradeterm.config.secrets import load_secrets
    from tradeterm.venues.crypto.binance import BINANCE_FUTURES
    from tradeterm.venues.crypto.bybit import bybit_profile
    from tradeterm.venues.crypto.ccxt_venue import CcxtSession

    secrets = load_secrets()
    if isinstance(vcfg, BybitVenueConfig):
        profile = bybit_profile(vcfg.category)
        key_s, secret_s = secrets.bybit_api_key, secrets.bybit_api_secret
    else:
        profile = BINANCE_FUTURES
        key_s, secret_s = secrets.binance_api_key, secrets.binance_api_secret
    return CcxtSession(
        name,
        profile,
        api_key=key_s.get_secret_value() if key_s else "",
        secret=secret_s.get_secret_value() if secret_s else "",
        testnet=vcfg.testnet,  # type: ignore[attr-defined]
        rest_url=vcfg.rest_url,  # type: ignore[attr-defined]
        ws_url=vcfg.ws_url,  # type: ignore[attr-defined]
    )


def cmd_data_download(args: argparse.Namespace) -> int:
    from tradeterm.checks import check_name
    from tradeterm.cli import _load_tree
    from tradeterm.domain.timeframes import TIMEFRAME_MS
    from tradeterm.errors import VenueError
    from tradeterm.marketdata.download import download
    from tradeterm.marketdata.funding import FundingStore, funding_root, mark_store_root
    from tradeterm.marketdata.store import CandleStore
    from tradeterm.venues.crypto.ccxt_venue import CcxtDataClient, CcxtSession

    if args.timeframe not in TIMEFRAME_MS:
        raise UserError(
            f"--timeframe: unknown timeframe {args.timeframe[:20]!r}"
            f" (known: {', '.join(TIMEFRAME_MS)})"
        )
    check_name("--symbol", args.symbol)
    cfg = _load_tree(args)
    name, vcfg = _venue(cfg, args.venue)
    session = _session(name, vcfg)
    assert isinstance(session, CcxtSession)
    client = CcxtDataClient(session)
    state = Path(cfg.storage.state_dir)
    store = CandleStore(state / "candles")
    marks = None if args.no_mark else CandleStore(mark_store_root(state))
    funding = None if args.no_funding else FundingStore(funding_root(state))
    end_ms = int(time.time() * 1000)
    start_ms = end_ms - int(args.days * 86_400_000)

    async def run() -> None:
        try:
            report = await download(
                client,
                store,
                name,
                args.symbol,
                args.timeframe,
                marks=marks,
                funding_store=funding,
                start_ms=start_ms,
                end_ms=end_ms,
            )
        finally:
            await client.close()
        print(f"downloaded {report.symbol} {report.timeframe} from {name} into {state}")
        for series, added in report.added.items():
            resumed = report.resumed_from.get(series)
            note = f" (resumed after the stored rows, from {resumed})" if resumed else ""
            unit = "settlements" if series == "funding" else "bars"
            print(f"  {series:<10} {added:>8,} new {unit}{note}")

    import ccxt

    try:
        asyncio.run(run())
    except (VenueError, ccxt.BaseError) as exc:
        raise UserError(f"--venue {args.venue}: {str(exc)[:300]}") from exc
    return 0
