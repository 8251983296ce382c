"""The cost model and the margin maths: golden numbers worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeterm.domain.costs import (
    CostModel,
    entry_fill_price,
    fee,
    funding_cost,
    market_exit_price,
    realised_cost,
    slip_fraction,
    stop_fill_price,
    trade_economics,
)
from tradeterm.domain.margin import (
    bracket_cums,
    default_brackets,
    initial_margin,
    is_liquidated,
    liquidation_price,
    maintenance_margin,
)


def test_fills_move_against_the_trader_on_both_sides() -> None:
    # long: buy at the ask (100 + 0.05) slipped up 2 bps; the stop sells at the bid below it
    assert entry_fill_price(1, 100.0, 0.05, 0.0002) == pytest.approx(100.05 * 1.0002)
    assert stop_fill_price(1, 98.0, 0.05, 0.0002) == pytest.approx(97.95 * 0.9998)
    # short: sell at the bid slipped down; the stop buys at the ask above it
    assert entry_fill_price(-1, 100.0, 0.05, 0.0002) == pytest.approx(99.95 * 0.9998)
    assert stop_fill_price(-1, 102.0, 0.05, 0.0002) == pytest.approx(102.05 * 1.0002)
    assert market_exit_price(1, 100.0, 0.05, 0.0) == pytest.approx(99.95)
    assert market_exit_price(-1, 100.0, 0.05, 0.0) == pytest.approx(100.05)


def test_fee_uses_contract_size_and_funding_ignores_the_sign() -> None:
    assert fee(100.0, 3.0, 10.0, 0.0005) == pytest.approx(1.5)
    assert funding_cost(100.0, 1.0, 0.0001, 16.0) == pytest.approx(0.02)
    assert funding_cost(100.0, 1.0, -0.0001, 16.0) == pytest.approx(0.02)
    assert funding_cost(100.0, 1.0, 0.0001, 0.0) == 0.0
    assert slip_fraction(2.0, 0.1, 1.0, 100.0) == pytest.approx(0.0002 + 0.001)


def test_economics_of_a_long_worked_by_hand() -> None:
    # entry 100 mid, half spread 0.05, 2 bps slip, taker 5 bps, maker 2 bps, stop 98, target 106
    e = CostModel(0.0005, 0.0002, 2.0, half_spread=0.05).economics(1, 100.0, 98.0, 106.0)
    entry = 100.05 * 1.0002
    stop_exit = 97.95 * 0.9998
    risk = (entry - stop_exit) + entry * 0.0005 + stop_exit * 0.0005
    reward = (106.0 - entry) - entry * 0.0005 - 106.0 * 0.0002
    assert e.entry == pytest.approx(entry)
    assert e.stop_exit == pytest.approx(stop_exit)
    assert e.risk == pytest.approx(risk)
    assert e.reward == pytest.approx(reward)
    assert e.cost == pytest.approx(risk - 2.0)
    assert e.reward_risk == pytest.approx(reward / risk)
    assert e.reward_risk < 3.0  # 3:1 gross is below 3:1 once costs are paid
    assert e.cost_r == pytest.approx((risk - 2.0) / risk)


def test_economics_of_a_short_mirror_the_long() -> None:
    long = trade_economics(1, 100.0, 98.0, 106.0, 0.05, 0.0002, 0.0005, 0.0002, 0.0, 0.0, 1.0)
    short = trade_economics(-1, 100.0, 102.0, 94.0, 0.05, 0.0002, 0.0005, 0.0002, 0.0, 0.0, 1.0)
    assert short.risk == pytest.approx(long.risk, rel=2e-3)
    assert short.entry < 100.0 < long.entry
    assert short.stop_exit > 102.0


def test_an_entry_beyond_its_target_has_no_reward() -> None:
    # the ask is already above the target: a buy fills beyond its own take profit
    e = CostModel(half_spread=2.0).economics(1, 100.0, 99.0, 101.0)
    assert e.beyond_target
    assert e.reward_risk == 0.0


def test_maker_entry_fills_at_its_price() -> None:
    e = CostModel(half_spread=0.05).economics(1, 100.0, 98.0, 106.0, maker_entry=True)
    assert e.entry == 100.0


def test_contract_size_scales_money_not_prices() -> None:
    one = CostModel(half_spread=0.05).economics(1, 100.0, 98.0, 106.0)
    ten = CostModel(half_spread=0.05, contract_size=10.0).economics(1, 100.0, 98.0, 106.0)
    assert ten.entry == one.entry
    assert ten.risk == pytest.approx(10 * one.risk)
    assert ten.reward_risk == pytest.approx(one.reward_risk)


def test_realised_cost_counts_slippage_fees_and_funding() -> None:
    # long 2 units: ideal 100 -> 98, filled 100.1 -> 97.9, fees 0.3, funding 0.05
    cost = realised_cost(1, 100.0, 100.1, 98.0, 97.9, 2.0, 1.0, 0.3, 0.05)
    assert cost == pytest.approx(0.2 + 0.2 + 0.3 + 0.05)
    # a short filled better than ideal on entry has a negative slippage part
    assert realised_cost(-1, 100.0, 100.1, 102.0, 102.0, 1.0, 1.0, 0.0, 0.0) == pytest.approx(-0.1)


def test_bracket_cums_follow_binance() -> None:
    floors, rates, cums = default_brackets()
    assert cums[1] == pytest.approx(50.0)  # 50k x (0.5% - 0.4%)
    assert cums[2] == pytest.approx(1_300.0)  # 250k x (1% - 0.5%) + 50
    assert np.all(np.diff(bracket_cums(floors, rates)) >= 0)


def test_isolated_long_liquidation_price_worked_by_hand() -> None:
    floors, rates, cums = default_brackets()
    # 1 BTC long at 60,000, 10x isolated: margin 6,000; notional 60k -> bracket 0.5% / cum 50
    lp = liquidation_price(1, 1.0, 60_000.0, initial_margin(60_000.0, 10.0), floors, rates, cums)
    assert lp == pytest.approx((6_000.0 + 50.0 - 60_000.0) / (0.005 - 1.0))
    assert not is_liquidated(1, 1.0, 60_000.0, lp + 1.0, 6_000.0, floors, rates, cums)
    assert is_liquidated(1, 1.0, 60_000.0, lp - 1.0, 6_000.0, floors, rates, cums)


def test_isolated_short_liquidates_above_entry() -> None:
    floors, rates, cums = default_brackets()
    lp = liquidation_price(-1, 0.5, 60_000.0, 3_000.0, floors, rates, cums)
    assert lp > 60_000.0
    assert is_liquidated(-1, 0.5, 60_000.0, lp + 1.0, 3_000.0, floors, rates, cums)
    assert not is_liquidated(-1, 0.5, 60_000.0, lp - 1.0, 3_000.0, floors, rates, cums)


def test_a_fully_collateralised_long_has_no_liquidation_price() -> None:
    floors, rates, cums = default_brackets()
    assert math.isnan(liquidation_price(1, 1.0, 100.0, 200.0, floors, rates, cums))
    assert maintenance_margin(60_000.0, 0.005, 50.0) == pytest.approx(250.0)
