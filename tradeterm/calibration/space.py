"""The search space of a calibration: the strategy's `Params` bounds plus leverage and margin.

Every numeric field of a strategy's Params model carries `ge`/`le` bounds (the contract in
`strategies/base.py`); those bounds are the space. Integers are searched step 1, floats
continuously (on a log scale when the field says `json_schema_extra={"log": True}`), booleans as
a two-way choice. Leverage is searched 1..`leverage_max` step 1 and the margin mode over the
modes asked for. A parameter can be pinned (`fixed`) and then is not searched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna

from tradeterm.errors import UserError
from tradeterm.strategies.base import ParamSpec, StrategyParams, param_specs
from tradeterm.strategies.registry import get_strategy

MarginChoice = Literal["isolated", "cross", "both"]
LEVERAGE = "leverage"
MARGIN = "margin_mode"
MAX_LEVERAGE = 125


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched dimension: a strategy parameter, the leverage or the margin mode."""

    name: str
    kind: Literal["int", "float", "bool", "choice"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The dimensions of one strategy's calibration and the values pinned outside the search."""

    strategy: str
    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def suggest(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """The trial's values for every dimension (plus the pinned ones)."""
        values: dict[str, Any] = dict(self.fixed)
        for dim in self.dimensions:
            values[dim.name] = _suggest(trial, dim)
        return values

    def split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], float, str]:
        """(strategy params, leverage, margin mode) of a trial's values."""
        params = {k: v for k, v in values.items() if k not in (LEVERAGE, MARGIN)}
        return params, float(values.get(LEVERAGE, 1)), str(values.get(MARGIN, "isolated"))


def _suggest(trial: optuna.trial.BaseTrial, dim: Dimension) -> Any:
    if dim.kind == "int":
        return trial.suggest_int(dim.name, int(dim.low or 0), int(dim.high or 0), log=dim.log)
    if dim.kind == "float":
        return trial.suggest_float(dim.name, float(dim.low or 0), float(dim.high or 0), log=dim.log)
    if dim.kind == "bool":
        return trial.suggest_categorical(dim.name, [False, True])
    return trial.suggest_categorical(dim.name, list(dim.choices))


def _is_log(model: type[StrategyParams], name: str) -> bool:
    extra = model.model_fields[name].json_schema_extra
    return bool(isinstance(extra, dict) and extra.get("log"))


def param_dimension(spec: ParamSpec, log: bool = False) -> Dimension:
    """The dimension of one Params field (its bounds, its kind)."""
    if spec.kind == "bool":
        return Dimension(spec.name, "bool")
    if spec.low is None or spec.high is None:  # the Params contract forbids it; be explicit
        raise UserError(f"{spec.name}: the parameter has no bounds and cannot be searched")
    if log and spec.low <= 0:
        raise UserError(f"{spec.name}: on a log scale but its low bound is not > 0")
    return Dimension(spec.name, spec.kind, spec.low, spec.high, log)


def build_space(
    strategy: str,
    *,
    leverage_max: int = 1,
    margin: MarginChoice = "isolated",
    fixed: Mapping[str, Any] | None = None,
    only: Sequence[str] | None = None,
) -> SearchSpace:
    """The search space of `strategy`: every Params field with bounds (or only those named in
    `only`), leverage 1..leverage_max step 1 (pinned at 1 when leverage_max is 1), and the margin
    mode (searched when `margin` is "both"). `fixed` pins parameters to values."""
    model = get_strategy(strategy).params_model
    if not 1 <= leverage_max <= MAX_LEVERAGE:
        raise UserError(f"--leverage-max {leverage_max} is outside 1..{MAX_LEVERAGE}")
    pinned: dict[str, Any] = dict(fixed or {})
    specs = {s.name: s for s in param_specs(model)}
    unknown = [
        n for n in [*(only or []), *pinned] if n not in specs and n not in (LEVERAGE, MARGIN)
    ]
    if unknown:
        known = ", ".join(specs)
        raise UserError(
            f"--param {unknown[0]}: strategy '{strategy}' has no such parameter (known: {known})"
        )
    dims = [
        param_dimension(spec, _is_log(model, name))
        for name, spec in specs.items()
        if name not in pinned and (not only or name in only)
    ]
    if leverage_max > 1 and LEVERAGE not in pinned:
        dims.append(Dimension(LEVERAGE, "int", 1, leverage_max))
    else:
        pinned.setdefault(LEVERAGE, 1)
    if margin == "both" and MARGIN not in pinned:
        dims.append(Dimension(MARGIN, "choice", choices=("isolated", "cross")))
    else:
        pinned.setdefault(MARGIN, "isolated" if margin == "both" else margin)
    return SearchSpace(strategy, tuple(dims), pinned)


def default_values(strategy: str) -> dict[str, Any]:
    """The strategy's default parameters (the first trial enqueued, as a prior)."""
    return dict(get_strategy(strategy).default_params().model_dump())
