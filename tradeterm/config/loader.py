"""Load the config tree from TOML (tomllib in, tomli-w out) with one clear line per problem.

Every problem names where it is: the file for unreadable TOML (with line and column), the TOML
path for everything else (`risk.max_drawdown: must be <= 0.5, got 1.5`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from tradeterm.config.files import (
    MAX_CONFIG_BYTES,
    UTF8_BOM,
    clip,
    nesting_problem,
    read_limited,
)
from tradeterm.config.models import PROBLEM_SEPARATOR, VENUE_KINDS, TradetermConfig
from tradeterm.errors import ConfigError

MAX_PROBLEM_CHARS = 300
"""A problem line is one readable line: anything longer (a huge key or value) is cut."""


def _path_text(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{clip(part)}" if out else clip(str(part))
    return out or "(top level)"


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    """Drop pydantic's internal markers: discriminator tags under venues, '[key]' for dict keys,
    and 'function-after[...]' wrapper names."""
    parts: list[int | str] = []
    for i, part in enumerate(loc):
        if isinstance(part, str):
            if part.startswith(("function-", "json-or-python", "lax-or-strict")):
                continue
            if part == "[key]":
                continue
            if i == 2 and loc and loc[0] == "venues" and part in VENUE_KINDS:
                continue
        parts.append(part)
    return parts


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(clip(value))
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value).lower() if isinstance(value, bool) else str(value)


_BOUNDS = {
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
}
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "table": "a table",
}


def _bound_message(kind: str, ctx: Mapping[str, Any], got: Any) -> str:
    op, key = _BOUNDS[kind]
    bound = ctx.get(key)
    if isinstance(bound, float) and bound.is_integer():
        bound = int(bound)
    return f"must be {op} {bound}, got {_show(got)}"


def _type_message(kind: str, got: Any) -> str:
    expected = kind.split("_", maxsplit=1)[0].replace("model", "table").replace("dict", "table")
    return f"must be {_TYPE_WORDS.get(expected, expected)}, got {_show_typed(got)}"


def _show_typed(value: Any) -> str:
    """A value of the wrong type. Short words are shown (`"yes"`); longer text is described, not
    echoed: a key pasted into `app_id` must not come back in the message."""
    if isinstance(value, str) and len(value) > 8:
        return f"text of {len(value):,} characters"
    return _show(value)


_SIMPLE: dict[str, Any] = {
    "extra_forbidden": lambda ctx, got: "unknown key",
    "missing": lambda ctx, got: "required key is missing",
    "literal_error": lambda ctx, got: f"must be one of {ctx.get('expected')}, got {_show(got)}",
    "enum": lambda ctx, got: f"must be one of {ctx.get('expected')}, got {_show(got)}",
    "union_tag_invalid": lambda ctx, got: (
        f"unknown kind {_show(ctx.get('tag'))} (expected one of {ctx.get('expected_tags')})"
    ),
    "union_tag_not_found": lambda ctx, got: (
        f"missing the '{ctx.get('discriminator', 'kind').strip(chr(39))}' key"
    ),
    "string_too_short": lambda ctx, got: f"must not be empty, got {_show(got)}",
    "too_short": lambda ctx, got: f"must not be empty, got {_show(got)}",
    "string_too_long": lambda ctx, got: (
        f"must be at most {ctx.get('max_length')} characters, got {len(str(got)):,}"
    ),
    "string_pattern_mismatch": lambda ctx, got: (
        f"must match {ctx.get('pattern')}, got {_show(got)}"
    ),
    "finite_number": lambda ctx, got: f"must be a finite number, got {_show(got)}",
}


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind in _BOUNDS:
        return _bound_message(kind, ctx, got)
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return str(simple(ctx, got))
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        return _type_message(kind, got)
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "invalid value")))
    return str(err.get("msg", "invalid value"))


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem, each starting with the TOML path."""
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        msg = _message(err)
        if err["type"] == "value_error" and PROBLEM_SEPARATOR in msg:
            lines.extend(p.strip() for p in msg.split(PROBLEM_SEPARATOR) if p.strip())
            continue
        if msg.startswith(tuple(f"{n}." for n in TradetermConfig.model_fields)):
            lines.append(clip(msg, MAX_PROBLEM_CHARS))  # already located (cross-reference checks)
            continue
        lines.append(clip(f"{_path_text(loc)}: {msg}", MAX_PROBLEM_CHARS))
    return lines


def _secret_problems(data: Any, prefix: str = "", context: str = "") -> list[str]:
    """Every secret-looking key (any spelling, tables inside lists too). The message names the
    key and the environment variable it belongs in, and never the value. `context` is the venue
    kind or section (`deriv`, `telegram`) the key sits under, to name the right variable."""
    # here, not at the top: pydantic-settings (~0.1 s) loads only when a config is read
    from tradeterm.config.secrets import SECRET_CONTEXTS, looks_secret, secret_env_vars

    problems: list[str] = []
    if isinstance(data, list):
        for i, item in enumerate(data):
            problems.extend(_secret_problems(item, f"{prefix}[{i}]", context))
        return problems
    if not isinstance(data, Mapping):
        return problems
    kind = data.get("kind")
    context = kind if isinstance(kind, str) else context
    for key, value in data.items():
        here = f"{prefix}.{clip(str(key))}" if prefix else clip(str(key))
        if isinstance(value, Mapping | list):
            child = str(key) if str(key) in SECRET_CONTEXTS else context
            problems.extend(_secret_problems(value, here, child))
        elif looks_secret(str(key)):
            names = secret_env_vars(str(key), context)
            where = (
                f"set {' or '.join(names)} in the environment or .env"
                if names
                else "the sim venue needs no keys; real venues read theirs from the environment"
                " or .env (see .env.example)"
            )
            problems.append(
                f"{here}: secrets are not allowed in config files; {where} (the value is not shown)"
            )
    return problems


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError naming the file.

    Only a regular file of at most 1 MiB is read (a FIFO, a device or a huge file is refused
    before reading), and a document nested deeper than the schema could ever need is refused
    (tomllib recurses once per level)."""
    p = Path(path)
    raw = read_limited(p, "a TOML config file", MAX_CONFIG_BYTES, ConfigError)
    if raw.startswith(UTF8_BOM):
        raise ConfigError(
            f"{p}: starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {clip(str(exc), MAX_PROBLEM_CHARS)}") from None
    except RecursionError:
        raise ConfigError(f"{p}: tables or arrays nested too deeply to be a config") from None
    deep = nesting_problem(data)
    if deep is not None:
        raise ConfigError(f"{deep}: nested too deeply to be a config value")
    return data


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> TradetermConfig:
    """Validate a parsed TOML document; ConfigError lists every problem."""
    deep = nesting_problem(data)
    if deep is not None:
        raise ConfigError(f"{source}: 1 problem(s)", [f"{deep}: nested too deeply"])
    problems = _secret_problems(data)
    secret_paths = {p.split(":", 1)[0] for p in problems}
    try:
        # Strict validation in JSON mode: TOML is typed, so "yes" is not a bool and "5" is not a
        # number, while enum values and table keys are still given as strings.
        cfg = TradetermConfig.model_validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as exc:
        problems.extend(
            line
            for line in format_validation_error(exc)
            if line.split(":", 1)[0] not in secret_paths
        )
        cfg = None
    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s)", problems)
    assert cfg is not None
    return cfg


def parse_override(text: str) -> tuple[list[str], Any]:
    """`risk.max_drawdown=0.1` -> (["risk", "max_drawdown"], 0.1).

    The value is read as a TOML value (numbers, true/false, "strings", [lists]); anything that is
    not valid TOML is taken as a plain string, so `--set venues.deriv.endpoint=ws://127.0.0.1:9`
    needs no quotes. ConfigError when the text is not `dotted.key=value`.
    """
    key, sep, raw = text.partition("=")
    parts = [p.strip() for p in key.split(".")]
    if not sep or not key.strip() or any(not p for p in parts):
        raise ConfigError(
            f"--set {clip(text)!r}: expected dotted.key=value (e.g. risk.max_drawdown=0.1)"
        )
    try:
        value: Any = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ConfigError(f"--set {clip(key)}: the value is nested too deeply") from None
    return parts, value


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of a parsed TOML document with each `dotted.key=value` override set (tables are
    created as needed). ConfigError names an override that cannot be applied."""
    out: dict[str, Any] = json.loads(json.dumps(data, default=str)) if overrides else dict(data)
    for text in overrides:
        parts, value = parse_override(text)
        node: dict[str, Any] = out
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {clip(text)!r}: '{clip(where)}' is a value, not a table")
            node = child
        node[parts[-1]] = value
    return out


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TradetermConfig:
    """Read and validate a config file, with `--set dotted.key=value` overrides applied first
    (validated exactly like the file)."""
    return config_from_dict(apply_overrides(read_toml(path), overrides), source=str(path))


def dump_config(cfg: TradetermConfig) -> str:
    """The config as TOML text (round-trips through `load_config`)."""
    return tomli_w.dumps(cfg.model_dump(mode="json", exclude_none=True))
