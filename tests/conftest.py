"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeterm.domain.series import BarSeries

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("TRADETERM_SHARED")
    return Path(env) if env else (REPO.parent / "shared")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (real market data, venue schemas). CI always has it beside the clone."""
    path = _shared_dir()
    if not (path / "data").is_dir():
        pytest.fail(f"shared data not found at {path} (set TRADETERM_SHARED to its location)")
    return path


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"


def load_shared_bars(path: Path) -> BarSeries:
    """A shared-data CSV (ts,open,high,low,close,volume) as a BarSeries."""
    df = pd.read_csv(path)
    return BarSeries.from_columns(
        df["ts"].to_numpy(np.int64), df["open"], df["high"], df["low"], df["close"], df["volume"]
    )


@pytest.fixture(scope="session")
def btc_5m(shared_data: Path) -> BarSeries:
    """5,041 real Binance USDT-M BTCUSDT 5-minute bars (Feb-Mar 2024)."""
    return load_shared_bars(shared_data / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv")


@pytest.fixture(scope="session")
def eth_5m(shared_data: Path) -> BarSeries:
    return load_shared_bars(shared_data / "crypto" / "usdm_ETHUSDT_5m_2024-02.csv")


@pytest.fixture(scope="session")
def orcl_daily(shared_data: Path) -> BarSeries:
    """5,036 real ORCL daily bars (1995-2014, Yahoo export via backtrader's test data)."""
    return load_shared_bars(shared_data / "equities" / "daily_ORCL_1995-2014.csv")
