"""Multiplier maths against the worked numbers of PROTOCOLS.md section 3 (Deriv's own fixture:
R_100, stake 100, x10, entry 65 258.19 -> stop-out 58 765.26; stop loss 1 USD -> 65 225.82)."""

import pytest

from tradeterm.domain.multipliers import (
    CloseReason,
    MultiplierDirection,
    MultiplierTerms,
    commission_for,
    stake_for_notional,
)

UP, DOWN = MultiplierDirection.UP, MultiplierDirection.DOWN


def fixture_terms(direction: MultiplierDirection = UP, **kw: float) -> MultiplierTerms:
    return MultiplierTerms(direction, 100.0, 10.0, 65258.19, 0.504, **kw)  # type: ignore[arg-type]


def test_stop_out_matches_deriv_fixture() -> None:
    assert fixture_terms().stop_out_price() == pytest.approx(58765.26, abs=0.01)


def test_stop_loss_matches_deriv_fixture() -> None:
    terms = fixture_terms(stop_loss=1.0)
    price = terms.stop_loss_price()
    assert price is not None
    assert price == pytest.approx(65225.82, abs=0.01)
    assert terms.close_reason(price - 0.01) is CloseReason.STOP_LOSS
    assert terms.close_reason(price + 0.05) is None


def test_profit_is_m_percent_of_stake_per_percent_move_minus_commission() -> None:
    terms = fixture_terms()
    assert terms.profit(65258.19) == pytest.approx(-0.504)
    assert terms.profit(65258.19 * 1.01) == pytest.approx(10.0 - 0.504)
    down = fixture_terms(DOWN)
    assert down.profit(65258.19 * 1.01) == pytest.approx(-10.0 - 0.504)


def test_take_profit_trigger_and_mirror_for_down() -> None:
    up = fixture_terms(take_profit=5.0)
    tp = up.take_profit_price()
    assert tp is not None and tp > 65258.19
    assert up.profit(tp) == pytest.approx(5.0)
    assert up.close_reason(tp + 1) is CloseReason.TAKE_PROFIT
    down = fixture_terms(DOWN, take_profit=5.0)
    tpd = down.take_profit_price()
    assert tpd is not None and tpd < 65258.19
    assert down.profit(tpd) == pytest.approx(5.0)
    assert down.stop_out_price() > 65258.19


def test_stop_out_pays_nothing_and_loss_never_exceeds_stake() -> None:
    terms = fixture_terms()
    gap = terms.stop_out_price() * 0.9
    assert terms.close_reason(gap) is CloseReason.STOP_OUT
    assert terms.profit(gap) == -100.0
    assert terms.settle(gap, CloseReason.STOP_OUT) == 0.0
    assert terms.settle(gap, CloseReason.CANCELLED) == 100.0


def test_commission_and_stake_helpers() -> None:
    assert commission_for(100, 10) == pytest.approx(0.50)
    assert stake_for_notional(1000.0, 100) == 10.0
    with pytest.raises(ValueError):
        MultiplierTerms(UP, 0.0, 10.0, 1.0, 0.0)


def test_a_booked_position_gives_back_its_contract() -> None:
    """What the books hold (entry, cash held = stake - commission, fees = commission, stop and
    target prices) gives back the contract's stake, stop-out and TP/SL amounts (the positions
    pane shows these)."""
    from tradeterm.domain.multipliers import (
        MultiplierDirection,
        MultiplierTerms,
        commission_for,
        held_terms,
        trigger_price,
    )

    for way in MultiplierDirection:
        commission = commission_for(120.0, 10.0)
        contract = MultiplierTerms(way, 120.0, 10.0, 1200.0, commission, 15.0, 6.5)
        stop = contract.stop_loss_price()
        target = contract.take_profit_price()
        assert stop is not None and target is not None
        back = held_terms(way.sign, 1200.0, 10.0, 120.0 - commission, commission, stop, target)
        assert back is not None
        assert back.stake == pytest.approx(120.0)
        assert back.stop_out_price() == pytest.approx(contract.stop_out_price())
        assert (back.take_profit, back.stop_loss) == (15.0, 6.5)
        assert trigger_price(back, -back.stake) == pytest.approx(contract.stop_out_price())
    assert held_terms(1, 1200.0, 10.0, 0.0, 0.0) is None
