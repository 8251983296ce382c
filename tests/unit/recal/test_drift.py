"""The drift comparison with numbers: live KPIs of an arm vs the promoted backtest."""

from __future__ import annotations

import pytest

from tradeterm.recal.drift import (
    DriftBounds,
    Expectation,
    LiveKpis,
    judge,
    live_kpis,
    max_drawdown,
)

BOUNDS = DriftBounds(
    min_trades=4,
    max_win_rate_drop=0.15,
    max_expectancy_drop_r=0.5,
    max_drawdown_multiple=1.5,
    min_drawdown=0.02,
)
EXPECTED = Expectation(win_rate=0.5, expectancy_r=0.4, max_drawdown=0.10)


def test_live_kpis_count_wins_mean_r_and_drawdown_on_the_equity_curve() -> None:
    k = live_kpis([100.0, -50.0, -50.0, 200.0], [1.0, -0.5, -0.5, 2.0], equity0=1000.0)
    assert k.trades == 4
    assert k.win_rate == pytest.approx(0.5)
    assert k.expectancy_r == pytest.approx(0.5)
    # 1000 -> 1100 (peak) -> 1050 -> 1000: 1 - 1000/1100
    assert k.max_drawdown == pytest.approx(1 - 1000 / 1100)


def test_max_drawdown_starts_its_peak_at_the_starting_equity() -> None:
    assert max_drawdown([-100.0, -100.0], 1000.0) == pytest.approx(0.2)
    assert max_drawdown([50.0, 50.0], 1000.0) == 0.0
    assert max_drawdown([-2000.0], 1000.0) == 1.0  # wiped out


def test_nothing_is_judged_before_min_trades() -> None:
    bad = LiveKpis(trades=3, win_rate=0.0, expectancy_r=-1.0, max_drawdown=0.9)
    verdict = judge(bad, EXPECTED, BOUNDS)
    assert not verdict.judged and not verdict.drifting


def test_within_bounds_is_no_drift() -> None:
    # just inside each allowed drop, drawdown at the limit
    edge = LiveKpis(trades=10, win_rate=0.36, expectancy_r=-0.09, max_drawdown=0.15)
    verdict = judge(edge, EXPECTED, BOUNDS)
    assert verdict.judged and not verdict.drifting


@pytest.mark.parametrize(
    ("kpis", "word"),
    [
        (LiveKpis(10, 0.34, 0.4, 0.05), "win rate 34% vs 50%"),
        (LiveKpis(10, 0.5, -0.11, 0.05), "expectancy -0.11R vs +0.40R"),
        (LiveKpis(10, 0.5, 0.4, 0.151), "drawdown 15.1% vs 10.0%"),
    ],
)
def test_each_bound_breached_alone_is_a_drift(kpis: LiveKpis, word: str) -> None:
    verdict = judge(kpis, EXPECTED, BOUNDS)
    assert verdict.drifting and len(verdict.breaches) == 1
    assert word in verdict.breaches[0]


def test_the_expected_drawdown_is_floored() -> None:
    calm = Expectation(win_rate=None, expectancy_r=None, max_drawdown=0.001)
    # limit = max(0.001, 0.02) * 1.5 = 3%: 2.9% is fine, 3.1% drifts
    assert not judge(LiveKpis(10, 0.0, -5.0, 0.029), calm, BOUNDS).drifting
    assert judge(LiveKpis(10, 0.0, -5.0, 0.031), calm, BOUNDS).drifting


def test_metrics_the_backtest_did_not_report_are_not_judged() -> None:
    expected = Expectation.from_metrics({"win_rate": 0.6, "trade_count": 40, "flag": True})
    assert expected == Expectation(0.6, None, None)
    verdict = judge(LiveKpis(10, 0.6, -9.0, 0.99), expected, BOUNDS)
    assert verdict.judged and not verdict.drifting
