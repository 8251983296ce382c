"""`--config` in either place and `--set dotted.key=value` on every command that reads a config."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tradeterm.cli import _config_choice, build_parser, main
from tradeterm.config import apply_overrides, load_config
from tradeterm.config.loader import parse_override
from tradeterm.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
DEFAULT = str(REPO / "configs" / "default.toml")


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "X.toml", "run", "--no-ui"],
        ["run", "--no-ui", "--config", "X.toml"],
        ["-c", "X.toml", "status"],
        ["status", "-c", "X.toml"],
        ["strategies", "list", "--config", "X.toml"],
        ["--config", "X.toml", "data", "check"],
        ["stage", "gates", "--config", "X.toml"],
    ],
)
def test_config_is_honoured_before_and_after_the_command(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADETERM_CONFIG", raising=False)
    choice = _config_choice(_parse(argv))
    assert choice.path == "X.toml"
    assert choice.explicit


def test_without_config_the_default_is_used_and_not_explicit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRADETERM_CONFIG", raising=False)
    choice = _config_choice(_parse(["run"]))
    assert choice.path == "configs/default.toml"
    assert not choice.explicit


def test_set_is_collected_from_both_places_in_order() -> None:
    args = _parse(["--set", "a.b=1", "run", "--set", "c.d=2", "--set", "e.f=x"])
    assert _config_choice(args).overrides == ("a.b=1", "c.d=2", "e.f=x")


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "/nonexistent.toml", "run", "--no-ui", "--duration", "1"],
        ["run", "--no-ui", "--config", "/nonexistent.toml"],
        ["strategies", "list", "--config", "/nonexistent.toml"],
        ["pause", "--config", "/nonexistent.toml"],
        ["status", "--config", "/nonexistent.toml"],
        ["approve", "c123456", "--config", "/nonexistent.toml"],
        ["data", "check", "--config", "/nonexistent.toml"],
        ["stage", "set", "2", "--config", "/nonexistent.toml"],
    ],
)
def test_a_missing_config_is_an_error_for_every_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == "/nonexistent.toml: file not found"


def test_set_overrides_a_key_and_is_validated_like_the_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate-config", DEFAULT, "--set", "risk.max_drawdown=0.7"]) == 2
    assert "risk.max_drawdown: must be <= 0.5, got 0.7" in capsys.readouterr().err
    assert main(["validate-config", DEFAULT, "--set", "risk.nonsense=1"]) == 2
    assert "risk.nonsense: unknown key" in capsys.readouterr().err
    assert main(["validate-config", DEFAULT, "--set", "venues.sim.seed=8"]) == 0


def test_set_values_are_toml_or_plain_strings(tmp_path: Path) -> None:
    assert parse_override("risk.max_drawdown=0.1") == (["risk", "max_drawdown"], 0.1)
    assert parse_override("wallets.live.approved=true") == (
        ["wallets", "live", "approved"],
        True,
    )
    assert parse_override('venues.sim.symbols=["R_10", "R_50"]')[1] == ["R_10", "R_50"]
    assert parse_override("venues.deriv.endpoint=ws://127.0.0.1:9/x?a=1")[1] == (
        "ws://127.0.0.1:9/x?a=1"
    )
    cfg = load_config(DEFAULT, ["venues.sim.seed=99", "risk.max_drawdown=0.1"])
    assert cfg.venues["sim"].seed == 99  # type: ignore[union-attr]
    assert cfg.risk.max_drawdown == 0.1


@pytest.mark.parametrize("text", ["noequals", "=1", "a..b=1", ".a=1"])
def test_malformed_set_names_itself(text: str) -> None:
    with pytest.raises(ConfigError, match=r"expected dotted\.key=value"):
        parse_override(text)


def test_set_cannot_descend_into_a_value() -> None:
    with pytest.raises(ConfigError, match=r"'risk\.max_drawdown' is a value, not a table"):
        apply_overrides({"risk": {"max_drawdown": 0.1}}, ["risk.max_drawdown.x=1"])


def test_apply_overrides_leaves_the_document_alone() -> None:
    doc = {"risk": {"max_drawdown": 0.1}}
    out = apply_overrides(doc, ["risk.max_drawdown=0.2", "ui.theme=light"])
    assert out == {"risk": {"max_drawdown": 0.2}, "ui": {"theme": "light"}}
    assert doc == {"risk": {"max_drawdown": 0.1}}
