"""The JSON Schema of the config tree, for editors (configs/schema.json, kept current by a test)."""

from __future__ import annotations

import json

from tradeterm.config.models import TradetermConfig


def config_schema() -> dict[str, object]:
    schema = TradetermConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tradeterm configuration"
    return schema


def config_schema_text() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
