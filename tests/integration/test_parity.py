"""Parity: the vector engine (numba kernels) and the event engine (the real node on a SimClock,
replaying the bars through the sim venue) make the same trades on every OHLCV series of the
shared data and on long generated synthetic-index histories, for each of the five strategies
with default parameters: same entry bar, exit bar, side, size (1e-9 relative) and exit reason,
and the same equity (1e-6 relative). A mismatch prints the first differing trade side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.integration.parity_kit import (
    EQUITY_TOLERANCE,
    SHARED,
    STRATEGIES,
    default_config,
    file_request,
    first_difference,
    funding_for,
    ohlcv_files,
    series,
    synthetic_rules,
)
from tradeterm.backtest.engines import BacktestRequest, run_backtest
from tradeterm.backtest.result import BacktestResult
from tradeterm.domain.enums import Domain
from tradeterm.testing.histories import synthetic_history

FILES = ohlcv_files()
SYNTHETIC = (("R_100", "1m", 14_000), ("BOOM500", "5m", 12_000), ("JD75", "1m", 14_000),
             ("1HZ100V", "5m", 12_000))  # fmt: skip


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """The node alerts every risk denial as a warning; a replay makes thousands."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def assert_same(vector: BacktestResult, event: BacktestResult) -> None:
    diff = first_difference(vector, event)
    assert diff is None, diff
    gap = np.abs(vector.equity - event.equity) / np.maximum(np.abs(event.equity), 1.0)
    worst = int(np.argmax(gap)) if gap.size else 0
    assert not gap.size or gap[worst] <= EQUITY_TOLERANCE, (
        f"equity differs at bar {worst}: vector {vector.equity[worst]!r} "
        f"vs event {event.equity[worst]!r}"
    )


def test_the_shared_data_is_there() -> None:
    names = {p.name for p in FILES}
    assert len(FILES) >= 15, f"shared data missing under {SHARED}"
    assert {"daily_ORCL_1995-2014.csv", "usdm_BTCUSDT_5m_2024-02.csv"} <= names
    assert any(p.parent.name == "equities" for p in FILES)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_and_event_agree_on_shared_data(path: Path, strategy: str) -> None:
    vector = run_backtest(file_request(path, strategy, "vector"))
    event = run_backtest(file_request(path, strategy, "event"))
    assert_same(vector, event)


def test_the_shared_data_parity_is_not_vacuous() -> None:
    """Most short files never finish a strategy's warm-up; the long ones must trade, with every
    strategy, every exit kind the defaults produce and funding on the perpetuals."""
    trades = {s: 0 for s in STRATEGIES}
    reasons: set[str] = set()
    funding = 0.0
    for path in FILES:
        for strategy in STRATEGIES:
            result = run_backtest(file_request(path, strategy, "vector"))
            trades[strategy] += len(result.trades)
            reasons.update(t.exit_reason for t in result.trades)
            funding += abs(result.funding_paid)
    assert all(n >= 20 for n in trades.values()), trades
    assert sum(trades.values()) >= 600
    assert {"stop_loss", "take_profit", "max_hold"} <= reasons
    assert funding > 0.0


def synthetic_request(symbol: str, timeframe: str, bars: int, strategy: str) -> BacktestRequest:
    return BacktestRequest(
        strategy=strategy,
        timeframe=timeframe,
        bars={symbol: synthetic_history(symbol, timeframe, bars)},
        config=default_config(),
        domain=Domain.SYNTHETICS,
        markets={symbol: synthetic_rules(symbol)},
        cash=1_000.0,
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("index", SYNTHETIC, ids=[f"{s}-{tf}" for s, tf, _ in SYNTHETIC])
def test_vector_and_event_agree_on_synthetic_histories(
    index: tuple[str, str, int], strategy: str
) -> None:
    request = synthetic_request(*index, strategy)
    vector = run_backtest(request)
    event = run_backtest(replace(request, engine="event"))
    assert len(vector.trades) >= 2, "a long synthetic history must trade"
    assert_same(vector, event)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_vector_and_event_agree_on_one_wallet_for_two_perpetuals(strategy: str) -> None:
    """BTC and ETH 5m perpetuals in one wallet with their funding series: ties between the two
    markets play in symbol order, caps count both, funding is charged on each."""
    btc = SHARED / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"
    eth = SHARED / "crypto" / "usdm_ETHUSDT_5m_2024-02.csv"
    request = BacktestRequest(
        strategy=strategy,
        timeframe="5m",
        bars={"BTCUSDT": series(btc), "ETHUSDT": series(eth)},
        funding={"BTCUSDT": funding_for(btc), "ETHUSDT": funding_for(eth)},  # type: ignore[dict-item]
        config=default_config(),
        cash=10_000.0,
    )
    vector = run_backtest(request)
    event = run_backtest(replace(request, engine="event"))
    assert {t.symbol for t in vector.trades} == {"BTCUSDT", "ETHUSDT"}
    assert vector.funding_paid != 0.0
    assert_same(vector, event)
