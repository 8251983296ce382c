"""The router refuses an order type the wallet's venue does not take, with a clear reason,
before anything is sent (capabilities are data: VenueCapabilities.order_types)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tradeterm.domain import events as topics
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Order, OrderPurpose
from tradeterm.venues.base import VenueCapabilities

from .kit import LIVE_SPOT, PAPER_SYN, T0, RecordingVenue, build_rig


def _order(coid: str, wallet: str, venue: str, symbol: str, otype: OrderType) -> Order:
    return Order(
        client_order_id=coid,
        wallet_id=wallet,
        venue=venue,
        symbol=symbol,
        side=Side.SELL,
        order_type=otype,
        qty=0.01,
        created_ms=T0,
        price=100.0 if otype is OrderType.STOP_LIMIT else None,
        stop_price=101.0,
        reduce_only=True,
        purpose=OrderPurpose.STOP_LOSS,
        trail_callback_pct=1.0 if otype is OrderType.TRAILING_STOP else 0.0,
    )


async def test_paper_refuses_trailing_and_stop_limit_with_the_reason(tmp_path: Path) -> None:
    rig = await build_rig(tmp_path)
    router = rig.engine.router
    for otype in (OrderType.TRAILING_STOP, OrderType.STOP_LIMIT):
        order = _order(f"t-{otype.value}", PAPER_SYN, "sim", "R_100", otype)
        router.ledger.create(order, None)
        await router.send(order)
        stored = router.ledger.get(order.client_order_id, PAPER_SYN)
        assert stored is not None and stored.status is OrderStatus.REJECTED
        assert f"order type '{otype.value}' is not supported by venue" in stored.reason
        assert "it takes: limit, market, stop" in stored.reason
    alerts = [a.text for a in rig.recorder.of(topics.ALERT)]
    assert any("trailing_stop" in a and "not supported" in a for a in alerts), alerts


async def test_live_venue_capabilities_decide_what_is_sent(tmp_path: Path) -> None:
    venue = RecordingVenue("binance")
    rig = await build_rig(tmp_path, wallets=(), live={LIVE_SPOT: venue})
    router = rig.engine.router
    refused = _order("t-sl-1", LIVE_SPOT, "binance", "BTCUSDT", OrderType.STOP_LIMIT)
    router.ledger.create(refused, None)
    await router.send(refused)
    stored = router.ledger.get("t-sl-1", LIVE_SPOT)
    assert stored is not None and stored.status is OrderStatus.REJECTED
    assert "venue 'binance'" in stored.reason and venue.submitted == []
    # the same order goes once the venue declares the type
    venue.capabilities = replace(
        VenueCapabilities(),
        order_types=frozenset({OrderType.MARKET, OrderType.STOP, OrderType.STOP_LIMIT}),
    )
    sent = _order("t-sl-2", LIVE_SPOT, "binance", "BTCUSDT", OrderType.STOP_LIMIT)
    router.ledger.create(sent, None)
    await router.send(sent)
    assert [o.client_order_id for o in venue.submitted] == ["t-sl-2"]
    placed = router.ledger.get("t-sl-2", LIVE_SPOT)
    assert placed is not None and placed.status is OrderStatus.SUBMITTED
