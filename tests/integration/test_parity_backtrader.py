"""Parity with backtrader: the same signals, decided by tradeterm's own allocator and risk gate,
executed by backtrader's broker on the replay feed's tick path, make the same trades as the
vector engine (entry bar, exit bar, side, exit reason; size within 2%: the equity the sizes come
from drifts with the rules left out) on the rules backtrader can express.

Left out, and neutralised in the config where they would change the trades (the list is
`tradeterm.backtest.peer.LEFT_OUT`): the bid/ask spread (a tiny tick), the maker fee (set equal
to the taker fee), a target's fill at the price a jump reaches (PnL only), the order of the
monitor and the resting orders on one tick (no max hold), protective orders on the entry tick,
the monitor's second line (a long grace), funding (off), the kill switch's tick (far away),
and the arm record's Kelly cap (learning off).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.parity_kit import SHARED, STRATEGIES, default_config, file_request
from tradeterm.backtest.engines import MarketRules, run_backtest
from tradeterm.backtest.peer import LEFT_OUT
from tradeterm.config import config_from_dict
from tradeterm.config.models import TradetermConfig

FILES = [
    SHARED / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv",
    SHARED / "crypto" / "usdm_ETHUSDT_15m_2024-02.csv",
    SHARED / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv",
    SHARED / "equities" / "daily_ORCL_1995-2014.csv",
]
SIZE_DRIFT = 0.02
EQUITY_DRIFT = 0.02


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def comparable_config() -> TradetermConfig:
    """The default config with the left-out rules unable to change a trade."""
    data = default_config().model_dump(mode="json")
    fill = data["venues"]["sim"]["fill_model"]
    fill["maker_fee_rate"] = fill["taker_fee_rate"]
    data["risk"].update(max_hold_minutes=525_600, max_drawdown=0.5)
    data["execution"].update(funding=False, stop_grace_s=300)
    data["allocator"]["learning"] = False
    return config_from_dict(data)


def test_the_left_out_rules_are_named() -> None:
    words = " ".join(LEFT_OUT)
    for rule in ("bid/ask", "maker fee", "funding", "kill switch", "Kelly", "second line"):
        assert rule in words


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_backtrader_makes_the_same_trades(path: Path, strategy: str) -> None:
    request = replace(
        file_request(path, strategy, "vector"),
        config=comparable_config(),
        markets={path.stem: MarketRules(tick_size=1e-8)},
    )
    ours = run_backtest(request)
    peer = run_backtest(replace(request, engine="backtrader"))
    assert len(peer.trades) == len(ours.trades), (len(ours.trades), len(peer.trades))
    for i, (a, b) in enumerate(zip(ours.trades, peer.trades, strict=True)):
        shape_a = (a.entry_bar, a.exit_bar, a.side, a.exit_reason)
        shape_b = (b.entry_bar, b.exit_bar, b.side, b.exit_reason)
        assert shape_a == shape_b, f"trade {i}: vector {a}\n backtrader {b}"
        assert abs(a.qty - b.qty) <= SIZE_DRIFT * a.qty, f"trade {i}: {a.qty} vs {b.qty}"
    drift = abs(peer.final_equity - ours.final_equity) / ours.final_equity
    assert drift <= EQUITY_DRIFT, (ours.final_equity, peer.final_equity)
