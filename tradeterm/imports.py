"""Importing third-party modules without the optional heavyweights they drag in.

sqlite-utils and TA-Lib both import pandas (and through it pyarrow, polars if present) at import
time when it is installed, for features tradeterm never uses (pandas Timestamp column types;
pandas/polars wrappers of TA-Lib functions). In a live process that is ~60-70 MB of RSS on a
Raspberry Pi. `import_hiding` imports such a module with those optional dependencies hidden, so
the module takes its documented "not installed" path; they stay importable for code that needs
them afterwards.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType

OPTIONAL_HEAVY = ("pandas", "polars")


def import_hiding(name: str, hide: tuple[str, ...] = OPTIONAL_HEAVY) -> ModuleType:
    """`import name` with the modules in `hide` unavailable during that import (unless they are
    already loaded, in which case nothing would be saved)."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    masked = [m for m in hide if m not in sys.modules]
    for module in masked:
        sys.modules[module] = None  # type: ignore[assignment]  # `import module` -> ImportError
    try:
        return importlib.import_module(name)
    finally:
        for module in masked:
            del sys.modules[module]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A package's module `__getattr__` (PEP 562) for its re-exported names: `exports` maps each
    name to the submodule that defines it, imported on first use. Importing one light submodule
    of the package (`tradeterm.risk.sizing` for the backtest kernels) then no longer loads the
    heavy ones (the risk engine, the portfolio and SQLite behind it). The package keeps the names
    under `if TYPE_CHECKING:` imports for type checkers."""

    def getattr_(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return getattr_
