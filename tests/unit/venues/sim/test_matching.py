"""The paper fill model: prices, fees, slippage, latency, partial fills and idempotency."""

from __future__ import annotations

import pytest

from tradeterm.config.models import FillModelConfig
from tradeterm.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import Fill, Order
from tradeterm.venues.base import ExecEvent, OrderUpdate
from tradeterm.venues.sim.matching import MatchingEngine

T0 = 1_700_000_000_000
NO_COSTS = FillModelConfig(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=0.0)
COSTS = FillModelConfig(taker_fee_rate=0.001, maker_fee_rate=0.0002, slippage_bps=10.0)


def tick(ts: int, price: float, spread: float = 1.0, symbol: str = "R_100") -> Tick:
    return Tick("sim", symbol, ts, price, price - spread / 2, price + spread / 2)


def order(
    coid: str = "o1",
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.MARKET,
    qty: float = 2.0,
    price: float | None = None,
    stop: float | None = None,
    tif: TimeInForce = TimeInForce.GTC,
) -> Order:
    return Order(
        client_order_id=coid,
        wallet_id="paper:synthetics",
        venue="sim",
        symbol="R_100",
        side=side,
        order_type=order_type,
        qty=qty,
        created_ms=T0,
        price=price,
        stop_price=stop,
        time_in_force=tif,
    )


def fills(events: list[ExecEvent]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def updates(events: list[ExecEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def test_market_buy_fills_at_the_ask_plus_slippage_and_pays_taker_fee() -> None:
    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0))
    events = engine.submit(order(qty=2.0), T0 + 5)
    assert [u.status for u in updates(events)] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
    (fill,) = fills(events)
    assert fill.price == pytest.approx(1000.5 * 1.001)
    assert fill.fee == pytest.approx(2.0 * 1000.5 * 1.001 * 0.001)
    assert fill.liquidity is Liquidity.TAKER
    assert fill.ts_ms == T0 + 5
    assert fill.fill_id == "o1-1"
    assert engine.open_orders() == []


def test_market_sell_fills_at_the_bid_minus_slippage() -> None:
    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0))
    (fill,) = fills(engine.submit(order(side=Side.SELL), T0))
    assert fill.price == pytest.approx(999.5 * 0.999)


def test_market_order_without_a_quote_waits_for_the_next_tick() -> None:
    engine = MatchingEngine(NO_COSTS)
    events = engine.submit(order(), T0)
    assert [u.status for u in updates(events)] == [OrderStatus.SUBMITTED]
    assert len(engine.open_orders()) == 1
    (fill,) = fills(engine.on_tick(tick(T0 + 2000, 1010.0)))
    assert fill.price == 1010.5
    assert fill.ts_ms == T0 + 2000


def test_latency_delays_the_fill_until_the_order_reaches_the_venue() -> None:
    engine = MatchingEngine(NO_COSTS.model_copy(update={"latency_ms": 500}))
    engine.on_tick(tick(T0, 1000.0))
    assert fills(engine.submit(order(), T0)) == []
    assert fills(engine.on_tick(tick(T0 + 400, 1001.0))) == []
    (fill,) = fills(engine.on_tick(tick(T0 + 600, 1002.0)))
    assert fill.price == 1002.5


def test_resting_limit_buy_fills_at_its_limit_as_maker_once_ask_reaches_it() -> None:
    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0))
    events = engine.submit(order(order_type=OrderType.LIMIT, price=995.0), T0)
    assert fills(events) == []
    assert fills(engine.on_tick(tick(T0 + 1, 996.0))) == []  # ask 996.5 > 995
    (fill,) = fills(engine.on_tick(tick(T0 + 2, 990.0)))  # ask 990.5 <= 995
    assert fill.price == 995.0
    assert fill.liquidity is Liquidity.MAKER
    assert fill.fee == pytest.approx(2 * 995.0 * 0.0002)


def test_marketable_limit_takes_the_better_touch_price_as_taker() -> None:
    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0))
    (fill,) = fills(engine.submit(order(order_type=OrderType.LIMIT, price=1010.0), T0))
    assert fill.price == 1000.5  # the ask, better than the limit, no slippage on limits
    assert fill.liquidity is Liquidity.TAKER
    sell = order("o2", side=Side.SELL, order_type=OrderType.LIMIT, price=990.0)
    (fill,) = fills(engine.submit(sell, T0))
    assert fill.price == 999.5


def test_resting_limit_sell_fills_once_bid_reaches_it() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    engine.submit(order(side=Side.SELL, order_type=OrderType.LIMIT, price=1005.0), T0)
    assert fills(engine.on_tick(tick(T0 + 1, 1005.0))) == []  # bid 1004.5
    (fill,) = fills(engine.on_tick(tick(T0 + 2, 1006.0)))
    assert fill.price == 1005.0


def test_stop_buy_triggers_at_the_stop_and_fills_like_a_market_order() -> None:
    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0))
    assert fills(engine.submit(order(order_type=OrderType.STOP, stop=1010.0), T0)) == []
    assert fills(engine.on_tick(tick(T0 + 1, 1009.9))) == []
    (fill,) = fills(engine.on_tick(tick(T0 + 2, 1010.0)))
    assert fill.price == pytest.approx(1010.5 * 1.001)  # max(stop, ask) + slippage
    assert fill.liquidity is Liquidity.TAKER


def test_stop_sell_through_a_gap_fills_at_the_gapped_price() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    engine.submit(order(side=Side.SELL, order_type=OrderType.STOP, stop=990.0), T0)
    (fill,) = fills(engine.on_tick(tick(T0 + 1, 950.0)))  # gap straight through the stop
    assert fill.price == 949.5  # worse than the stop, as in a real gap


def test_partial_fills_sum_to_the_order_quantity_and_are_reproducible() -> None:
    model = NO_COSTS.model_copy(update={"partial_fill_prob": 1.0, "partial_fill_min_ratio": 0.3})

    def run(seed: int) -> list[Fill]:
        engine = MatchingEngine(model, seed=seed)
        engine.on_tick(tick(T0, 1000.0))
        got = fills(engine.submit(order(qty=5.0), T0))
        ts = T0
        while engine.open_orders():
            ts += 1000
            got += fills(engine.on_tick(tick(ts, 1000.0)))
        final = engine.order("o1")
        assert final is not None and final.status is OrderStatus.FILLED
        return got

    parts = run(3)
    assert len(parts) > 1
    assert sum(f.qty for f in parts) == pytest.approx(5.0, abs=1e-12)
    assert [f.fill_id for f in parts] == [f"o1-{i}" for i in range(1, len(parts) + 1)]
    assert all(f.qty >= 0 for f in parts)
    assert [f.qty for f in run(3)] == [f.qty for f in parts]


def test_partial_fills_stay_on_the_lot_grid() -> None:
    model = NO_COSTS.model_copy(update={"partial_fill_prob": 1.0, "partial_fill_min_ratio": 0.2})
    engine = MatchingEngine(model, seed=1, lot_steps={"R_100": 0.01})
    engine.on_tick(tick(T0, 1000.0))
    got = fills(engine.submit(order(qty=1.0), T0))
    for i in range(1, 50):
        got += fills(engine.on_tick(tick(T0 + i, 1000.0)))
    assert sum(f.qty for f in got) == pytest.approx(1.0)
    for f in got:
        assert f.qty / 0.01 == pytest.approx(round(f.qty / 0.01), abs=1e-6)


def test_resubmitting_a_known_client_order_id_never_creates_a_second_order() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    resting = order(order_type=OrderType.LIMIT, price=990.0)
    engine.submit(resting, T0)
    again = engine.submit(resting, T0 + 10)
    assert [(u.status, u.client_order_id) for u in updates(again)] == [
        (OrderStatus.SUBMITTED, "o1")
    ]
    assert len(engine.open_orders()) == 1
    (fill,) = fills(engine.on_tick(tick(T0 + 20, 980.0)))
    assert fill.qty == 2.0
    final = engine.submit(resting, T0 + 30)
    assert [(u.status, u.filled_qty) for u in updates(final)] == [(OrderStatus.FILLED, 2.0)]
    assert fills(final) == []


def test_cancel_working_order_and_cancel_of_filled_order_is_refused_gracefully() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    engine.submit(order("rest", order_type=OrderType.LIMIT, price=900.0), T0)
    (cancelled,) = engine.cancel("rest", T0 + 1)
    assert isinstance(cancelled, OrderUpdate) and cancelled.status is OrderStatus.CANCELLED
    assert engine.open_orders() == []
    assert fills(engine.on_tick(tick(T0 + 2, 800.0))) == []  # a cancelled order never fills

    engine.submit(order("done"), T0)
    (refused,) = engine.cancel("done", T0 + 3)
    assert isinstance(refused, OrderUpdate)
    assert refused.status is OrderStatus.FILLED
    assert "cannot cancel" in refused.reason

    (unknown,) = engine.cancel("ghost", T0 + 4)
    assert isinstance(unknown, OrderUpdate) and unknown.reason == "unknown order"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (order(qty=0.0), "quantity must be positive"),
        (order(qty=-1.0), "quantity must be positive"),
        (order(order_type=OrderType.LIMIT), "limit price"),
        (order(order_type=OrderType.STOP), "stop price"),
    ],
)
def test_malformed_orders_are_rejected_with_a_reason(bad: Order, reason: str) -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    (update,) = engine.submit(bad, T0)
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.REJECTED
    assert reason in update.reason
    assert engine.open_orders() == []
    (again,) = engine.submit(bad, T0 + 1)  # still the same rejected order
    assert isinstance(again, OrderUpdate) and again.status is OrderStatus.REJECTED


def test_ioc_and_fok_limits_expire_when_not_marketable() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.on_tick(tick(T0, 1000.0))
    for coid, tif in (("ioc", TimeInForce.IOC), ("fok", TimeInForce.FOK)):
        events = engine.submit(order(coid, order_type=OrderType.LIMIT, price=990.0, tif=tif), T0)
        assert updates(events)[-1].status is OrderStatus.EXPIRED
    assert engine.open_orders() == []


def test_ioc_limit_expires_what_a_partial_fill_left() -> None:
    model = NO_COSTS.model_copy(update={"partial_fill_prob": 1.0, "partial_fill_min_ratio": 0.5})
    engine = MatchingEngine(model, seed=2)
    engine.on_tick(tick(T0, 1000.0))
    ioc = order(order_type=OrderType.LIMIT, price=1001.0, tif=TimeInForce.IOC)
    events = engine.submit(ioc, T0)
    (fill,) = fills(events)
    final = updates(events)[-1]
    assert final.status is OrderStatus.EXPIRED
    assert final.filled_qty == pytest.approx(fill.qty) and fill.qty < 2.0


def test_only_ticks_of_the_orders_symbol_match_it() -> None:
    engine = MatchingEngine(NO_COSTS)
    engine.submit(order(), T0)
    assert fills(engine.on_tick(tick(T0 + 1, 50.0, symbol="R_50"))) == []
    assert engine.working_symbols() == {"R_100"}
    last = engine.last_tick("R_50")
    assert last is not None and last.price == 50.0
    assert engine.last_tick("R_75") is None


def test_the_fee_is_on_the_notional_contract_size_included() -> None:
    """A contract of 10 units: 2 contracts at 1000.5 are 20,010 of notional, 0.1% = 20.01."""
    engine = MatchingEngine(COSTS, contract_sizes={"R_100": 10.0})
    engine.on_tick(tick(T0, 1000.0))
    (fill,) = fills(engine.submit(order(qty=2.0), T0 + 5))
    assert fill.fee == pytest.approx(2.0 * fill.price * 10.0 * 0.001)
    plain = MatchingEngine(COSTS)
    plain.on_tick(tick(T0, 1000.0))
    (one,) = fills(plain.submit(order(qty=2.0), T0 + 5))
    assert fill.fee == pytest.approx(10.0 * one.fee)


def test_fills_follow_the_cost_model() -> None:
    """The paper fill of a market order is the cost model's expected entry at the touch."""
    from tradeterm.domain.costs import entry_fill_price

    engine = MatchingEngine(COSTS)
    engine.on_tick(tick(T0, 1000.0, spread=1.0))
    (buy,) = fills(engine.submit(order("b", Side.BUY), T0 + 1))
    (sell,) = fills(engine.submit(order("s", Side.SELL), T0 + 2))
    assert buy.price == pytest.approx(entry_fill_price(1, 1000.0, 0.5, 0.001))
    assert sell.price == pytest.approx(entry_fill_price(-1, 1000.0, 0.5, 0.001))
