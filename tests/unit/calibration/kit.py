"""Small calibration tasks on generated synthetic-index histories (deterministic, fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeterm.calibration.memory import MemoryGuard
from tradeterm.calibration.space import build_space
from tradeterm.calibration.study import StudySettings
from tradeterm.calibration.task import CalibrationTask
from tradeterm.domain.enums import Domain
from tradeterm.testing.histories import synthetic_history

OPEN_GUARD = MemoryGuard(min_available_mb=0, min_available_pct=0, wait_s=0)


def task(
    symbol: str = "1HZ100V",
    timeframe: str = "15m",
    bars: int = 2000,
    strategy: str = "breakout",
    leverage_max: int = 1,
    **kw: Any,
) -> CalibrationTask:
    fixed = kw.pop("fixed", None)
    margin = kw.pop("margin", "isolated")
    space = build_space(strategy, leverage_max=leverage_max, margin=margin, fixed=fixed)
    series = synthetic_history(symbol, timeframe, bars)
    return CalibrationTask(
        strategy, timeframe, {symbol: series}, space, domain=Domain.CRYPTO_PERP, **kw
    )


def settings(tmp: Path, trials: int, name: str = "t", **kw: Any) -> StudySettings:
    kw.setdefault("guard", OPEN_GUARD)
    kw.setdefault("seed", 3)
    return StudySettings(f"sqlite:///{tmp / 'optuna.db'}", name, trials, **kw)
