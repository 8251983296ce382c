"""Fixtures for the strategy tests: real data series beyond the shared 5m ones, and helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_shared_bars
from tradeterm.domain.series import BarSeries
from tradeterm.strategies import SignalFrame

BUILTIN = ("breakout", "ema_trend", "impulse_fade", "mean_revert", "vol_squeeze")
"""The strategies tradeterm ships."""


@pytest.fixture(scope="session")
def unittest_1m(shared_data: Path) -> BarSeries:
    """13,681 real 1-minute altcoin/BTC bars (Nov 2017) with 717 missing bars: real gaps."""
    return load_shared_bars(shared_data / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv")


def make_bars(
    close: list[float] | np.ndarray,
    *,
    start_ms: int = 0,
    step_ms: int = 300_000,
    spread: float = 0.5,
) -> BarSeries:
    """Bars around a close path: open = previous close, high/low `spread` beyond the body."""
    c = np.asarray(close, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    hi = np.maximum(o, c) + spread
    lo = np.minimum(o, c) - spread
    ts = start_ms + step_ms * np.arange(c.shape[0], dtype=np.int64)
    return BarSeries.from_columns(ts, o, hi, lo, c, np.ones_like(c))


def frames_equal_before(a: SignalFrame, b: SignalFrame, stop: int) -> None:
    """Rows [0, stop) of two frames are identical (NaN equal to NaN)."""
    np.testing.assert_array_equal(a.side[:stop], b.side[:stop])
    for col in ("entry", "stop_loss", "take_profit", "confidence"):
        np.testing.assert_array_equal(getattr(a, col)[:stop], getattr(b, col)[:stop])
