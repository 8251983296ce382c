"""Secrets come only from the environment or `.env` — never from config files, never to logs.

Values are `SecretStr`: printing one shows `**********`. `redact(text)` removes any loaded secret
from a string before it is logged or stored.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Secrets(BaseSettings):
    """Venue keys and tokens, read from the environment (or `.env` in the working directory)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    deriv_api_token: SecretStr | None = Field(
        None, description="Deriv API token (DERIV_API_TOKEN)."
    )
    binance_api_key: SecretStr | None = Field(
        None, description="Binance API key (BINANCE_API_KEY)."
    )
    binance_api_secret: SecretStr | None = Field(
        None, description="Binance API secret (BINANCE_API_SECRET)."
    )
    bybit_api_key: SecretStr | None = Field(None, description="Bybit API key (BYBIT_API_KEY).")
    bybit_api_secret: SecretStr | None = Field(
        None, description="Bybit API secret (BYBIT_API_SECRET)."
    )
    deribit_client_id: SecretStr | None = Field(
        None, description="Deribit client id (DERIBIT_CLIENT_ID)."
    )
    deribit_client_secret: SecretStr | None = Field(
        None, description="Deribit client secret (DERIBIT_CLIENT_SECRET)."
    )
    telegram_bot_token: SecretStr | None = Field(
        None, description="Telegram bot token (TELEGRAM_BOT_TOKEN)."
    )

    def values(self) -> list[str]:
        """Every secret that is set (for redaction)."""
        out: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out

    def redact(self, text: str) -> str:
        """`text` with every loaded secret replaced by `***`."""
        for value in self.values():
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text


def load_secrets(env_file: str | None = ".env") -> Secrets:
    """Secrets from the environment, then `env_file` if it exists."""
    return Secrets(_env_file=env_file)  # type: ignore[call-arg]
