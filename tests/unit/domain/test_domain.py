"""Domain values: order lifecycle table, instruments' rounding, signals, positions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tradeterm.domain.enums import ContractKind, Domain, OrderStatus, OrderType, Side
from tradeterm.domain.ids import client_order_id, signal_id
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.orders import ORDER_FSM, ORDER_TRANSITIONS, Order, OrderEvent
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.domain.timeframes import bucket_open, is_higher, timeframe_ms
from tradeterm.errors import InvalidTransition


def _order(**kw: object) -> Order:
    base: dict[str, object] = dict(
        client_order_id="tt-1",
        wallet_id="paper:synthetics",
        venue="sim",
        symbol="R_100",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        qty=2.0,
        created_ms=0,
    )
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def test_order_lifecycle_happy_path_and_partial_fills() -> None:
    o = _order().transition(OrderEvent.SUBMIT, 1)
    o = o.with_fill(0.5, 100.0, 0.01, 2)
    assert o.status is OrderStatus.PARTIALLY_FILLED and o.remaining_qty == 1.5
    o = o.with_fill(1.5, 104.0, 0.03, 3)
    assert o.status is OrderStatus.FILLED
    assert o.avg_fill_price == pytest.approx(103.0)
    assert o.fees == pytest.approx(0.04)


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("event", list(OrderEvent))
def test_every_move_not_in_the_table_is_rejected(status: OrderStatus, event: OrderEvent) -> None:
    if (status, event) in ORDER_TRANSITIONS:
        assert ORDER_FSM.next_state(status, event) is ORDER_TRANSITIONS[(status, event)]
    else:
        with pytest.raises(
            InvalidTransition, match=f"cannot apply '{event.value}' in state '{status.value}'"
        ):
            ORDER_FSM.next_state(status, event)


def test_terminal_states_have_no_way_out() -> None:
    for status in OrderStatus:
        if status.is_terminal:
            assert ORDER_FSM.events_from(status) == []


def test_instrument_rounding() -> None:
    inst = Instrument(
        "sim",
        "R_100",
        ContractKind.SYNTHETIC,
        Domain.SYNTHETICS,
        tick_size=0.01,
        lot_step=0.001,
        min_notional=1.0,
    )
    assert inst.round_price(1234.5678) == 1234.57
    assert inst.floor_qty(0.12399) == 0.123
    assert inst.stop_price_away(99.996, +1) == 99.99  # long stop rounds down, away from entry
    assert inst.stop_price_away(100.001, -1) == 100.01  # short stop rounds up
    assert not inst.is_tradeable_qty(0.0005, 100.0)
    assert inst.is_tradeable_qty(0.01, 100.0)


def test_signal_geometry() -> None:
    sig = Signal("s", 0, "sim", "R_100", "1m", "ema_trend", "1.0.0", Side.SELL, 100.0, 102.0, 94.0)
    assert sig.reward_risk == pytest.approx(3.0)
    assert sig.is_consistent
    bad = Signal("s", 0, "sim", "R_100", "1m", "ema_trend", "1.0.0", Side.BUY, 100.0, 102.0, 106.0)
    assert not bad.is_consistent


def test_position_pnl_and_stop_rules() -> None:
    pos = Position(
        "w",
        "sim",
        "R_100",
        Side.SELL,
        qty=2,
        entry_price=100,
        opened_ms=0,
        stop_loss=105,
        take_profit=85,
        initial_stop=105,
    )
    assert pos.unrealized_pnl(90) == pytest.approx(20)
    assert pos.risk_at_stop() == pytest.approx(10)
    # R is money: without a plan, the bare distance to the initial stop (2 x 5 = 10) plus fees
    assert pos.planned_risk() == pytest.approx(10.0)
    assert pos.r_multiple(30.0) == pytest.approx(3.0)  # a net win of $30 is +3R
    assert pos.r_multiple(-10.0) == pytest.approx(-1.0)
    priced = replace(pos, risk_per_unit=5.4, fees=0.2)  # the gate planned 5.40 a unit, net
    assert priced.planned_risk() == pytest.approx(10.8)
    assert priced.planned_risk(1.0) == pytest.approx(5.4)
    assert priced.r_multiple(-10.8) == pytest.approx(-1.0)
    assert pos.is_tighter_stop(103) and not pos.is_tighter_stop(106)
    assert pos.stop_hit(105.5) and pos.target_hit(84)


def test_ids_are_deterministic() -> None:
    a = signal_id("ema_trend", "sim", "R_100", "1m", 60_000)
    assert a == signal_id("ema_trend", "sim", "R_100", "1m", 60_000)
    assert a != signal_id("ema_trend", "sim", "R_100", "1m", 120_000)
    coid = client_order_id(a, "paper:synthetics", "entry")
    assert coid == client_order_id(a, "paper:synthetics", "entry") and len(coid) <= 36


def test_timeframes() -> None:
    assert timeframe_ms("4h") == 14_400_000
    assert bucket_open(1_708_592_159_999, "1m") == 1_708_592_100_000
    assert is_higher("1h", "5m") and not is_higher("5m", "1h")
    with pytest.raises(ValueError, match="unknown timeframe '7m'"):
        timeframe_ms("7m")
