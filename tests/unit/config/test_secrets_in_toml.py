"""Issue 9, defect 7: a secret typed into a config file is refused under any spelling of its
key, the message names the environment variable it belongs in, and the value never appears."""

from __future__ import annotations

from typing import Any

import pytest

from tradeterm.config import config_from_dict
from tradeterm.config.secrets import looks_secret, secret_env_vars
from tradeterm.errors import ConfigError

SECRET = "S3cr3t-V4lue-xyz-000111"


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    return info.value.problems


@pytest.mark.parametrize(
    ("data", "path", "env"),
    [
        (
            {"venues": {"d": {"kind": "deriv", "apiKey": SECRET}}},
            "venues.d.apiKey",
            "DERIV_API_TOKEN",
        ),
        (
            {"venues": {"bn": {"kind": "binance_futures", "api_key": SECRET}}},
            "venues.bn.api_key",
            "BINANCE_API_KEY",
        ),
        (
            {"venues": {"bn": {"kind": "binance_futures", "API_SECRET": SECRET}}},
            "venues.bn.API_SECRET",
            "BINANCE_API_SECRET",
        ),
        (
            {"venues": {"db": {"kind": "deribit", "client_id": SECRET}}},
            "venues.db.client_id",
            "DERIBIT_CLIENT_ID",
        ),
        (
            {"venues": {"d": {"kind": "deriv", "api_token": SECRET}}},
            "venues.d.api_token",
            "DERIV_API_TOKEN",
        ),
        ({"deriv_api_token": SECRET}, "deriv_api_token", "DERIV_API_TOKEN"),
        ({"DERIV_API_TOKEN": SECRET}, "DERIV_API_TOKEN", "DERIV_API_TOKEN"),
        (
            {"notify": {"telegram": {"Bot-Token": SECRET}}},
            "notify.telegram.Bot-Token",
            "TELEGRAM_BOT_TOKEN",
        ),
        (
            {"venues": {"by": {"kind": "bybit", "Password": SECRET}}},
            "venues.by.Password",
            "BYBIT_",
        ),
    ],
)
def test_secret_keys_are_refused_in_any_spelling(data: dict[str, Any], path: str, env: str) -> None:
    problems = _problems(data)
    mine = [p for p in problems if p.startswith(f"{path}:")]
    assert len(mine) == 1, problems
    assert "secrets are not allowed in config files" in mine[0]
    assert env in mine[0] and "environment or .env" in mine[0]
    assert not any(SECRET in p for p in problems)
    assert not any(p.startswith(f"{path}: unknown key") for p in problems)


def test_secrets_inside_lists_of_tables_are_found() -> None:
    data = {
        "venues": {
            "sim": {
                "kind": "sim",
                "replay": [{"symbol": "X", "path": "x.csv", "timeframe": "1m", "token": SECRET}],
            }
        }
    }
    problems = _problems(data)
    assert any(
        p.startswith("venues.sim.replay[0].token: secrets are not allowed") for p in problems
    )
    assert "the sim venue needs no keys" in problems[0]
    assert not any(SECRET in p for p in problems)


def test_a_secret_typed_into_app_id_is_not_echoed() -> None:
    problems = _problems({"venues": {"d": {"kind": "deriv", "app_id": SECRET}}})
    assert problems == ["venues.d.app_id: must be an integer, got text of 23 characters"]


def test_short_wrong_values_are_still_shown() -> None:
    problems = _problems({"ui": {"refresh_hz": "ten"}})
    assert problems == ["ui.refresh_hz: must be a number, got 'ten'"]


@pytest.mark.parametrize(
    "key",
    ["api_key", "apiKey", "APIKEY", "client-id", "clientSecret", "api_token", "passphrase", "key"],
)
def test_looks_secret(key: str) -> None:
    assert looks_secret(key)


@pytest.mark.parametrize("key", ["app_id", "chat_id", "seed", "symbols", "kind", "currency"])
def test_ordinary_keys_do_not_look_secret(key: str) -> None:
    assert not looks_secret(key)


def test_env_vars_follow_the_venue_kind() -> None:
    assert secret_env_vars("secret", "bybit") == ["BYBIT_API_SECRET"]
    assert secret_env_vars("token", "telegram") == ["TELEGRAM_BOT_TOKEN"]
    assert secret_env_vars("apikey", "") == ["BINANCE_API_KEY", "BYBIT_API_KEY"]
    assert secret_env_vars("token", "sim") == []
