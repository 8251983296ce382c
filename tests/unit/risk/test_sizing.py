"""Sizing maths and the pure rule functions, with the numbers a trader would check by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from tradeterm.clock import datetime_to_ms
from tradeterm.domain.enums import Side, TradingState
from tradeterm.risk import limits
from tradeterm.risk.sizing import (
    bars_per_year,
    kelly_fraction,
    kelly_risk_cap,
    risk_qty,
    vol_target_qty,
)

from .kit import synthetic


def test_percent_risk_size_loses_the_risk_amount_at_the_stop() -> None:
    qty = risk_qty(1000.0, 0.05, 100.0, 98.0)
    assert qty == pytest.approx(25.0)  # $50 risk over a 2.00 stop
    assert qty * (100.0 - 98.0) == pytest.approx(50.0)
    assert risk_qty(1000.0, 0.05, 100.0, 102.0, contract_size=10.0) == pytest.approx(2.5)
    assert risk_qty(1000.0, 0.05, 100.0, 100.0) == 0.0  # no stop distance, no size
    assert risk_qty(-5.0, 0.05, 100.0, 98.0) == 0.0


def test_vol_target_size_swings_the_target_fraction_of_equity_per_year() -> None:
    assert bars_per_year("1h") == 8760
    assert bars_per_year("1d") == 365
    qty = vol_target_qty(1000.0, 0.30, 10.0, "1h")
    # one unit moves ~10 per hour-bar, sqrt(8760) x 10 a year; 30% of $1,000 = $300 of swing
    assert qty == pytest.approx(300.0 / (10.0 * math.sqrt(8760)))
    assert qty * 10.0 * math.sqrt(8760) == pytest.approx(300.0)
    assert vol_target_qty(1000.0, 0.30, 0.0, "1h") == math.inf  # no ATR: %-risk size decides
    assert vol_target_qty(1000.0, 0.30, 1.0, "7m") == math.inf


def test_kelly_fraction_and_cap() -> None:
    assert kelly_fraction(0.5, 2.0) == pytest.approx(0.25)
    assert kelly_fraction(0.4, 2.0) == pytest.approx(0.1)
    assert kelly_fraction(0.3, 1.5) == pytest.approx(0.3 - 0.7 / 1.5)
    assert kelly_fraction(0.9, 0.0) == -1.0  # wins that pay nothing: no edge
    assert kelly_risk_cap(0.4, 2.0, 0.25) == pytest.approx(0.025)


def test_percentages_read_naturally() -> None:
    assert limits.pct(0.15) == "15%"
    assert limits.pct(-0.0623) == "-6.2%"
    assert limits.pct(0.153) == "15.3%"


@pytest.mark.parametrize(
    ("when", "blocked"),
    [
        (datetime(2024, 3, 8, 19, 59, tzinfo=UTC), False),  # Friday before the cut-off
        (datetime(2024, 3, 8, 20, 0, tzinfo=UTC), True),  # Friday 20:00
        (datetime(2024, 3, 9, 12, 0, tzinfo=UTC), True),  # Saturday
        (datetime(2024, 3, 10, 23, 59, tzinfo=UTC), True),  # Sunday night
        (datetime(2024, 3, 11, 0, 0, tzinfo=UTC), False),  # Monday 00:00
        (datetime(2024, 3, 6, 12, 0, tzinfo=UTC), False),  # Wednesday
    ],
)
def test_weekend_window_runs_from_the_cutoff_to_monday(when: datetime, blocked: bool) -> None:
    cutoff = limits.parse_weekly_cutoff("Fri 20:00")
    assert limits.in_weekend_window(datetime_to_ms(when), cutoff) is blocked


def test_malformed_cutoff_is_refused() -> None:
    with pytest.raises(ValueError, match="Day HH:MM"):
        limits.parse_weekly_cutoff("Friday 8pm")


def test_state_gate_wording() -> None:
    assert limits.check_trading_state(TradingState.ACTIVE, "") is None
    assert limits.check_trading_state(TradingState.HALTED, "drawdown 15.3% >= 15%") == (
        "trading HALTED: drawdown 15.3% >= 15%"
    )
    assert limits.check_trading_state(TradingState.REDUCING, "operator pause") == (
        "trading REDUCING: no new entries (operator pause)"
    )


def test_stop_change_rule_for_both_sides() -> None:
    assert limits.check_stop_change(Side.BUY, 98.5, 98.0, 1) == (
        "stop may not be widened: 98.50 -> 98.00 on a long"
    )
    assert limits.check_stop_change(Side.BUY, 98.5, 99.0) is None
    assert limits.check_stop_change(Side.SELL, 101.5, 102.0) is not None
    assert limits.check_stop_change(Side.SELL, 101.5, 101.0) is None
    assert limits.check_stop_change(Side.BUY, 98.5, 0.0) == "stop 0 is not a price"


def test_venue_minimum_names_the_size_and_the_minimum() -> None:
    inst = synthetic("R_100")
    assert limits.check_venue_minimum(inst, 0.004, 100.0) == "size 0.004 below venue minimum 0.01"
    assert limits.check_venue_minimum(inst, 0.019, 100.0) is None  # 0.01 lot, notional 1.00
    pricey = synthetic("R_100", lot=0.001, min_notional=10.0)
    assert limits.check_venue_minimum(pricey, 0.075, 100.0) == (
        "notional 7.50 below venue minimum 10.00"
    )


def test_caps_only_bind_when_the_size_does_not_fit() -> None:
    assert limits.cap_pair_exposure(1.0, 100.0, 0.0, 1000.0, 0.15, "sim:R_100") is None
    cap = limits.cap_pair_exposure(25.0, 100.0, 50.0, 1000.0, 0.15, "sim:R_100")
    assert cap is not None and cap.max_qty == pytest.approx(1.0)
    full = limits.cap_portfolio_exposure(1.0, 100.0, 300.0, 1000.0, 0.30)
    assert full is not None and full.max_qty == 0.0
    poor = limits.cap_balance(1.0, 100.0, 1000.0, 1000.0)
    assert poor is not None and poor.max_qty == 0.0 and poor.note.startswith("insufficient")
