"""Deriv multipliers behind the ExecClient protocol (what the node's live wallets use), against
the simulator: an entry becomes one contract, a reduce-only order sells it, a repeated client
order id never buys twice, and the account's contracts are the positions reconciliation reads."""

from __future__ import annotations

from tradeterm.clock import LiveClock
from tradeterm.config.models import DerivVenueConfig
from tradeterm.domain.enums import OrderStatus, OrderType, Side
from tradeterm.domain.orders import Fill, Order
from tradeterm.venues.base import ExecClient, OrderUpdate
from tradeterm.venues.deriv.execution import DerivExecClient
from tradeterm.venues.sim.servers.deriv_sim import DerivSimulator


def order(coid: str, side: Side, qty: float, *, reduce_only: bool = False) -> Order:
    return Order(
        coid,
        "live:synthetics",
        "deriv",
        "R_100",
        side,
        OrderType.MARKET,
        qty,
        0,
        reduce_only=reduce_only,
    )


async def test_entry_exit_idempotency_and_positions() -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim:
        cfg = DerivVenueConfig(endpoint=sim.url)
        client = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())
        assert isinstance(client, ExecClient)
        await client.connect()
        events = client.events()
        ack = await client.submit(order("e1", Side.BUY, 1.0))  # ~1200 notional at x10: stake ~120
        assert ack.status is OrderStatus.SUBMITTED
        fill = await anext(events)
        done = await anext(events)
        assert isinstance(fill, Fill) and fill.qty == 1.0 and fill.fee > 0
        assert isinstance(done, OrderUpdate) and done.status is OrderStatus.FILLED
        again = await client.submit(order("e1", Side.BUY, 1.0))
        assert again.status is OrderStatus.FILLED and len(sim.contracts) == 1  # no second buy
        (held,) = await client.positions()
        assert held.side is Side.BUY and abs(held.qty - 1.0) < 0.01
        fresh = DerivExecClient("deriv", "live", cfg, "tok", LiveClock())  # a restarted node
        assert [p.symbol for p in await fresh.positions()] == ["R_100"]
        await fresh.close()
        exit_ack = await client.submit(order("x1", Side.SELL, 1.0, reduce_only=True))
        assert exit_ack.status is OrderStatus.SUBMITTED
        exit_fill = await anext(events)
        assert isinstance(exit_fill, Fill) and exit_fill.side is Side.SELL
        assert await client.positions() == []
        tiny = await client.submit(order("e2", Side.BUY, 0.0001))
        assert tiny.status is OrderStatus.REJECTED and "minimum" in tiny.reason
        stop = Order("s1", "live:synthetics", "deriv", "R_100", Side.SELL, OrderType.STOP, 1.0, 0)
        assert (await client.submit(stop)).status is OrderStatus.REJECTED
        await client.close()
