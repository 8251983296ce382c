"""Seed parameters to try first: `configs/seed_params.toml` (written by the ORSTAC idea miner, or
by hand). One table per strategy, or an array of tables for several seeds:

    [ema_trend]
    fast = 9
    slow = 55

    [[breakout]]
    channel = 30
    [[breakout]]
    channel = 80
    leverage = 3

Each seed must be a valid parameter set of the strategy (checked against its Params model, the
same rules as a config); leverage and margin_mode may be given too. The strategy's defaults are
always the first trial; these follow them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from tradeterm.calibration.space import LEVERAGE, MARGIN
from tradeterm.errors import TradetermError, UserError
from tradeterm.strategies.registry import build_params

DEFAULT_PATH = Path("configs") / "seed_params.toml"


def load_priors(strategy: str, path: Path | None = None) -> tuple[tuple[str, dict[str, Any]], ...]:
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
    out: list[tuple[str, dict[str, Any]]] = []
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
    return tuple(out)
