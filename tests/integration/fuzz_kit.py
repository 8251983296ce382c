"""Seeded generators of hostile input for the shipped fuzz suite (`test_fuzz.py`).

Every generator is a pure function of a `random.Random`, so a failing case is reproduced by its
seed and index (`TRADETERM_FUZZ_SEED`, printed with every failure). Each generated case carries
what it must produce: `expect="invalid"` cases must be refused (exit 2) with a line naming
`names` (the TOML path or the option); `expect="valid"` must pass; `expect="either"` may go either
way, but must still never crash, hang or touch a file it should not.
"""

from __future__ import annotations

import copy
import math
import random
import string
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel

from tradeterm.config import models as m
from tradeterm.strategies.registry import default_registry

Expect = Literal["valid", "invalid", "either"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TOML = REPO / "configs" / "default.toml"

HOSTILE_NUMBERS: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-300, -1e-300, 0, -1, 2**63 - 1, -(2**63),
    0.5, 1e9, 123456789.123,
)  # fmt: skip
HOSTILE_TEXT: tuple[str, ...] = (
    "", " ", "..", "../../etc/passwd", "/proc/version", "/dev/null", "nan", "true", "0x10",
    "\u202e\u0000", "é" * 3, "a" * 5000, "$$$", "{}", "[]", "paper.db", "--help", "'; DROP TABLE",
)  # fmt: skip
SECRET_KEYS: tuple[str, ...] = (
    "api_key", "apiKey", "APIKEY", "api_secret", "secret", "token", "api_token",
    "deriv_api_token", "DERIV_API_TOKEN", "client_id", "clientSecret", "password", "Passphrase",
    "private_key", "bot_token", "key",
)  # fmt: skip


@dataclass(frozen=True)
class FieldSpec:
    """One scalar config field reachable in the default config's document."""

    path: tuple[str | int, ...]
    kind: str  # int | float | bool | str | literal | enum | list
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    choices: tuple[str, ...] = ()
    lax: bool = False
    """Validated in pydantic's lax mode (strategy parameters): 50.0 is a fine integer."""

    @property
    def dotted(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def admits(self, value: Any) -> bool | None:
        """Whether the field's own bounds and type accept `value` (None: cannot tell)."""
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            integral = self.lax and isinstance(value, float) and value.is_integer()
            if self.kind == "int" and not isinstance(value, int) and not integral:
                return False
            if isinstance(value, float) and not math.isfinite(value):
                return False
            if self.low is not None and (value <= self.low if self.low_open else value < self.low):
                return False
            return not (
                self.high is not None
                and (value >= self.high if self.high_open else value > self.high)
            )
        if self.kind == "bool":
            if isinstance(value, bool):
                return True
            return None if self.lax and value in (0, 1) else False
        return None


@dataclass
class ConfigCase:
    """A whole config document (written as TOML) or the default file plus `--set` overrides."""

    name: str
    expect: Expect
    names: str = ""
    """A text the refusal must contain at the start of one of its lines (the key's path)."""
    document: dict[str, Any] | None = None
    raw: bytes | None = None
    overrides: tuple[str, ...] = ()
    secret: str = ""
    """A value that must never appear in any output."""


# ---- the schema, as the default document reaches it ----------------------------------------
def default_document() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))


def _bounds(info: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, at.Ge):
            out.update(low=float(item.ge), low_open=False)
        elif isinstance(item, at.Gt):
            out.update(low=float(item.gt), low_open=True)
        elif isinstance(item, at.Le):
            out.update(high=float(item.le), high_open=False)
        elif isinstance(item, at.Lt):
            out.update(high=float(item.lt), high_open=True)
    return out


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]] | None:
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "str", ()
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "literal", tuple(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, m.Domain):
        return "enum", tuple(d.value for d in m.Domain)
    if origin is list:
        return "list", ()
    if origin in (typing.Union, types.UnionType):
        return None
    return None


def _sections() -> Iterator[tuple[tuple[str | int, ...], type[BaseModel]]]:
    yield (), m.TradetermConfig
    yield ("venues", "sim"), m.SimVenueConfig
    yield ("venues", "sim", "fill_model"), m.FillModelConfig
    yield ("domains", "synthetics"), m.DomainConfig
    yield ("wallets", "live", "accounts", "synthetics"), m.LiveAccountConfig
    for name in ("ema_trend", "mean_revert", "breakout", "vol_squeeze", "impulse_fade"):
        yield ("strategies", name), m.StrategyConfig


def field_specs() -> list[FieldSpec]:
    """Every scalar (or list) field of the default document, with its bounds."""
    specs: list[FieldSpec] = []
    seen: set[tuple[str | int, ...]] = set()

    def walk(prefix: tuple[str | int, ...], model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            path = (*prefix, name)
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(path, annotation)
                continue
            kind = _kind(annotation)
            if kind is None or name == "kind" or path in seen:
                continue
            seen.add(path)
            specs.append(FieldSpec(path, kind[0], choices=kind[1], **_bounds(info)))

    for prefix, model in _sections():
        walk(prefix, model)
    return [s for s in specs if s.path[:2] != ("venues", "sim") or s.path[2:3] != ("replay",)]


def strategy_param_specs() -> list[FieldSpec]:
    registry = default_registry()
    out: list[FieldSpec] = []
    for name in ("ema_trend", "mean_revert", "breakout", "vol_squeeze", "impulse_fade"):
        for pname, info in registry.get(name).params_model.model_fields.items():
            kind = _kind(info.annotation)
            if kind is None or kind[0] not in ("int", "float", "bool"):
                continue
            path = ("strategies", name, "params", pname)
            out.append(FieldSpec(path, kind[0], lax=True, **_bounds(info)))
    return out


# ---- document editing ------------------------------------------------------------------------
def set_path(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = doc
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[path[-1]] = value


def tables_of(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """Paths of the fixed-field tables in the document (not the name-keyed maps)."""
    maps = {("venues",), ("domains",), ("strategies",), ("wallets", "live", "accounts")}
    found: list[tuple[str, ...]] = [()]

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in node.items():
            if isinstance(value, dict) and key != "params":
                here = (*path, key)
                if here not in maps:
                    found.append(here)
                walk(value, here)

    walk(doc, ())
    return found


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 12)))


def _dotted(path: tuple[str | int, ...]) -> str:
    return FieldSpec(path, "str").dotted


# ---- config cases ----------------------------------------------------------------------------
def _number_case(rng: random.Random, spec: FieldSpec, base: dict[str, Any]) -> ConfigCase:
    options: list[Any] = list(HOSTILE_NUMBERS)
    if spec.low is not None:
        options += [spec.low - 1, spec.low - 1e-9, spec.low, spec.low + 1e-6]
    if spec.high is not None:
        options += [spec.high + 1, spec.high * 10 + 1, spec.high, spec.high - 1e-6]
    value = rng.choice(options)
    if (
        spec.kind == "int"
        and isinstance(value, float)
        and value.is_integer()
        and rng.random() < 0.7
    ):
        value = int(value)
    doc = copy.deepcopy(base)
    set_path(doc, spec.path, value)
    admitted = spec.admits(value)
    expect: Expect = "invalid" if admitted is False else "either"
    return ConfigCase(f"number {spec.dotted}={value!r}", expect, spec.dotted, document=doc)


_WRONG_TYPES: tuple[Any, ...] = ("12", "yes", True, [], {"a": 1}, [1, 2], 3.5, 7, "")


def _type_case(rng: random.Random, spec: FieldSpec, base: dict[str, Any]) -> ConfigCase:
    value = rng.choice(_WRONG_TYPES)
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "literal": lambda v: isinstance(v, str) and v in spec.choices,
        "enum": lambda v: isinstance(v, str) and v in spec.choices,
        "list": lambda v: isinstance(v, list),
    }[spec.kind]
    doc = copy.deepcopy(base)
    set_path(doc, spec.path, value)
    expect: Expect = "either" if ok(value) else "invalid"
    return ConfigCase(f"type {spec.dotted}={value!r}", expect, spec.dotted, document=doc)


def _text_case(rng: random.Random, spec: FieldSpec, base: dict[str, Any]) -> ConfigCase:
    value = rng.choice(HOSTILE_TEXT)
    doc = copy.deepcopy(base)
    set_path(doc, spec.path, value)
    expect: Expect = "either"
    if spec.kind in ("literal", "enum") and value not in spec.choices:
        expect = "invalid"
    if spec.kind in ("int", "float", "bool", "list"):
        expect = "invalid"
    return ConfigCase(f"text {spec.dotted}={value[:20]!r}", expect, spec.dotted, document=doc)


def _unknown_key_case(rng: random.Random, base: dict[str, Any]) -> ConfigCase:
    table = rng.choice(tables_of(base))
    key = _word(rng)
    doc = copy.deepcopy(base)
    set_path(doc, (*table, key), rng.choice([1, "x", True, 2.5]))
    return ConfigCase(
        f"unknown key {_dotted((*table, key))}", "invalid", _dotted((*table, key)), document=doc
    )


def _secret_case(rng: random.Random, base: dict[str, Any]) -> ConfigCase:
    table = rng.choice(tables_of(base))
    key = rng.choice(SECRET_KEYS)
    secret = "SeCrEt" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(20))
    doc = copy.deepcopy(base)
    set_path(doc, (*table, key), secret)
    path = _dotted((*table, key))
    return ConfigCase(f"secret {path}", "invalid", path, document=doc, secret=secret)


_RULE_BREAKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("risk.daily_loss_cap=0.3",), "risk.daily_loss_cap = 0.3 is above"),
    (("risk.symbol_loss_cap=0.2",), "risk.symbol_loss_cap = 0.2 is above"),
    (("risk.max_portfolio_exposure=9",), "risk.max_portfolio_exposure = 9 is above"),
    (("allocator.exploration_floor=0.9",), "allocator.exploration = 0.1 is below"),
    (("venues.sim.enabled=false",), "domains.synthetics.venue = 'sim' names a disabled venue"),
    (("venues.sim.accounts=['paper']",), "wallets.live.accounts.synthetics.account = 'live'"),
    (("strategies.breakout.timeframes=['30s']",), "strategies.breakout.timeframes: '30s'"),
    (("strategies.breakout.domains=[]",), "strategies.breakout: trades nothing"),
    (("risk.min_reward_risk=11",), "risk.min_reward_risk = 11 is above every strategy"),
    (("notify.telegram.enabled=true",), "notify.telegram.enabled = true"),
    (("venues.kraken={kind='deribit'}",), "venues.kraken.kind = 'deribit'"),
    (("control.socket='paper.db'",), "control.socket = 'paper.db'"),
    (("control.socket='../outside.sock'",), "control.socket = '../outside.sock'"),
    (("control.socket='/tmp/x.sock'",), "control.socket = '/tmp/x.sock'"),
    (("storage.state_dir='/proc'",), "storage.state_dir = '/proc'"),
    (("storage.state_dir='/dev/null'",), "storage.state_dir = '/dev/null'"),
    (("storage.state_dir='/etc/hostname/state'",), "storage.state_dir = '/etc/hostname/state'"),
    (("telemetry.log_file='state/paper.db'",), "telemetry.log_file = 'state/paper.db'"),
    (("telemetry.log_file='/proc/version'",), "telemetry.log_file = '/proc/version'"),
    (("telemetry.log_file='no/such/dir/x.log'",), "telemetry.log_file = 'no/such/dir/x.log'"),
    (("telemetry.prometheus_host='not a host!'",), "telemetry.prometheus_host = 'not a host!'"),
    (("wallets.currency='$$$'",), "wallets.currency"),
)

_VALID_TWEAKS: tuple[tuple[str, ...], ...] = (
    (),
    ("ui.theme='light'",),
    ("venues.sim.speed=2.5",),
    ("risk.max_drawdown=0.2", "risk.daily_loss_cap=0.1"),
    ("allocator.method='ucb1'",),
    ("execution.confirm='always'", "execution.confirmation_ttl_s=30"),
    ("wallets.currency='EUR'",),
    ("telemetry.log_file='state/extra.log'",),
    ("control.socket='ctl.sock'",),
    ("strategies.ema_trend.params.fast=8",),
)


def config_cases(rng: random.Random, count: int) -> list[ConfigCase]:
    """`count` config cases (at least every rule break and every valid tweak once)."""
    base = default_document()
    specs = field_specs()
    params = strategy_param_specs()
    cases: list[ConfigCase] = [
        ConfigCase(f"rule {o[0]}", "invalid", names, overrides=o) for o, names in _RULE_BREAKS
    ]
    cases += [ConfigCase(f"valid {o}", "valid", overrides=o) for o in _VALID_TWEAKS]
    while len(cases) < count:
        roll = rng.random()
        if roll < 0.3:
            spec = rng.choice([s for s in specs if s.kind in ("int", "float")] + params)
            cases.append(_number_case(rng, spec, base))
        elif roll < 0.5:
            cases.append(_type_case(rng, rng.choice(specs), base))
        elif roll < 0.6:
            cases.append(_text_case(rng, rng.choice(specs), base))
        elif roll < 0.7:
            cases.append(_unknown_key_case(rng, base))
        elif roll < 0.8:
            cases.append(_secret_case(rng, base))
        elif roll < 0.9:
            cases.append(_corrupt_case(rng))
        else:
            cases.append(_set_case(rng, specs))
    return cases


def _corrupt_case(rng: random.Random) -> ConfigCase:
    """The default file with bytes deleted, repeated or replaced: valid or not, never a crash."""
    data = bytearray(DEFAULT_TOML.read_bytes())
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(data))
        action = rng.random()
        if action < 0.4:
            del data[i : i + rng.randint(1, 30)]
        elif action < 0.7:
            data[i:i] = bytes(
                rng.choice(b"[]{}=\"'.,\n#\\\x00\xff\xef") for _ in range(rng.randint(1, 8))
            )
        else:
            data[i:i] = data[i : i + rng.randint(1, 200)]
    return ConfigCase("corrupted default.toml", "either", raw=bytes(data))


def _set_case(rng: random.Random, specs: list[FieldSpec]) -> ConfigCase:
    spec = rng.choice(specs)
    raw = rng.choice(
        ["nan", "inf", "-1", "1e999", "[[[[", "'x'", "{a=1}", "", "true", "1" * 400, '"\\u0000"']
    )
    text = f"{spec.dotted}={raw}"
    if "[" in spec.dotted:
        return ConfigCase(f"--set {text[:40]}", "either", overrides=(text,))
    return ConfigCase(f"--set {text[:40]}", "either", overrides=(text,))


# ---- hostile files ----------------------------------------------------------------------------
def hostile_config_files(root: Path) -> list[tuple[Path, str]]:
    """(path, what the one-line refusal says) for files that are not configs at all."""
    import os

    out: list[tuple[Path, str]] = []
    fifo = root / "fifo.toml"
    os.mkfifo(fifo)
    out.append((fifo, "is a FIFO (named pipe)"))
    out.append((Path("/dev/zero"), "is a device"))
    folder = root / "folder.toml"
    folder.mkdir()
    out.append((folder, "is a directory"))
    big = root / "big.toml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    out.append((big, "too big"))
    deep = root / "deep.toml"
    deep.write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    out.append((deep, "nested too deeply"))
    bom = root / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + DEFAULT_TOML.read_bytes())
    out.append((bom, "BOM"))
    out.append((root / "missing.toml", "file not found"))
    return out


# ---- CLI arguments ----------------------------------------------------------------------------
@dataclass
class CliCase:
    argv: list[str]
    expect: Literal["user_error", "any"]
    names: str = ""
    codes: tuple[int, ...] = (0, 1, 2)


_BAD_SECONDS = ("nan", "inf", "-inf", "1e309", "0", "-1", "1e99", "x", "", "0x10", "1e-400")
_BAD_NAMES = ("..", ".", "", "a/../b", "x" * 5000, "sp ace", "-x", "é/é", "../../etc")


def cli_cases(rng: random.Random, config: Path, data_file: Path, count: int) -> list[CliCase]:
    c = ["--config", str(config)]
    fixed: list[CliCase] = []
    for value in _BAD_SECONDS:
        fixed.append(CliCase(["sim", "ticks", "--seconds", value, *c], "user_error", "--seconds"))
        fixed.append(
            CliCase(["run", "--no-ui", "--duration", value, *c], "user_error", "--duration")
        )
    for value in _BAD_NAMES:
        for option in ("--venue", "--symbol"):
            args = {"--venue": "sim", "--symbol": "R_100", option: value}
            fixed.append(
                CliCase(
                    ["data", "import", str(data_file), "--timeframe", "5m", *c,
                     "--venue", args["--venue"], "--symbol", args["--symbol"]],
                    "user_error",
                    option,
                )
            )  # fmt: skip
    for tf in ("", "7m", "1y", "5M", "x" * 300):
        fixed.append(
            CliCase(
                ["data", "import", str(data_file), "--venue", "sim", "--symbol", "R_100",
                 "--timeframe", tf, *c],
                "user_error",
                "--timeframe",
            )
        )  # fmt: skip
    for ident in ("zzz", "", "x" * 3000, "../..", "c123456", "\u202e"):
        for cmd in (["approve", ident], ["reject", ident, "--reason", "r" * 100]):
            fixed.append(CliCase([*cmd, *c], "user_error", ""))  # no daemon: exit 2
    for index in ("9", "-1", "0", "99999999999999999999", "x", "1.5"):
        fixed.append(CliCase(["stage", "set", index, *c], "user_error", ""))
    for text in ("=", "a..b=1", ".a=1", "risk=1", "risk.max_drawdown=[[[[", "x" * 10_000 + "=1",
                 "ui.theme=" + "[" * 20_000, "risk.max_drawdown.x=1"):  # fmt: skip
        fixed.append(CliCase(["validate-config", str(config), "--set", text], "user_error", ""))
    for cmd in (["status"], ["pause"], ["resume"], ["flatten", "--yes"], ["stage", "gates"]):
        fixed.append(CliCase([*cmd, *c], "user_error", "no tradeterm daemon is running"))
    fixed.append(CliCase(["data", "check", *c], "any", codes=(0, 1)))
    fixed.append(CliCase(["strategies", "list", *c], "any", codes=(0,)))
    fixed.append(CliCase(["no-such-command"], "user_error", ""))
    fixed.append(CliCase(["run", "--bogus", *c], "user_error", ""))
    cases = list(fixed)
    words = ["run", "status", "data", "import", "check", "sim", "ticks", "--seconds", "--venue",
             "--symbol", "--timeframe", "--json", "--set", "--config", "approve", "stage", "set",
             "nan", "..", "-1", "x" * 200, "5m", str(config), str(data_file), "--yes", "="]  # fmt: skip
    commands = ["status", "data", "approve", "stage", "validate-config", "strategies", "bogus"]
    while len(cases) < count:
        argv = [rng.choice(commands)] + [rng.choice(words) for _ in range(rng.randint(0, 6))]
        if "run" in argv or "ticks" in argv:
            continue  # a valid run, console or tick stream would not end on its own
        cases.append(CliCase(argv, "any"))
    return cases


# ---- candle files -----------------------------------------------------------------------------
T0 = 1_708_592_100_000  # 2024-02-22 08:55 UTC, a 5m boundary
_BAD_CELLS = ("nan", "inf", "-1", "0", "", "x", "1e400", "9e18", "8.99e15", "-9e18", "1" * 300,
              "0x1F", "١٢", "1,5", '"', "\x00")  # fmt: skip


@dataclass
class DataCase:
    name: str
    content: bytes
    expect: Literal["valid", "invalid", "either"]
    suffix: str = ".csv"
    lines: list[str] = field(default_factory=list)


def _good_rows(n: int) -> list[list[str]]:
    return [[str(T0 + i * 300_000), "10", "11", "9", "10.5", "1"] for i in range(n)]


def data_cases(rng: random.Random, count: int) -> list[DataCase]:
    header = "ts,open,high,low,close,volume"
    cases: list[DataCase] = [
        DataCase("good", ("\n".join([header, *(",".join(r) for r in _good_rows(20))]) + "\n").encode(), "valid"),
        DataCase("empty", b"", "invalid"),
        DataCase("header only", (header + "\n").encode(), "invalid"),
        DataCase("bom", ("\ufeff" + header + "\n" + ",".join(_good_rows(1)[0]) + "\n").encode(), "either"),
        DataCase("latin1", (header + "\n").encode() + b"\xe9\xe9\n", "invalid"),
        DataCase("5MB cell", (header + "\n" + ",".join(_good_rows(1)[0][:4]) + "," + "7" * 5_000_000
                              + ",1\n").encode(), "invalid"),
        DataCase("parquet garbage", b"PAR1 not really", "invalid", suffix=".parquet"),
        DataCase("text file", b"hello", "invalid", suffix=".txt"),
    ]  # fmt: skip
    while len(cases) < count:
        rows = _good_rows(rng.randint(1, 30))
        for _ in range(rng.randint(1, 3)):
            r = rng.randrange(len(rows))
            c = rng.randrange(6)
            action = rng.random()
            if action < 0.6 and c < len(rows[r]):
                rows[r][c] = rng.choice(_BAD_CELLS)
            elif action < 0.75:
                rows[r].append("extra")
            elif action < 0.85:
                rows[r] = rows[r][: rng.randint(0, 5)]
            else:
                rows.insert(r, list(rows[r]))  # a duplicate time
        names = header
        if rng.random() < 0.1:
            names = rng.choice(["ts,open,high,low,close", "time,open,high,low,close,volume",
                                "ts,ts,high,low,close,volume", ""])  # fmt: skip
        text = "\n".join([names, *(",".join(r) for r in rows)]) + "\n"
        cases.append(DataCase("mutated csv", text.encode(), "either"))
    return cases


# ---- control payloads -------------------------------------------------------------------------
CHANGE_COMMANDS = ("approve", "reject", "flatten", "pause", "resume", "promote", "set_stage",
                   "toggle_domain", "set_exploration", "set_learning")  # fmt: skip
READ_COMMANDS = ("status", "gates", "flatten_preview")
_JUNK: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, 1e308, "", "false", "off", "nan", "x" * 3000,
                          [], [1, [2, [3]]], {}, {"a": {"b": {"c": 1}}}, "forex", "crypto_spot", 3,
                          "c123456")  # fmt: skip
_ARG_NAMES = ("id", "reason", "force", "from_stage", "index", "domain", "enabled", "rate", "x")


def control_payloads(rng: random.Random, count: int) -> list[bytes]:
    """Raw request lines: well-formed commands with junk arguments, and junk requests."""
    fixed = [
        b"\n", b"null\n", b"[]\n", b"42\n", b'"status"\n', b"{\n", b"\xff\xfe\xfd\n",
        b'{"cmd": null}\n', b'{"cmd": ["status"]}\n', b'{"cmd": "STATUS"}\n',
        b"[" * 60_000 + b"]" * 60_000 + b"\n",  # over the line limit
        b"[" * 20_000 + b"]" * 20_000 + b"\n",  # under it, but beyond Python's recursion
        b'{"cmd": "status", "args": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}\n",
        b'{"cmd": "set_exploration", "args": {"rate": NaN}}\n',
        b'{"cmd": "set_exploration", "args": {"rate": Infinity}}\n',
        b'{"cmd": "toggle_domain", "args": {"domain": "forex", "enabled": "false"}}\n',
        b'{"cmd": "set_learning", "args": {"enabled": "off"}}\n',
    ]  # fmt: skip
    out = list(fixed)
    commands = (*CHANGE_COMMANDS, *READ_COMMANDS, "nope", "")
    while len(out) < count:
        import json

        cmd = rng.choice(commands)
        args = {rng.choice(_ARG_NAMES): rng.choice(_JUNK) for _ in range(rng.randint(0, 3))}
        payload: Any = (
            {"cmd": cmd, "args": args}
            if rng.random() < 0.9
            else {"cmd": cmd, "args": rng.choice(_JUNK)}
        )
        out.append((json.dumps(payload) + "\n").encode())
    return out
