"""Operator utilities behind the CLI that need several layers at once: full config validation
(tree + strategy parameters + venue symbols), the strategy table, the sim tick printer and the
candle-store import and check. The CLI only parses arguments and prints."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tradeterm.clock import LiveClock, format_ms
from tradeterm.config import TradetermConfig, load_config
from tradeterm.config.models import SimVenueConfig
from tradeterm.errors import ConfigError, UserError

if TYPE_CHECKING:
    from tradeterm.marketdata.importer import ImportReport
    from tradeterm.marketdata.store import Gap, IntegrityReport


def validate_config_file(path: str | Path, overrides: Sequence[str] = ()) -> list[str]:
    """Every problem of a config file, one line each naming its TOML path (empty = valid).

    Exactly the checks start-up runs (`load_checked_config`): a config this accepts, `run`
    accepts."""
    try:
        cfg = load_config(path, overrides)
    except ConfigError as exc:
        return exc.problems
    return semantic_problems(cfg)


def semantic_problems(cfg: TradetermConfig) -> list[str]:
    """Problems the schema cannot see: strategy parameters and names, venue symbols, universes,
    then what start-up needs from this machine (`startup_problems`). One readable line each:
    a huge value is never echoed whole."""
    from tradeterm.config.files import clip

    return [clip(line, 300) for line in (*_universe_problems(cfg), *startup_problems(cfg))]


def _universe_problems(cfg: TradetermConfig) -> list[str]:
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


# ---- what start-up needs: adapters, reachable strategies, the file system ---------------------
def startup_problems(cfg: TradetermConfig) -> list[str]:
    """Checks that need more than the config tree: a venue adapter for every enabled venue,
    strategies whose targets the risk gate can accept, replay files, and a state folder, log file
    and control socket this machine can actually use. One line each, naming the key and the fix."""
    return [
        *venue_adapter_problems(cfg),
        *reward_risk_problems(cfg),
        *replay_file_problems(cfg),
        *state_dir_problems(cfg.storage.state_dir),
        *log_file_problems(cfg),
        *control_socket_problems(cfg),
    ]


def venue_adapter_problems(cfg: TradetermConfig) -> list[str]:
    """Every enabled venue's kind has an adapter in this build (`venues/factory.py`)."""
    from tradeterm.venues.factory import VENUE_BUILDERS

    return [
        f"venues.{name}.kind = '{venue.kind}': the '{venue.kind}' adapter is not available in this"
        f" version (available: {', '.join(sorted(VENUE_BUILDERS))}); use another kind or set"
        f" venues.{name}.enabled = false"
        for name, venue in cfg.venues.items()
        if venue.enabled and venue.kind not in VENUE_BUILDERS
    ]


def reward_risk_problems(cfg: TradetermConfig) -> list[str]:
    """The gate denies every signal whose reward:risk is below `risk.min_reward_risk`: a strategy
    whose target sits closer would never trade, and a floor above every strategy's reach would
    stop everything."""
    from tradeterm.strategies.registry import default_registry

    registry = default_registry()
    floor = cfg.risk.min_reward_risk
    problems: list[str] = []
    reach: list[float] = []
    for key, scfg in cfg.strategies.items():
        name = scfg.strategy or key
        if not scfg.enabled or name not in registry.names():
            continue
        model = registry.get(name).params_model
        field = model.model_fields.get("reward_risk")
        if field is None:
            continue
        high = _upper_bound(field.metadata)
        if high is not None:
            reach.append(high)
        try:
            value = float(registry.build_params(name, scfg.params).reward_risk)  # type: ignore[attr-defined]
        except ConfigError:
            continue  # reported with the parameters
        if value < floor:
            problems.append(
                f"strategies.{key}.params.reward_risk = {value:g} is below risk.min_reward_risk = "
                f"{floor:g}: the risk gate would deny every signal of this strategy (raise "
                "reward_risk or lower min_reward_risk)"
            )
    if reach and floor > max(reach):
        problems.append(
            f"risk.min_reward_risk = {floor:g} is above every strategy's highest reward_risk "
            f"({max(reach):g}): every signal would be denied"
        )
    return problems


def _upper_bound(metadata: Sequence[object]) -> float | None:
    for item in metadata:
        for attr in ("le", "lt"):
            value = getattr(item, attr, None)
            if isinstance(value, int | float):
                return float(value)
    return None


def replay_file_problems(cfg: TradetermConfig) -> list[str]:
    """Replay sources must be readable candle files (start-up loads them)."""
    from tradeterm.config.files import regular_file_size
    from tradeterm.errors import DataError
    from tradeterm.venues.sim.replay import load_candles

    problems: list[str] = []
    for name, venue in cfg.venues.items():
        if not isinstance(venue, SimVenueConfig) or not venue.enabled:
            continue
        for i, source in enumerate(venue.replay):
            where = f"venues.{name}.replay[{i}].path"
            try:
                size = regular_file_size(Path(source.path), "a candle file", DataError)
                if size > MAX_DATA_BYTES:
                    raise DataError(f"{source.path}: {size:,} bytes is too big for a candle file")
                load_candles(source.path)
            except DataError as exc:
                problems.append(f"{where}: {exc}")
    return problems


MAX_DATA_BYTES = 1 << 30
"""Largest candle file read (1 GiB: years of 1-minute bars); bigger is surely a mistake."""

_SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def _under_system_root(path: Path) -> bool:
    return any(path == root or root in path.parents for root in _SYSTEM_ROOTS)


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _writable_dir_problem(folder: Path) -> str | None:
    """Why `folder` (an existing directory) cannot take new files, or None."""
    import os

    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror or exc})"
    if read_only:
        return "is on a read-only file system"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable by this user"
    return None


def state_dir_problems(text: str) -> list[str]:
    """The state folder must be a writable folder of its own (or creatable in one)."""
    key = f"storage.state_dir = '{text[:80]}'"
    fix = "point storage.state_dir at a writable folder"
    path = Path(text)
    resolved = _resolve(path)
    if resolved is None:
        return [f"{key}: cannot be resolved (a symlink loop?); {fix}"]
    if _under_system_root(resolved):
        return [f"{key}: {resolved} is a system folder, not a place for state; {fix}"]
    existing = resolved
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "the state folder" if existing == resolved else f"its parent {existing}"
        return [f"{key}: {what} is a file, not a folder; {fix}"]
    why = _writable_dir_problem(existing)
    if why is not None:
        return [f"{key}: {existing} {why}; {fix}"]
    problems: list[str] = []
    for name in ("tradeterm.lock", "paper.db", "live.db", "tradeterm.log"):
        inside = resolved / name
        if inside.is_dir():
            problems.append(
                f"{key}: {inside} is a folder, but tradeterm keeps a file there; move it away"
            )
    return problems


def log_file_problems(cfg: TradetermConfig) -> list[str]:
    """`telemetry.log_file` must be a regular file (or a new one) in an existing, writable folder
    that is not a system folder: tradeterm never creates folders for it."""
    text = cfg.telemetry.log_file
    if not text:
        return []
    key = f"telemetry.log_file = '{text[:80]}'"
    path = Path(text)
    resolved = _resolve(path)
    if resolved is None:
        return [f"{key}: cannot be resolved (a symlink loop?)"]
    if _under_system_root(resolved):
        return [f"{key}: {resolved} is a system file, not a log file"]
    if resolved.exists() and not resolved.is_file():
        return [f"{key}: {resolved} exists and is not a regular file"]
    parent = resolved.parent
    if not parent.is_dir():
        return [f"{key}: the folder {parent} does not exist (tradeterm does not create it)"]
    why = _writable_dir_problem(parent)
    if why is not None and not (resolved.is_file() and _writable_file(resolved)):
        return [f"{key}: the folder {parent} {why}"]
    state = _resolve(Path(cfg.storage.state_dir))
    if state is not None and resolved.parent == state and resolved.name != "tradeterm.log":
        from tradeterm.config.rules import is_state_file_name

        if is_state_file_name(resolved.name):
            return [f"{key}: that is one of tradeterm's own state files, not a log file"]
    return []


def _writable_file(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


UNIX_SOCKET_MAX = 100
"""Longest unix socket path used (the kernel's limit is 107 bytes)."""


def control_socket_problems(cfg: TradetermConfig) -> list[str]:
    """The socket path fits a unix socket, and nothing but a socket sits where it goes."""
    import stat

    path = Path(cfg.storage.state_dir) / cfg.control.socket
    key = f"control.socket = '{cfg.control.socket[:60]}'"
    if len(str(path).encode()) > UNIX_SOCKET_MAX:
        return [
            f"{key}: the path {str(path)[:120]} is {len(str(path).encode())} bytes, more than a "
            f"unix socket takes ({UNIX_SOCKET_MAX}); use a shorter storage.state_dir or name"
        ]
    try:
        mode = path.lstat().st_mode
    except OSError:
        return []
    if not stat.S_ISSOCK(mode):
        what = "is a folder" if stat.S_ISDIR(mode) else "exists and is not a socket"
        return [
            f"{key}: {path} {what}; tradeterm never deletes it: move it away"
            " or choose another control.socket"
        ]
    return []


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
        raise UserError(f"--symbol: unknown sim symbol {symbol[:40]!r} (known: {known})")
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


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}$")
"""Venue and symbol names the candle store accepts (`R_100`, `BTC/USDT:USDT`)."""

GAP_ROWS_SHOWN = 20
"""Gaps listed in the human report (`--json` lists every one)."""


def check_name(option: str, value: str) -> str:
    """A venue or symbol name fit for the candle store, or UserError naming the option."""
    if not NAME_PATTERN.match(value) or ".." in value or value.startswith("."):
        shown = repr(value[:40]) + (f"... ({len(value):,} characters)" if len(value) > 40 else "")
        raise UserError(
            f"{option}: {shown} is not a valid name (1-64 letters, digits and _ . : / + -,"
            " starting with a letter or digit)"
        )
    return value


VENUE_KINDS = ("sim", "deriv", "binance_futures", "bybit", "deribit")
"""Venue kinds `data import --venue` takes besides the configured venue names."""


def import_candles(
    cfg: TradetermConfig, file: Path, venue: str, symbol: str, timeframe: str
) -> ImportReport:
    """`tradeterm data import`: check a file and merge it into the candle store. The venue must
    be one of the config's; names and the timeframe are checked before the file is read."""
    from tradeterm.domain.timeframes import TIMEFRAME_MS
    from tradeterm.marketdata.importer import import_file
    from tradeterm.marketdata.store import CandleStore

    check_name("--venue", venue)
    if venue not in cfg.venues and venue not in VENUE_KINDS:
        known = ", ".join(sorted(cfg.venues)) or "none"
        raise UserError(
            f"--venue: no venue named '{venue}' in the config (configured: {known}) and not a "
            f"venue kind ({', '.join(VENUE_KINDS)})"
        )
    check_name("--symbol", symbol)
    if timeframe not in TIMEFRAME_MS:
        raise UserError(
            f"--timeframe: unknown timeframe {timeframe[:20]!r} (known: {', '.join(TIMEFRAME_MS)})"
        )
    return import_file(CandleStore(_store(cfg)), file, venue, symbol, timeframe)


def _utc(ts: int | None) -> str:
    return format_ms(ts, "%Y-%m-%d %H:%M") if ts is not None else "-"


def _gap_rows(gaps: Sequence[Gap]) -> list[str]:
    lines = [f"  {'gap from (UTC)':<18}  {'to (UTC)':<18}  {'missing bars':>12}"]
    for gap in gaps[:GAP_ROWS_SHOWN]:
        lines.append(f"  {_utc(gap.start_ms):<18}  {_utc(gap.end_ms):<18}  {gap.missing:>12,}")
    if len(gaps) > GAP_ROWS_SHOWN:
        lines.append(f"  ... and {len(gaps) - GAP_ROWS_SHOWN:,} more gaps (--json lists all)")
    return lines


def import_text(report: ImportReport) -> str:
    """The human report of one import: a summary, then the gaps with UTC times."""
    lines = [
        f"imported {report.path} into {report.venue}/{report.symbol}/{report.timeframe}",
        f"  rows read      {report.rows_read:>10,}",
        f"  new bars       {report.rows_added:>10,}",
        f"  replaced       {report.duplicates_skipped:>10,}  (already stored; the file's bars win)",
        f"  span (UTC)     {_utc(report.first_ts)} .. {_utc(report.last_ts)}",
        f"  gaps           {len(report.gaps):>10,}  ({report.missing_bars:,} missing bars)",
    ]
    if report.gaps:
        lines += ["", *_gap_rows(report.gaps)]
    return "\n".join(lines)


def _gap_json(gap: Gap) -> dict[str, object]:
    return {
        "start_ms": gap.start_ms,
        "end_ms": gap.end_ms,
        "start_utc": format_ms(gap.start_ms, "%Y-%m-%dT%H:%M:%SZ"),
        "end_utc": format_ms(gap.end_ms, "%Y-%m-%dT%H:%M:%SZ"),
        "missing": gap.missing,
    }


def _iso(ts: int | None) -> str | None:
    return format_ms(ts, "%Y-%m-%dT%H:%M:%SZ") if ts is not None else None


def import_json(report: ImportReport) -> dict[str, object]:
    return {
        "path": str(report.path),
        "venue": report.venue,
        "symbol": report.symbol,
        "timeframe": report.timeframe,
        "rows_read": report.rows_read,
        "rows_added": report.rows_added,
        "replaced": report.duplicates_skipped,
        "first_ms": report.first_ts,
        "last_ms": report.last_ts,
        "first_utc": _iso(report.first_ts),
        "last_utc": _iso(report.last_ts),
        "missing_bars": report.missing_bars,
        "gaps": [_gap_json(g) for g in report.gaps],
    }


def check_candles(cfg: TradetermConfig) -> list[IntegrityReport]:
    """`tradeterm data check`: the integrity report of every stored series."""
    from tradeterm.marketdata.store import CandleStore

    return CandleStore(_store(cfg)).check()


def series_problems(report: IntegrityReport) -> list[str]:
    """What is wrong with one series, in words (empty = clean)."""
    found = [
        (report.duplicates, "duplicate rows"),
        (report.misaligned, "misaligned rows"),
        (report.misplaced, "rows in the wrong day file"),
        (len(report.unreadable), "unreadable files"),
        (len(report.gaps), "gaps"),
    ]
    return [f"{count:,} {what}" for count, what in found if count]


def candles_damaged(reports: Sequence[IntegrityReport]) -> bool:
    """True when any series has duplicates, misaligned or misfiled rows, unreadable files or
    gaps (`data check` exits 1)."""
    return any(series_problems(r) for r in reports)


def check_text(reports: Sequence[IntegrityReport], root: Path) -> str:
    """A table of every series (UTC times) and a one-line summary."""
    if not reports:
        return f"{root}: no candles stored"
    header = (
        f"{'venue':<10} {'symbol':<16} {'tf':<4} {'rows':>9} {'first (UTC)':<16}  "
        f"{'last (UTC)':<16}  {'dups':>5} {'misal':>5} {'misfl':>5} {'gaps':>5} {'missing':>8}  status"
    )
    lines = [header]
    for r in reports:
        status = "OK" if not series_problems(r) else "DAMAGED"
        lines.append(
            f"{r.venue[:10]:<10} {r.symbol[:16]:<16} {r.timeframe:<4} {r.rows:>9,} "
            f"{_utc(r.first_ts):<16}  {_utc(r.last_ts):<16}  {r.duplicates:>5,} "
            f"{r.misaligned:>5,} {r.misplaced:>5,} {len(r.gaps):>5,} {r.missing_bars:>8,}  {status}"
        )
        for name in r.unreadable:
            lines.append(f"    unreadable: {name}")
    bad = [r for r in reports if series_problems(r)]
    lines.append("")
    if bad:
        detail = "; ".join(
            f"{r.venue}/{r.symbol}/{r.timeframe}: {', '.join(series_problems(r))}" for r in bad[:5]
        )
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        lines.append(f"{len(reports)} series, {len(bad)} with problems: {detail}{more}")
    else:
        lines.append(f"{len(reports)} series, all clean")
    return "\n".join(lines)


def check_json(reports: Sequence[IntegrityReport], root: Path) -> dict[str, object]:
    return {
        "root": str(root),
        "damaged": candles_damaged(reports),
        "series": [
            {
                "venue": r.venue,
                "symbol": r.symbol,
                "timeframe": r.timeframe,
                "files": r.files,
                "rows": r.rows,
                "first_ms": r.first_ts,
                "last_ms": r.last_ts,
                "first_utc": _iso(r.first_ts),
                "last_utc": _iso(r.last_ts),
                "duplicates": r.duplicates,
                "misaligned": r.misaligned,
                "misfiled": r.misplaced,
                "unreadable": list(r.unreadable),
                "missing_bars": r.missing_bars,
                "gaps": [_gap_json(g) for g in r.gaps],
                "problems": series_problems(r),
            }
            for r in reports
        ],
    }


def candle_store_root(cfg: TradetermConfig) -> Path:
    return _store(cfg)
