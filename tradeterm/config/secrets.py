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


# ---- secret-looking keys in config files -------------------------------------------------------
_SECRET_PARTS = (
    "token", "secret", "password", "passwd", "passphrase", "apikey", "privatekey", "clientid",
    "credential", "bearer", "mnemonic", "signature",
)  # fmt: skip
_SECRET_NAMES = frozenset({"key", "auth", "pass", "pin", "otp", "pwd"})
_CONTEXT_PREFIX = {
    "deriv": "deriv",
    "binance_futures": "binance",
    "binance": "binance",
    "bybit": "bybit",
    "deribit": "deribit",
    "telegram": "telegram",
}
SECRET_CONTEXTS = frozenset(_CONTEXT_PREFIX)
"""Venue kinds and sections whose secrets have environment variables of their own."""
_ROLE_SUFFIX = (("secret", "secret"), ("clientid", "client_id"), ("token", "token"), ("key", "key"))


def _normal(key: str) -> str:
    return "".join(ch for ch in key.lower() if ch.isalnum())


def looks_secret(key: str) -> bool:
    """True for a key that names a credential, in any spelling: `api_key`, `apiKey`,
    `DERIV_API_TOKEN`, `client-id`, `Password`..."""
    norm = _normal(key)
    return norm in _SECRET_NAMES or any(part in norm for part in _SECRET_PARTS)


def secret_env_vars(key: str, context: str = "") -> list[str]:
    """The environment variable(s) a secret-looking `key` belongs in. `context` is the venue
    kind or section it was found under (`deriv`, `bybit`, `telegram`...)."""
    names = list(Secrets.model_fields)
    norm = _normal(key)
    exact = [n for n in names if _normal(n) == norm]
    if exact:
        return [exact[0].upper()]
    prefix = _CONTEXT_PREFIX.get(context) or next(
        (p for c, p in _CONTEXT_PREFIX.items() if norm.startswith(c.replace("_", ""))), ""
    )
    if context == "sim" and not prefix:
        return []  # the sim venue takes no keys at all
    candidates = [n for n in names if prefix and n.startswith(prefix)] or names
    for word, suffix in _ROLE_SUFFIX:
        if word in norm:
            chosen = [n for n in candidates if n.endswith(suffix)]
            if chosen:
                return [n.upper() for n in chosen]
    return [n.upper() for n in candidates]
