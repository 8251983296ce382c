"""One frozen pydantic tree loaded from TOML; secrets only from the environment or `.env`."""

from tradeterm.config.loader import (
    apply_overrides,
    config_from_dict,
    dump_config,
    load_config,
    read_toml,
)
from tradeterm.config.models import TradetermConfig

__all__ = [
    "TradetermConfig",
    "apply_overrides",
    "config_from_dict",
    "dump_config",
    "load_config",
    "read_toml",
]
