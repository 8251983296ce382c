"""sqlite-utils without pandas: it imports pandas only to map `pd.Timestamp` to a TEXT column,
and tradeterm never stores pandas values (see tradeterm.imports)."""

from __future__ import annotations

from types import ModuleType

from tradeterm.imports import import_hiding


def load() -> ModuleType:
    return import_hiding("sqlite_utils")
