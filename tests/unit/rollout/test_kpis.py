"""Rollout KPI maths against hand-computed numbers, and the gate report the operator reads."""

from __future__ import annotations

import math

import pytest

from tradeterm.config.models import GateConfig
from tradeterm.domain.enums import Domain, Side
from tradeterm.domain.events import ClosedTrade
from tradeterm.rollout.kpis import (
    DomainKpis,
    build_report,
    daily_equity,
    days_span,
    domain_kpis,
    gate_checks,
    max_drawdown,
    sharpe,
    win_rate,
)

DAY = 86_400_000
T0 = 1_709_251_200_000  # 2024-03-01 00:00 UTC


def _trade(n: int, pnl: float, opened_ms: int, closed_ms: int) -> ClosedTrade:
    return ClosedTrade(
        f"t{n}",
        "paper:crypto_spot",
        "sim",
        "BTCUSDT",
        Side.BUY,
        1.0,
        100.0,
        100.0 + pnl,
        opened_ms,
        closed_ms,
        pnl,
        0.1,
        pnl / 10,
        "ema_trend",
        "ema_trend|sim:BTCUSDT",
        f"s{n}",
        "tp",
    )


def test_win_rate_counts_only_profitable_trades() -> None:
    trades = [_trade(1, 10.0, T0, T0 + 1), _trade(2, -5.0, T0, T0 + 2), _trade(3, 0.0, T0, T0 + 3)]
    assert win_rate(trades) == pytest.approx(1 / 3)
    assert win_rate([]) == 0.0


def test_days_run_from_first_entry_to_last_exit() -> None:
    trades = [_trade(1, 1.0, T0 + DAY, T0 + 2 * DAY), _trade(2, 1.0, T0 + DAY // 2, T0 + 3 * DAY)]
    assert days_span(trades) == pytest.approx(2.5)
    assert days_span([]) == 0.0


def test_daily_equity_takes_each_days_last_value_and_carries_it_over_empty_days() -> None:
    curve = [(T0, 90.0), (T0 + 3_600_000, 100.0), (T0 + 2 * DAY + 5, 110.0)]
    assert daily_equity(curve) == [100.0, 100.0, 110.0]


def test_sharpe_is_annualised_over_365_days() -> None:
    # daily returns +10%, -10%, +10%: mean 1/30, sd (ddof 1) 0.11547 -> 0.288675 * sqrt(365)
    curve = [(T0 + i * DAY, e) for i, e in enumerate([100.0, 110.0, 99.0, 108.9])]
    assert sharpe(curve) == pytest.approx(0.288675 * math.sqrt(365), rel=1e-5)
    assert sharpe(curve) == pytest.approx(5.51513, rel=1e-5)


def test_sharpe_needs_two_daily_returns_and_some_variation() -> None:
    assert sharpe([(T0, 100.0), (T0 + DAY, 120.0)]) == 0.0
    assert sharpe([(T0 + i * DAY, 100.0) for i in range(5)]) == 0.0
    assert sharpe([]) == 0.0


def test_max_drawdown_is_the_deepest_fall_from_a_peak() -> None:
    curve = [(T0 + i, e) for i, e in enumerate([100.0, 120.0, 90.0, 130.0, 104.0])]
    assert max_drawdown(curve) == pytest.approx(0.25)  # 120 -> 90, deeper than 130 -> 104
    assert max_drawdown([(T0, 100.0), (T0 + 1, 101.0)]) == 0.0
    assert max_drawdown([]) == 0.0


def test_gate_checks_compare_each_kpi_with_its_gate() -> None:
    gate = GateConfig(
        min_trades=30, min_days=7, min_win_rate=0.35, min_sharpe=0.5, max_drawdown=0.10
    )
    kpis = DomainKpis(trades=31, days=8.2, win_rate=0.40, sharpe=0.31, max_drawdown=0.10)
    checks = {c.name: c.passed for c in gate_checks(kpis, gate)}
    assert checks == {
        "trades": True,
        "days": True,
        "win_rate": True,
        "sharpe": False,
        "max_drawdown": True,
    }


def test_the_gate_report_reads_well_and_says_what_failed() -> None:
    gate = GateConfig(min_trades=2, min_days=1, min_win_rate=0.5, min_sharpe=0.5, max_drawdown=0.2)
    trades = [_trade(1, 10.0, T0, T0 + DAY), _trade(2, -4.0, T0 + DAY, T0 + 2 * DAY)]
    curve = [(T0 + i * DAY, e) for i, e in enumerate([1000.0, 1010.0, 1006.0, 1020.0])]
    report = build_report(
        1,
        "crypto-paper",
        "crypto-live",
        {
            Domain.CRYPTO_SPOT: ("paper:crypto_spot", gate),
            Domain.SYNTHETICS: ("paper:synthetics", gate),
        },
        {"paper:crypto_spot": trades},
        {"paper:crypto_spot": curve},
        T0,
    )
    assert not report.ready
    assert report.failures() == ["synthetics: trades, days, win_rate, sharpe"]
    assert report.kpis["crypto_spot"] == domain_kpis(trades, curve).as_dict()
    assert report.kpis["crypto_spot"]["trades"] == 2.0
    text = report.text()
    assert text.splitlines()[0] == "Stage 1 crypto-paper -> crypto-live: NOT READY"
    assert "crypto_spot (paper:crypto_spot)" in text
    assert "  win rate     50.0%  >= 50.0%    ok" in text
    assert "  trades           0  >= 2        FAIL" in text
    only_spot = build_report(
        1,
        "crypto-paper",
        "crypto-live",
        {Domain.CRYPTO_SPOT: ("paper:crypto_spot", gate)},
        {"paper:crypto_spot": trades},
        {"paper:crypto_spot": curve},
        T0,
    )
    assert only_spot.ready and "READY" in only_spot.text()
