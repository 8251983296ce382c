"""Rules between config keys: values that are each valid but make no sense together.

Each rule returns problem lines that name every key in conflict, their values and the rule, e.g.
`risk.daily_loss_cap = 0.2 is above risk.max_drawdown = 0.15: the daily loss cap must stop
entries before the drawdown kill switch halts everything`. The tree runs them after every section
validated (`TradetermConfig`), so `validate-config`, `--set` and start-up all see the same lines.

Checks that need more than the tree (the strategy registry, venue adapters, the file system) are
in `tradeterm/checks.py`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tradeterm.domain.timeframes import BUILDER_TIMEFRAMES

if TYPE_CHECKING:
    from tradeterm.config.models import TradetermConfig

Rule = Callable[["TradetermConfig"], list[str]]

STATE_FILE_NAMES = frozenset(
    {
        "paper.db", "live.db", "research.db", "optuna.db", "tradeterm.lock", "tradeterm.log",
        "crash.log", "candles",
    }
)  # fmt: skip
"""Names inside the state folder that belong to tradeterm's own state (never a socket or log)."""

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")


def _num(value: float) -> str:
    return f"{value:g}"


def is_state_file_name(name: str) -> bool:
    """True for a name tradeterm keeps its own state under (databases, WAL, lock, log, store)."""
    base = name.rsplit("/", 1)[-1]
    stem = base.removesuffix("-wal").removesuffix("-shm").removesuffix("-journal")
    return (
        stem in STATE_FILE_NAMES
        or stem.endswith(".db")
        or stem.startswith("sim-")
        or base.endswith(".parquet")
    )


# ---- risk -------------------------------------------------------------------------------------
def risk_caps(cfg: TradetermConfig) -> list[str]:
    """Loss caps that can never bind, and exposure caps leverage can never allow."""
    r = cfg.risk
    problems: list[str] = []
    if r.daily_loss_cap > r.max_drawdown:
        problems.append(
            f"risk.daily_loss_cap = {_num(r.daily_loss_cap)} is above risk.max_drawdown = "
            f"{_num(r.max_drawdown)}: the daily loss cap must stop entries before the drawdown "
            "kill switch halts everything (daily_loss_cap <= max_drawdown)"
        )
    if r.symbol_loss_cap > r.daily_loss_cap:
        problems.append(
            f"risk.symbol_loss_cap = {_num(r.symbol_loss_cap)} is above risk.daily_loss_cap = "
            f"{_num(r.daily_loss_cap)}: one symbol may not lose more in a day than the whole "
            "wallet (symbol_loss_cap <= daily_loss_cap)"
        )
    for key in ("max_pair_exposure", "max_portfolio_exposure"):
        value = float(getattr(r, key))
        if value > r.max_leverage:
            problems.append(
                f"risk.{key} = {_num(value)} is above risk.max_leverage = "
                f"{_num(r.max_leverage)}: exposure is notional / equity, so a cap above the "
                f"leverage limit can never be reached ({key} <= max_leverage)"
            )
    return problems


# ---- allocator --------------------------------------------------------------------------------
def exploration_floor(cfg: TradetermConfig) -> list[str]:
    a = cfg.allocator
    problems: list[str] = []
    for key in ("exploration", "chop_exploration"):
        value = float(getattr(a, key))
        if value < a.exploration_floor:
            problems.append(
                f"allocator.{key} = {_num(value)} is below allocator.exploration_floor = "
                f"{_num(a.exploration_floor)}: exploration never goes under its floor "
                f"({key} >= exploration_floor)"
            )
    return problems


# ---- venues, domains, accounts ----------------------------------------------------------------
def enabled_venues(cfg: TradetermConfig) -> list[str]:
    """A domain or live account on a disabled venue would have nothing to trade on."""
    problems: list[str] = []
    for dom, dcfg in cfg.domains.items():
        venue = cfg.venues.get(dcfg.venue)
        if venue is not None and not venue.enabled:
            problems.append(
                f"domains.{dom.value}.venue = '{dcfg.venue}' names a disabled venue "
                f"(venues.{dcfg.venue}.enabled = false): enable the venue or drop the domain"
            )
    for dom, acct in cfg.wallets.live.accounts.items():
        venue = cfg.venues.get(acct.venue)
        if venue is not None and not venue.enabled:
            problems.append(
                f"wallets.live.accounts.{dom.value}.venue = '{acct.venue}' names a disabled venue "
                f"(venues.{acct.venue}.enabled = false)"
            )
    return problems


def sim_accounts(cfg: TradetermConfig) -> list[str]:
    """Sim ledgers: listed once each, and every live account that points at a sim venue exists."""
    from tradeterm.config.models import SimVenueConfig

    problems: list[str] = []
    for name, venue in cfg.venues.items():
        if not isinstance(venue, SimVenueConfig):
            continue
        seen: set[str] = set()
        for account in venue.accounts:
            if account in seen:
                problems.append(
                    f"venues.{name}.accounts: '{account}' is listed twice (each sim ledger once)"
                )
            seen.add(account)
    for dom, acct in cfg.wallets.live.accounts.items():
        target = cfg.venues.get(acct.venue)
        if isinstance(target, SimVenueConfig) and acct.account not in target.accounts:
            problems.append(
                f"wallets.live.accounts.{dom.value}.account = '{acct.account}' is not one of "
                f"venues.{acct.venue}.accounts ({', '.join(target.accounts) or 'none'})"
            )
    return problems


# ---- strategies and timeframes ----------------------------------------------------------------
def strategy_reach(cfg: TradetermConfig) -> list[str]:
    """A strategy with no market or no timeframe never runs; a timeframe the bar builders never
    produce never closes a bar."""
    problems: list[str] = []
    built = set(BUILDER_TIMEFRAMES)
    for tf in cfg.marketdata.timeframes:
        if tf not in built:
            problems.append(
                f"marketdata.timeframes: '{tf}' bars are never built from ticks "
                f"(built: {', '.join(BUILDER_TIMEFRAMES)})"
            )
    for name, scfg in cfg.strategies.items():
        if not scfg.enabled:
            continue
        base = f"strategies.{name}"
        if not scfg.domains and not scfg.symbols:
            problems.append(
                f"{base}: trades nothing: give it domains or symbols (or enabled = false)"
            )
        if not scfg.timeframes:
            problems.append(f"{base}.timeframes: must name at least one timeframe")
        for tf in scfg.timeframes:
            if tf not in built:
                problems.append(
                    f"{base}.timeframes: '{tf}' bars are never built from ticks, so this "
                    f"strategy would never run (built: {', '.join(BUILDER_TIMEFRAMES)})"
                )
    return problems


# ---- storage, control, telemetry, notify ------------------------------------------------------
def path_text(cfg: TradetermConfig) -> list[str]:
    """File and folder names the operating system can take: no NUL or other control character."""
    from tradeterm.config.models import SimVenueConfig

    paths = {
        "storage.state_dir": cfg.storage.state_dir,
        "storage.reports_dir": cfg.storage.reports_dir,
        "telemetry.log_file": cfg.telemetry.log_file,
        "control.socket": cfg.control.socket,
    }
    for name, venue in cfg.venues.items():
        if isinstance(venue, SimVenueConfig):
            for i, source in enumerate(venue.replay):
                paths[f"venues.{name}.replay[{i}].path"] = source.path
    return [
        f"{key}: a path may not contain control characters (found {hex(ord(bad))})"
        for key, text in paths.items()
        for bad in [next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), "")]
        if bad
    ]


def control_socket(cfg: TradetermConfig) -> list[str]:
    """The control socket lives inside the state folder, under a name of its own."""
    text = cfg.control.socket
    if path_text(cfg):
        return []  # said once, by path_text
    path = PurePosixPath(text)
    where = f"control.socket = '{text[:60]}'"
    if path.is_absolute():
        return [
            f"{where}: must be a name inside the state folder (storage.state_dir), not absolute"
        ]
    if ".." in path.parts or text.endswith("/") or path.name in ("", "."):
        return [f"{where}: must name a file inside the state folder (no '..', no folder)"]
    if is_state_file_name(text):
        return [
            f"{where}: that name belongs to tradeterm's own state (databases, lock, log, "
            "candle store); use e.g. tradeterm.sock"
        ]
    return []


def log_file(cfg: TradetermConfig) -> list[str]:
    """The extra log file must never be one of tradeterm's own state files."""
    text = cfg.telemetry.log_file
    if not text or path_text(cfg):
        return []
    where = f"telemetry.log_file = '{text[:60]}'"
    if any(len(part.encode()) > 255 for part in PurePosixPath(text).parts):
        return [f"{where}: a path part is longer than 255 bytes"]
    if is_state_file_name(text):
        return [f"{where}: that is one of tradeterm's own state files, not a log file"]
    if PurePosixPath(text).name in ("", ".", ".."):
        return [f"{where}: must name a file, not a folder"]
    return []


def prometheus_host(cfg: TradetermConfig) -> list[str]:
    host = cfg.telemetry.prometheus_host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host):
            return [f"telemetry.prometheus_host = '{host[:60]}' is not an IP address or host name"]
    return []


def telegram(cfg: TradetermConfig) -> list[str]:
    if cfg.notify.telegram.enabled:
        return [
            "notify.telegram.enabled = true: Telegram notifications are not available in this "
            "version (nothing would be sent); set it to false"
        ]
    return []


def stage_gates(cfg: TradetermConfig) -> list[str]:
    """A gate on a domain the config does not trade could never pass (written stages only; the
    default stages gate only configured domains)."""
    if "stages" not in cfg.rollout.model_fields_set:
        return []
    problems: list[str] = []
    for i, stage in enumerate(cfg.rollout.stages):
        for dom in stage.gates:
            if dom not in cfg.domains:
                problems.append(
                    f"rollout.stages[{i}].gates.{dom.value}: no domain '{dom.value}' is configured"
                    " in [domains], so this gate could never pass (drop it or add the domain)"
                )
    return problems


RULES: tuple[Rule, ...] = (
    path_text,
    risk_caps,
    exploration_floor,
    enabled_venues,
    sim_accounts,
    strategy_reach,
    control_socket,
    log_file,
    prometheus_host,
    telegram,
    stage_gates,
)


def rule_problems(cfg: TradetermConfig) -> list[str]:
    """Every rule's problem lines, in rule order."""
    return [line for rule in RULES for line in rule(cfg)]
