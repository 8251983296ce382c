"""Seed parameters to try first: `configs/seed_params.toml` (written by the ORSTAC idea miner, or
by hand). Two sources, both enqueued after the strategy's defaults:

1. Explicit per-strategy tables (by hand). One table per strategy, or an array of tables:

       [ema_trend]
       fast = 9
       slow = 55

       [[breakout]]
       channel = 30
       [[breakout]]
       channel = 80
       leverage = 3

   Each must be a valid parameter set of the strategy (checked against its Params model, the same
   rules as a config; an invalid one is a UserError naming the file and seed); leverage and
   margin_mode may be given too.

2. The miner's THEMES (`[indicators.*]`, what `tradeterm orstac-seed` writes) are mapped onto each
   strategy's Params here (the miner stays strategy-agnostic; the mapping lives next to its one
   reader). A strategy gets the themed values of the parameters it has (`param_specs`):

       fast / slow     the k-th pair of the most common EMA periods (smaller one = fast)
       bb_period       the k-th most common Bollinger period
       rsi_period      the k-th most common RSI period
       bb_dev          the median Bollinger multiplier
       rsi_low/high    the median oversold / overbought thresholds

   Seed k = 1..THEME_SEEDS; each value is clipped to the field's bounds (ints rounded) and the
   whole set (over the defaults) must pass the Params model, else that seed is dropped (e.g. a
   pair that collapses to fast >= slow). Seeds equal to the defaults or to an earlier seed are
   dropped. A strategy none of whose parameters has a theme (breakout's channel, for one) gets
   no themed seed. Themed seeds follow the explicit ones.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradeterm.calibration.space import LEVERAGE, MARGIN
from tradeterm.errors import TradetermError, UserError
from tradeterm.strategies.base import param_specs
from tradeterm.strategies.registry import build_params, get_strategy

DEFAULT_PATH = Path("configs") / "seed_params.toml"
THEME_SEEDS = 3
"""At most this many themed seeds per strategy."""

Prior = tuple[str, dict[str, Any]]


def load_priors(strategy: str, path: Path | None = None) -> tuple[Prior, ...]:
    """The seeds for `strategy` as (label, values); none when the default file is absent.
    UserError naming the file and seed when one is invalid (or an explicit file is missing)."""
    chosen = path or DEFAULT_PATH
    if not chosen.is_file():
        if path is not None:
            raise UserError(f"--priors {path}: no such file")
        return ()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{chosen}: cannot be read as TOML ({exc})") from None
    entry = data.get(strategy)
    seeds = [entry] if isinstance(entry, dict) else list(entry or [])
    out: list[Prior] = []
    for i, seed in enumerate(seeds, start=1):
        if not isinstance(seed, dict):
            raise UserError(f"{chosen}: [{strategy}] seed {i} is not a table")
        params = {k: v for k, v in seed.items() if k not in (LEVERAGE, MARGIN)}
        try:
            build_params(strategy, params)
        except TradetermError as exc:
            why = "; ".join(getattr(exc, "problems", None) or [str(exc)])
            raise UserError(f"{chosen}: [{strategy}] seed {i}: {why}") from None
        out.append((f"{chosen.name}#{i}", dict(seed)))
    have = [values for _, values in out]
    for k, values in enumerate(theme_seeds(strategy, data.get("indicators")), start=1):
        if values not in have:
            have.append(values)
            out.append((f"{chosen.name}:themes#{k}", values))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# themes -> per-strategy seeds
# ---------------------------------------------------------------------------------------------
def _table(themes: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    node: Any = themes
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _common(counts: Mapping[str, Any]) -> list[float]:
    """Values of a `{value: count}` table, most common first (ties: the smaller value)."""
    pairs: list[tuple[float, float]] = []
    for text, count in counts.items():
        try:
            value, n = float(text), float(count)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and math.isfinite(n):
            pairs.append((value, n))
    return [v for v, _ in sorted(pairs, key=lambda p: (-p[1], p[0]))]


def _median(summary: Mapping[str, Any]) -> float | None:
    value = summary.get("median")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _ma_pairs(periods: list[float]) -> list[tuple[float, float]]:
    """(fast, slow) pairs from the most common periods: (1st, 2nd), (3rd, 4th), ..."""
    return [
        (min(a, b), max(a, b)) for a, b in zip(periods[0::2], periods[1::2], strict=False) if a != b
    ]


def _themed_values(themes: Mapping[str, Any], k: int) -> dict[str, float]:
    """Parameter name -> the k-th (0-based) themed value, for every name a theme informs."""
    out: dict[str, float] = {}
    pairs = _ma_pairs(_common(_table(themes, "ema", "periods")))
    if k < len(pairs):
        out["fast"], out["slow"] = pairs[k]
    for name, indicator in (("bb_period", "bb"), ("rsi_period", "rsi")):
        periods = _common(_table(themes, indicator, "periods"))
        if k < len(periods):
            out[name] = periods[k]
    if k > 0 and not out:
        return {}  # no k-th ranked value: the medians alone would only repeat seed 1
    for name, keys in (
        ("bb_dev", ("bb", "std_multiplier")),
        ("rsi_low", ("rsi", "oversold")),
        ("rsi_high", ("rsi", "overbought")),
    ):
        median = _median(_table(themes, *keys))
        if median is not None:
            out[name] = median
    return out


def _clip(value: float, kind: str, low: float | None, high: float | None) -> float | int:
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return round(value) if kind == "int" else float(value)


def theme_seeds(strategy: str, themes: Any) -> list[dict[str, Any]]:
    """The seeds the miner's `[indicators]` themes give `strategy` (see the module text)."""
    if not isinstance(themes, Mapping):
        return []
    model = get_strategy(strategy).params_model
    specs = {s.name: s for s in param_specs(model) if s.kind in ("int", "float")}
    defaults = get_strategy(strategy).default_params().model_dump()
    seeds: list[dict[str, Any]] = []
    for k in range(THEME_SEEDS):
        themed = _themed_values(themes, k)
        values = {
            name: _clip(value, specs[name].kind, specs[name].low, specs[name].high)
            for name, value in themed.items()
            if name in specs
        }
        if not values or all(defaults.get(n) == v for n, v in values.items()):
            continue
        try:
            build_params(strategy, {**defaults, **values})
        except TradetermError:
            continue  # e.g. a clipped pair with fast >= slow: not a valid point of this strategy
        if values not in seeds:
            seeds.append(values)
    return seeds
