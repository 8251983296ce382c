"""Sizing maths and the pure rule functions, with the numbers a trader would check by hand."""

from __future__ import annotations

import math

import pytest

from tradeterm.domain.enums import Side, TradingState
from tradeterm.risk import limits
from tradeterm.risk.sizing import (
    bars_per_year,
    entry_qty,
    kelly_fraction,
    kelly_risk_cap,
    notional_qty,
    risk_qty,
    vol_target_qty,
)

from .kit import synthetic


def test_money_at_risk_size_loses_the_risk_amount_at_the_stop() -> None:
    qty = risk_qty(1000.0, 0.01, 2.0)
    assert qty == pytest.approx(5.0)  # $10 risk over 2.00 of net risk per unit
    assert qty * 2.0 == pytest.approx(10.0)
    assert risk_qty(1000.0, 0.01, 0.0) == 0.0  # nothing at risk, no size
    assert risk_qty(-5.0, 0.01, 2.0) == 0.0


def test_notional_size_is_a_fraction_of_equity() -> None:
    assert notional_qty(1000.0, 0.05, 100.0) == pytest.approx(0.5)
    assert notional_qty(1000.0, 0.05, 100.0, contract_size=10.0) == pytest.approx(0.05)
    assert notional_qty(1000.0, 0.05, 0.0) == 0.0


def test_the_smaller_size_wins() -> None:
    # tight stop: notional binds; wide stop: money at risk binds
    assert entry_qty(1000.0, 0.05, 0.01, 100.0, 2.0) == pytest.approx(0.5)
    assert entry_qty(1000.0, 0.05, 0.01, 100.0, 40.0) == pytest.approx(0.25)


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


def test_one_cap_rule_binds_only_when_the_size_does_not_fit() -> None:
    assert limits.cap_qty(1.0, 100.0, 0.0, 150.0) == 1.0
    assert limits.cap_qty(25.0, 100.0, 50.0, 150.0) == pytest.approx(1.0)
    assert limits.cap_qty(1.0, 100.0, 300.0, 300.0) == 0.0
    assert limits.cap_qty(1.0, 100.0, 400.0, 300.0) == 0.0  # already over: no room, never negative
    assert limits.cap(1.0, 100.0, 0.0, 150.0, "pair") is None
    bound = limits.cap(2.0, 100.0, 50.0, 150.0, "pair exposure cap 15% on sim:R_100", "notional ")
    assert bound is not None and bound.max_qty == pytest.approx(1.0)
    assert bound.note == (
        "pair exposure cap 15% on sim:R_100: notional 200.00 -> 100.00 (used 50.00 of limit 150.00)"
    )
