"""The config tree: defaults, the shipped configs, every broken config, descriptions, schema."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from tradeterm.checks import validate_config_file
from tradeterm.cli import build_parser, main
from tradeterm.config import config_from_dict, dump_config, load_config
from tradeterm.config.models import TradetermConfig
from tradeterm.config.schema import config_schema_text
from tradeterm.config.secrets import load_secrets
from tradeterm.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
BAD = REPO / "tests" / "data" / "configs_bad"
BAD_FILES = sorted(BAD.glob("*.toml"))


def _expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <message>'"
    return first.removeprefix("# expect: ")


def test_default_config_is_valid_and_offline() -> None:
    assert validate_config_file(REPO / "configs" / "default.toml") == []
    cfg = load_config(REPO / "configs" / "default.toml")
    assert {v.kind for v in cfg.venues.values()} == {"sim"}
    assert cfg.wallets.live.approved is False
    assert cfg.rollout.stages[cfg.rollout.initial_stage - 1].domains
    assert all(
        mode != "live"
        for mode in cfg.rollout.stages[cfg.rollout.initial_stage - 1].domains.values()
    )


def test_every_shipped_config_is_valid() -> None:
    for path in sorted((REPO / "configs").glob("*.toml")):
        if path.name == "seed_params.toml":  # orstac-seed's output: priors, not a node config
            continue
        assert validate_config_file(path) == [], path.name


def test_there_are_at_least_twenty_broken_configs() -> None:
    assert len(BAD_FILES) >= 20


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_broken_config_gives_one_line_naming_the_key(path: Path) -> None:
    problems = validate_config_file(path)
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line
    assert _expected(path) in line


def test_several_problems_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {"risk": {"max_drawdown": 0.9, "daily_loss_cap": -1}, "ui": {"theme": "x"}}
        )
    paths = sorted(line.split(":")[0] for line in info.value.problems)
    assert paths == ["risk.daily_loss_cap", "risk.max_drawdown", "ui.theme"]


def test_missing_and_directory_paths(tmp_path: Path) -> None:
    assert validate_config_file(tmp_path / "nope.toml") == [
        f"{tmp_path / 'nope.toml'}: file not found"
    ]
    assert "is a directory" in validate_config_file(tmp_path)[0]


def test_config_is_frozen() -> None:
    cfg = TradetermConfig()
    with pytest.raises(Exception, match="frozen"):
        cfg.risk.max_drawdown = 0.3  # type: ignore[misc]


def test_dump_round_trips() -> None:
    cfg = load_config(REPO / "configs" / "default.toml")
    again = config_from_dict(__import__("tomllib").loads(dump_config(cfg)))
    assert again == cfg


def _walk(model: type[BaseModel], prefix: str, seen: set[type[BaseModel]]) -> list[str]:
    missing: list[str] = []
    if model in seen:
        return missing
    seen.add(model)
    for name, field in model.model_fields.items():
        if not field.description:
            missing.append(f"{prefix}{name}")
        for sub in _models_in(field.annotation):
            missing.extend(_walk(sub, f"{prefix}{name}.", seen))
    return missing


def _models_in(annotation: object) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(arg))
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found.extend(_models_in(meta))
    return found


def test_every_field_has_a_description() -> None:
    assert _walk(TradetermConfig, "", set()) == []


def test_schema_json_is_current() -> None:
    shipped = (REPO / "configs" / "schema.json").read_text(encoding="utf-8")
    assert shipped == config_schema_text(), "configs/schema.json is stale: run `make schema`"
    assert json.loads(shipped)["title"] == "tradeterm configuration"


def test_secrets_come_from_env_and_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("BINANCE_API_KEY=key-from-dotenv-123\n", encoding="utf-8")
    monkeypatch.setenv("DERIV_API_TOKEN", "tok-from-environ-456")
    secrets = load_secrets(str(env))
    assert secrets.binance_api_key is not None
    assert secrets.binance_api_key.get_secret_value() == "key-from-dotenv-123"
    assert "tok-from-environ-456" not in repr(secrets)
    assert secrets.redact("sent tok-from-environ-456 and key-from-dotenv-123") == "sent *** and ***"


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeterm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_validate_config_exit_codes() -> None:
    ok = _cli("validate-config", "configs/default.toml")
    assert ok.returncode == 0, ok.stderr
    bad = _cli("validate-config", str(BAD / "01_drawdown_too_high.toml"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == "risk.max_drawdown: must be <= 0.5, got 1.5"
    assert "Traceback" not in bad.stderr


def test_cli_bad_arguments_exit_2_with_one_line() -> None:
    res = _cli("sim", "ticks", "--seconds", "abc")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "--seconds" in res.stderr and "Traceback" not in res.stderr


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_cli_help_lists_only_commands_that_answer() -> None:
    """Every command and sub-command the parser has is listed by --help and answers its own
    --help with exit 0 (nothing listed that isn't wired)."""
    top = _cli("--help")
    assert top.returncode == 0 and "open the console" in top.stdout
    parser = build_parser()
    listed = _commands(parser)
    assert {"run", "validate-config", "status", "flatten", "approve", "stage"} <= set(listed)
    paths = [[name] for name in listed] + [
        [name, sub] for name, p in listed.items() for sub in _commands(p)
    ]
    for path in paths:
        assert path[0] in top.stdout
        assert main([*path, "--help"]) == 0, path
