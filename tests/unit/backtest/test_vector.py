"""The vector engine on hand-made bars and signals: fills, exits, intrabar paths, funding,
liquidation, spot shorts, fills at the close, grids. The sums are worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.backtest.kit import bars, config, flat_bars, frame, request, run, with_
from tradeterm.backtest.engines import FundingSeries, run_backtest, run_grid
from tradeterm.domain.enums import Domain
from tradeterm.testing.histories import synthetic_history

# bar 7 dips to 97.50 and reaches 102.00; it opens at 100 and closes lower (a bearish bar: the
# replay feed visits its high first)
ROWS = [*flat_bars(7), (100.0, 102.0, 97.5, 98.0), *flat_bars(4, 98.0)]


def long_at_5(stop: float = 98.0, target: float = 104.0) -> list:  # type: ignore[type-arg]
    return [frame(len(ROWS), 5, 1, 100.0, stop, target)]


def test_a_long_fills_at_the_next_open_ask_and_its_resting_stop_at_the_bid() -> None:
    result = run(request(bars(ROWS)), long_at_5())
    (trade,) = result.trades
    # entry: bar 6's open tick at 100.00, bought at the ask one tick above; sized at 50% of
    # 10,000 of notional (the money-at-risk size, 10%, is larger), floored to 0.001
    assert (trade.entry_bar, trade.entry_price, trade.qty) == (6, 100.01, 49.995)
    # exit: bar 7 is bearish, high first (102 < target 104), then its low 97.50 through the
    # stop at 98: the stop-market sells at the bid of that tick, 97.49
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (7, 97.49, "stop_loss")
    fees = 100.01 * 49.995 * 0.001 + 97.49 * 49.995 * 0.001
    assert trade.fees == pytest.approx(fees, rel=1e-12)
    assert trade.pnl == pytest.approx((97.49 - 100.01) * 49.995 - fees, rel=1e-12)
    assert result.final_equity == pytest.approx(10_000.0 + trade.pnl, rel=1e-12)
    assert trade.r_multiple < -1.0  # gapped through the stop: worse than planned


def test_the_replay_path_decides_a_bar_that_touches_both_levels_and_worst_assumes_the_stop() -> (
    None
):
    path = run(request(bars(ROWS)), long_at_5(stop=99.0, target=101.5))
    worst = run(with_(request(bars(ROWS)), intrabar="worst"), long_at_5(stop=99.0, target=101.5))
    # path: bearish bar, high first: the take-profit limit fills at its price (maker)
    assert [t.exit_reason for t in path.trades] == ["take_profit"]
    assert path.trades[0].exit_price == pytest.approx(101.5, rel=1e-15)
    # worst: the low first, the stop fills
    assert [(t.exit_reason, t.exit_price) for t in worst.trades] == [("stop_loss", 97.49)]
    assert path.trades[0].fees == pytest.approx((100.01 * 0.001 + 101.5 * 0.0005) * 49.995)


def test_fill_at_close_enters_on_the_signal_bar() -> None:
    result = run(with_(request(bars(ROWS)), fill="close"), long_at_5())
    assert (result.trades[0].entry_bar, result.trades[0].entry_price) == (5, 100.01)


def test_a_spot_market_is_never_sold_short() -> None:
    short = [frame(len(ROWS), 5, -1, 100.0, 102.0, 96.0)]
    spot = run(with_(request(bars(ROWS)), domain=Domain.CRYPTO_SPOT), short)
    perp = run(request(bars(ROWS)), short)
    assert spot.trades == ()
    assert [t.side for t in perp.trades] == [-1]


@pytest.mark.parametrize("side", [1, -1])
def test_funding_is_charged_at_the_8_hour_boundary_with_the_sign_of_the_side(side: int) -> None:
    n = 100  # 5m bars from 00:00: 08:00 is bar 96's open
    series = bars(flat_bars(n))
    rate = 0.0005
    funding = FundingSeries(np.array([1_709_280_000_000]), np.array([rate]))  # 08:00
    stop, target = (90.0, 130.0) if side > 0 else (110.0, 70.0)
    signal = [frame(n, 90, side, 100.0, stop, target)]
    result = run(request(series, funding={"X": funding}), signal)
    (trade,) = result.trades
    assert trade.exit_reason == "end_of_data"
    expected = rate * trade.qty * 100.0 * side  # longs pay a positive rate, shorts receive it
    assert trade.funding == pytest.approx(expected, rel=1e-12)
    assert result.funding_paid == pytest.approx(expected, rel=1e-12)
    no_funding = run(request(series, config(execution={"funding": False})), signal)
    assert no_funding.funding_paid == 0.0


def test_an_isolated_position_at_20x_is_liquidated_on_a_gap_and_the_run_is_flagged() -> None:
    rows = [*flat_bars(8), (93.0, 93.5, 92.5, 93.0), *flat_bars(3, 93.0)]
    signal = [frame(len(rows), 5, 1, 100.0, 80.0, 140.0, atr=10.0)]
    levered = run(request(bars(rows), leverage=20.0), signal)
    assert levered.liquidated and levered.liquidation_bar == 8
    assert [t.exit_reason for t in levered.trades] == ["liquidation"]
    cross = run(request(bars(rows), leverage=20.0, margin="cross"), signal)
    assert not cross.liquidated  # the whole wallet backs it
    assert not run(request(bars(rows)), signal).liquidated  # 1x: fully collateralised


def test_a_grid_runs_every_combination_in_order_as_single_runs_would() -> None:
    series = synthetic_history("R_100", "5m", 3_000)
    base = request(series, config(), strategy="breakout", start=None, domain=Domain.SYNTHETICS)
    rows = run_grid(base, {"channel": [12, 20], "stop_atr": [1.5, 2.0]})
    assert [r.params for r in rows] == [
        {"channel": 12, "stop_atr": 1.5}, {"channel": 12, "stop_atr": 2.0},
        {"channel": 20, "stop_atr": 1.5}, {"channel": 20, "stop_atr": 2.0},
    ]  # fmt: skip
    for row in rows:
        single = run_backtest(with_(base, params=row.params))
        assert row.result.trades == single.trades
        assert np.array_equal(row.result.equity, single.equity)
    assert len({r.result.final_equity for r in rows}) > 1
    zipped = run_grid(base, {"channel": [12, 20], "stop_atr": [1.5, 2.0]}, combine="zip")
    assert [r.params for r in zipped] == [{"channel": 12, "stop_atr": 1.5},
                                          {"channel": 20, "stop_atr": 2.0}]  # fmt: skip
