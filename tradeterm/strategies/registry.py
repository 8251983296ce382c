"""The strategy registry: strategies by name, built-ins by decorator, plugins by entry point.

Built-in strategies register themselves with `@register_strategy` when `tradeterm.strategies` is
imported. Third-party strategies are found through the entry-point group `tradeterm.strategies`
(`[project.entry-points."tradeterm.strategies"] my_idea = "my_pkg.ideas:MyIdea"`), loaded lazily
the first time a name is looked up. A plugin that fails to load is logged and skipped; the others
keep working.

The process-wide registry is the one table the decorator writes to; it is built on first use by
`default_registry()`. Tests and tools that need isolation build their own `StrategyRegistry`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import ValidationError

from tradeterm.config.models import StrategyConfig
from tradeterm.domain.timeframes import is_higher
from tradeterm.errors import ConfigError, StrategyError
from tradeterm.strategies.base import Strategy, StrategyClass, StrategyParams, param_specs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tradeterm.strategies"
"""The entry-point group plugins use to offer strategies."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

S = TypeVar("S", bound=StrategyClass)


class StrategyRegistry:
    """Strategies known by name. Names are unique: a second class under a taken name is refused."""

    def __init__(self, entry_point_group: str | None = ENTRY_POINT_GROUP) -> None:
        self._by_name: dict[str, StrategyClass] = {}
        self._group = entry_point_group
        self._plugins_loaded = entry_point_group is None
        self._plugin_problems: list[str] = []

    # -- registration ------------------------------------------------------------------------
    def register(self, cls: S) -> S:
        """Add a strategy class (usable as a class decorator). Registering the same class twice
        is harmless; a different class under a taken name raises StrategyError."""
        _check_strategy_class(cls)
        taken = self._by_name.get(cls.name)
        if taken is not None and taken is not cls:
            raise StrategyError(
                f"strategy name '{cls.name}' is already taken by "
                f"{taken.__module__}.{taken.__qualname__}"
            )
        self._by_name[cls.name] = cls
        return cls

    def load_plugins(self) -> None:
        """Load the entry-point plugins, once. Failures are logged and remembered, not raised."""
        if self._plugins_loaded or self._group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self._group):
            try:
                obj = ep.load()
                if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
                    raise StrategyError(f"{ep.value} is not a Strategy class")
                self.register(obj)
            except Exception as exc:
                problem = f"strategy plugin '{ep.name}' ({ep.value}) skipped: {exc}"
                log.warning(problem)
                self._plugin_problems.append(problem)

    @property
    def plugin_problems(self) -> list[str]:
        """One line per plugin that failed to load (empty when all loaded)."""
        self.load_plugins()
        return list(self._plugin_problems)

    # -- lookup ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every known strategy name, sorted."""
        self.load_plugins()
        return sorted(self._by_name)

    def get(self, name: str) -> StrategyClass:
        """The strategy class called `name`; StrategyError listing the known names otherwise."""
        self.load_plugins()
        try:
            return self._by_name[name]
        except KeyError:
            raise StrategyError(
                f"unknown strategy '{name}' (known: {', '.join(self.names())})"
            ) from None

    def build_params(
        self, name: str, overrides: Mapping[str, Any], *, path: str = "params"
    ) -> StrategyParams:
        """The strategy's Params with `overrides` applied; ConfigError with one line per problem
        (each prefixed by `path`) when a value is unknown or out of bounds."""
        model = self.get(name).params_model
        try:
            return model(**overrides)
        except ValidationError as exc:
            problems = [_problem_line(path, err) for err in exc.errors()]
            raise ConfigError(f"invalid parameters for strategy '{name}'", problems) from None

    def check(self, strategies: Mapping[str, StrategyConfig]) -> list[str]:
        """Config-style problem lines for the `[strategies.*]` tables (empty when all is well)."""
        problems: list[str] = []
        for key, cfg in strategies.items():
            base = f"strategies.{key}"
            name = cfg.strategy or key
            if name not in self.names():
                where = f"{base}.strategy" if cfg.strategy else base
                known = ", ".join(self.names())
                problems.append(f"{where}: unknown strategy '{name}' (known: {known})")
                continue
            try:
                self.build_params(name, cfg.params, path=f"{base}.params")
            except ConfigError as exc:
                problems.extend(exc.problems)
            problems.extend(_confirm_problems(base, cfg))
        return problems

    def describe(self) -> list[dict[str, Any]]:
        """Name, version, summary, default lookback and parameters (default, min, max,
        description) of every strategy, sorted by name: what `tradeterm strategies list` shows."""
        out: list[dict[str, Any]] = []
        for name in self.names():
            cls = self._by_name[name]
            doc = inspect.getdoc(cls) or ""
            params = [
                {
                    "name": spec.name,
                    "type": spec.kind,
                    "default": spec.default,
                    "min": spec.low,
                    "max": spec.high,
                    "description": spec.description,
                }
                for spec in param_specs(cls.params_model)
            ]
            out.append(
                {
                    "name": name,
                    "version": cls.version,
                    "summary": doc.split("\n\n")[0].replace("\n", " "),
                    "lookback": cls.total_lookback(cls.default_params()),
                    "params": params,
                }
            )
        return out


def _check_strategy_class(cls: Any) -> None:
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise StrategyError(f"{cls!r} is not a Strategy class")
    label = f"{cls.__module__}.{cls.__qualname__}"
    if inspect.isabstract(cls):
        raise StrategyError(f"{label} does not implement lookback() and evaluate()")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise StrategyError(f"{label}.name must be lowercase letters, digits and '_', got {name!r}")
    if not isinstance(getattr(cls, "version", None), str) or not cls.version:
        raise StrategyError(f"{label}.version must be a version string such as '1.0.0'")
    model = getattr(cls, "params_model", None)
    if not (inspect.isclass(model) and issubclass(model, StrategyParams)):
        raise StrategyError(f"{label}.params_model must be a StrategyParams subclass")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}


def _problem_text(err: Mapping[str, Any]) -> str:
    kind = str(err["type"])
    ctx = err.get("ctx") or {}
    got = _show(err.get("input"))
    bound_words = {
        "less_than_equal": ("<=", "le"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "greater_than": (">", "gt"),
    }
    if kind == "extra_forbidden":
        return "unknown parameter"
    if kind in bound_words:
        op, key = bound_words[kind]
        return f"must be {op} {ctx.get(key)}, got {got}"
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix + "_"):
            return f"must be {words}, got {got}"
    msg = str(err.get("msg", kind)).removeprefix("Value error, ")
    return msg


def _problem_line(path: str, err: Mapping[str, Any]) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ()))
    where = f"{path}.{loc}" if loc else path
    return f"{where}: {_problem_text(err)}"


def _confirm_problems(base: str, cfg: StrategyConfig) -> list[str]:
    if not cfg.confirm_timeframe:
        return []
    return [
        f"{base}.confirm_timeframe: '{cfg.confirm_timeframe}' must be a whole multiple above "
        f"timeframe '{tf}'"
        for tf in cfg.timeframes
        if not is_higher(cfg.confirm_timeframe, tf)
    ]


# ---------------------------------------------------------------------------------------------
# the process-wide registry and its module-level shortcuts
# ---------------------------------------------------------------------------------------------
@functools.cache
def default_registry() -> StrategyRegistry:
    """The registry the `@register_strategy` decorator fills and the engines read."""
    return StrategyRegistry()


def register_strategy(cls: S) -> S:
    """Class decorator: make a strategy available by its `name`. Duplicate names raise."""
    return default_registry().register(cls)


def get_strategy(name: str) -> StrategyClass:
    """The strategy class called `name` (StrategyError listing the known names otherwise)."""
    return default_registry().get(name)


def list_strategies() -> list[str]:
    """Every known strategy name, sorted (built-ins and loaded plugins)."""
    return default_registry().names()


def describe_strategies() -> list[dict[str, Any]]:
    """What `tradeterm strategies list` prints: name, version, parameters with bounds."""
    return default_registry().describe()


def build_params(name: str, overrides: Mapping[str, Any]) -> StrategyParams:
    """Params for strategy `name` with `overrides`; ConfigError listing every bad value."""
    return default_registry().build_params(name, overrides)


def check_strategy_params(strategies: Mapping[str, StrategyConfig]) -> list[str]:
    """Problem lines for the config's `[strategies.*]` tables, one per problem, e.g.
    `strategies.trend_fast.params.fast: must be <= 200, got 500`."""
    return default_registry().check(strategies)
