"""Cross margin, end to end: the event engine (the node's paper execution engine, the paper
executor) and the vector engine run the same request and liquidate the same cross wallet at
the same bar, through the same formula (domain/margin.py via domain/perps.py and nb.py).

Why a funding charge does it: in both engines a position's stop is tested before liquidation
and one trade risks at most 10 % of equity at its stop, so a lone cross position (backed by the
whole wallet) reaches its stop long before its liquidation price. One outsized funding charge
(150 % of the notional, at the 8-hour boundary of bar 540 while the fourth trade is open)
drains the wallet balance that backs it in cross, so its liquidation price jumps above the mark.
In isolated margin only the position's own initial margin backs it: the same charge does not
liquidate it and the trade runs to its take-profit.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.backtest.kit import config, request
from tradeterm.backtest.engines import FundingSeries, run_backtest
from tradeterm.backtest.plan import plan_run
from tradeterm.testing.histories import synthetic_history

BOUNDARY = 1_766_937_600_000  # the 8-hour boundary at bar 540 of this history


def _run(margin: str, engine: str):  # type: ignore[no-untyped-def]
    series = synthetic_history("R_100", "5m", 1500)
    assert int(np.searchsorted(series.open_ms, BOUNDARY)) == 540
    funding = FundingSeries(np.array([BOUNDARY]), np.array([1.5]))
    cfg = config(risk={"flatten_on_kill": False, "position_size": 1.0, "max_pair_exposure": 1.0})
    req = request(
        series, cfg, bars={"X": series}, funding={"X": funding}, leverage=20.0,
        margin=margin, cash=1000.0, start=None, engine=engine,
    )  # fmt: skip
    return req, run_backtest(req)


def test_the_backtest_margin_mode_reaches_the_paper_execution_engine() -> None:
    req, _ = _run("isolated", "vector")
    assert plan_run(req).execution.paper_margin_mode == "isolated"
    cross, _ = _run("cross", "vector")
    assert plan_run(cross).execution.paper_margin_mode == "cross"


@pytest.mark.parametrize("margin", ["cross", "isolated"])
def test_event_and_vector_engines_liquidate_a_cross_wallet_at_the_same_bar(margin: str) -> None:
    _, vector = _run(margin, "vector")
    _, event = _run(margin, "event")
    rows = [(t.entry_bar, t.exit_bar, t.exit_reason) for t in vector.trades]
    assert rows == [(t.entry_bar, t.exit_bar, t.exit_reason) for t in event.trades]
    assert [t.qty for t in vector.trades] == pytest.approx([t.qty for t in event.trades])
    if margin == "cross":
        assert vector.liquidated and vector.liquidation_bar == 540
        assert rows[3] == (514, 540, "liquidation")
    else:
        assert not vector.liquidated
        assert rows[3] == (514, 556, "take_profit")
