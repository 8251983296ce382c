"""Operator utilities behind the CLI that need several layers at once: full config validation
(tree + strategy parameters + venue symbols), the strategy table, the sim tick printer and the
candle-store import and check. The CLI only parses arguments and prints."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tradeterm.clock import LiveClock, format_ms
from tradeterm.config import TradetermConfig, load_config
from tradeterm.config.models import SimVenueConfig
from tradeterm.errors import ConfigError, UserError


def validate_config_file(path: str | Path, overrides: Sequence[str] = ()) -> list[str]:
    """Every problem of a config file, one line each naming its TOML path (empty = valid)."""
    try:
        cfg = load_config(path, overrides)
    except ConfigError as exc:
        return exc.problems
    return semantic_problems(cfg)


def semantic_problems(cfg: TradetermConfig) -> list[str]:
    """Problems the schema cannot see: strategy parameters and names, venue symbols, universes."""
    from tradeterm.strategies.registry import check_strategy_params

    problems = list(check_strategy_params(cfg.strategies))
    offered: dict[str, set[str]] = {}
    for name, venue in cfg.venues.items():
        if isinstance(venue, SimVenueConfig):
            symbols, venue_problems = _sim_symbols(name, venue)
            problems.extend(venue_problems)
            offered[name] = symbols
    universe: set[str] = set()
    for domain, dcfg in cfg.domains.items():
        universe.update(dcfg.symbols)
        known = offered.get(dcfg.venue)
        if known is None:
            continue
        for symbol in dcfg.symbols:
            if symbol not in known:
                problems.append(
                    f"domains.{domain.value}.symbols: '{symbol}' is not offered by venue '{dcfg.venue}'"
                    f" (offered: {', '.join(sorted(known))})"
                )
    for name, scfg in cfg.strategies.items():
        for entry in scfg.symbols:
            symbol = entry.split(":", 1)[-1]
            if symbol not in universe:
                problems.append(
                    f"strategies.{name}.symbols: '{entry}' is not in any domain's symbols"
                )
    return problems


def _sim_symbols(name: str, venue: SimVenueConfig) -> tuple[set[str], list[str]]:
    from tradeterm.venues.sim.catalog import KNOWN_SYMBOLS, resolve_symbols

    try:
        specs = resolve_symbols(name, venue.symbols)
    except ConfigError as exc:
        return set(KNOWN_SYMBOLS), exc.problems
    return {s.symbol for s in specs} | {r.symbol for r in venue.replay}, []


def load_checked_config(path: str | Path, overrides: Sequence[str] = ()) -> TradetermConfig:
    """Load and fully validate a config (with `--set` overrides); ConfigError lists every
    problem."""
    cfg = load_config(path, overrides)
    problems = semantic_problems(cfg)
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s)", problems)
    return cfg


def strategies_table() -> str:
    """`tradeterm strategies list`: name, version and parameters with defaults and bounds."""
    from tradeterm.strategies.registry import describe_strategies

    lines: list[str] = []
    for info in describe_strategies():
        lines.append(f"{info['name']}  v{info['version']}  {info.get('summary', '')}".rstrip())
        for param in info["params"]:
            bounds = f"[{param['min']} .. {param['max']}]"
            lines.append(
                f"    {param['name']:<18} = {param['default']!s:<8} {bounds:<16} {param['description']}"
            )
    return "\n".join(lines)


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _sim_config(cfg: TradetermConfig) -> tuple[str, SimVenueConfig]:
    for name, venue in cfg.venues.items():
        if isinstance(venue, SimVenueConfig):
            return name, venue
    return "sim", SimVenueConfig()


async def stream_sim_ticks(cfg: TradetermConfig, symbol: str, seconds: float, out: TextIO) -> int:
    """Print live ticks of one sim symbol for `seconds` (`tradeterm sim ticks`)."""
    from tradeterm.venues.sim.catalog import KNOWN_SYMBOLS
    from tradeterm.venues.sim.venue import SimVenue

    name, venue_cfg = _sim_config(cfg)
    venue_cfg = venue_cfg.model_copy(update={"symbols": [], "history_minutes": 0.0})
    if symbol not in KNOWN_SYMBOLS:
        known = ", ".join(KNOWN_SYMBOLS)
        raise UserError(f"--symbol: unknown sim symbol {symbol!r} (known: {known})")
    clock = LiveClock()
    sim = SimVenue(name, venue_cfg, clock)
    data = sim.data
    await data.connect()
    await data.subscribe([symbol])
    deadline = clock.now_ms() + int(seconds * 1000)
    count = 0

    async def pump() -> None:
        nonlocal count
        async for tick in data.ticks():
            if tick.ts_ms > deadline:
                break
            out.write(
                f"{format_ms(tick.ts_ms)}  {tick.symbol:<10} {tick.price:>14.4f}"
                f"  bid {tick.bid:.4f}  ask {tick.ask:.4f}\n"
            )
            out.flush()
            count += 1

    try:
        await asyncio.wait_for(pump(), timeout=seconds + 5)
    except TimeoutError:
        pass
    finally:
        await data.close()
    out.write(f"{count} ticks of {symbol} in {seconds:g} s\n")
    return 0


def _store(cfg: TradetermConfig) -> Path:
    return Path(cfg.storage.state_dir) / "candles"


def import_candles(
    cfg: TradetermConfig, file: Path, venue: str, symbol: str, timeframe: str
) -> str:
    """`tradeterm data import`: load a file into the candle store; a one-paragraph report."""
    from tradeterm.domain.timeframes import TIMEFRAME_MS
    from tradeterm.marketdata.importer import import_file
    from tradeterm.marketdata.store import CandleStore

    if timeframe not in TIMEFRAME_MS:
        raise UserError(
            f"--timeframe: unknown timeframe {timeframe!r} (known: {', '.join(TIMEFRAME_MS)})"
        )
    store = CandleStore(_store(cfg))
    report = import_file(store, file, venue, symbol, timeframe)
    return str(report)


def check_candles(cfg: TradetermConfig) -> tuple[str, bool]:
    """`tradeterm data check`: integrity of every stored series. Returns (report, damaged)."""
    from tradeterm.marketdata.store import CandleStore

    root = _store(cfg)
    reports = CandleStore(root).check()
    if not reports:
        return f"{root}: no candles stored", False
    damaged = any(r.duplicates or r.misaligned for r in reports)
    return "\n".join(str(r) for r in reports), damaged
