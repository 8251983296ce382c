"""The event engine's fast path against its live path, on real data and a synthetic index.

By default the event backtest evaluates each strategy once over the history (the runner's
`preload`) and skips the bars where the node is idle and no signal comes; `live_windows=True`
plays every bar with the strategy on its rolling window, exactly as a live node runs. Both must
make the same trades (entry and exit bar, side, size, exit reason, fees, funding) and the same
equity at every bar, and the fast path must actually skip bars.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from tests.integration.parity_kit import SHARED, STRATEGIES, file_request, first_difference
from tests.integration.test_parity import synthetic_request
from tradeterm.backtest.engines import BacktestRequest, run_backtest

CASES = {
    "btc-15m-perp": lambda s: file_request(SHARED / "crypto" / "usdm_BTCUSDT_15m_2024-02.csv", s,
                                           "event"),
    "ethbtc-5m-spot": lambda s: file_request(SHARED / "crypto" / "spot_ETHBTC_5m_2018-01.csv", s,
                                             "event"),
    "r100-1m": lambda s: replace(synthetic_request("R_100", "1m", 6_000, s), engine="event"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_trades_as_the_live_path(case: str, strategy: str) -> None:
    request: BacktestRequest = CASES[case](strategy)
    fast = run_backtest(request)
    live = run_backtest(replace(request, live_windows=True))
    assert live.settings["event_windows"] == "live" and live.settings["event_bars_skipped"] == 0
    assert fast.settings["event_windows"] == "preloaded"
    diff = first_difference(live, fast)
    assert diff is None, diff
    for a, b in zip(live.trades, fast.trades, strict=True):
        assert (a.entry_ms, a.exit_ms) == (b.entry_ms, b.exit_ms)
        assert a.entry_price == pytest.approx(b.entry_price, rel=1e-12)
        assert a.exit_price == pytest.approx(b.exit_price, rel=1e-12)
        assert a.fees == pytest.approx(b.fees, rel=1e-9, abs=1e-12)
        assert a.funding == pytest.approx(b.funding, rel=1e-9, abs=1e-12)
    gap = np.abs(live.equity - fast.equity) / np.maximum(np.abs(live.equity), 1.0)
    worst = int(np.argmax(gap))
    assert gap[worst] <= 1e-9, (
        f"bar {worst}: live {live.equity[worst]!r}, fast {fast.equity[worst]!r}"
    )
    skipped = int(fast.settings["event_bars_skipped"])
    assert 0 < skipped < len(fast.ts), f"skipped {skipped} of {len(fast.ts)} bars"
    if live.trades:  # a bar inside a trade is never skipped
        held = sum(t.exit_bar - t.entry_bar + 1 for t in live.trades)
        assert skipped <= len(fast.ts) - held


def test_the_live_path_cases_trade() -> None:
    """The comparison above proves little on runs that never trade."""
    counts = {c: len(run_backtest(CASES[c]("breakout")).trades) for c in CASES}
    assert all(n >= 3 for n in counts.values()), counts


def test_a_strategy_that_fails_is_disabled_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy raising on evaluation cannot be preloaded; the fast path then leaves it to the
    node, which disables it at its first bar as live: no trades, no crash, either way."""
    from tests.unit.strategies.test_runner import _Exploding
    from tradeterm.strategies.registry import default_registry

    monkeypatch.setitem(default_registry()._by_name, _Exploding.name, _Exploding)
    request = CASES["btc-15m-perp"](_Exploding.name)
    fast = run_backtest(request)
    live = run_backtest(replace(request, live_windows=True))
    assert fast.trades == live.trades == ()
    assert fast.settings["event_bars_skipped"] == 0
    assert fast.final_equity == live.final_equity == request.initial_cash
