"""Build and drive a real node on the sim venue for tests and benchmarks.

`busy_config` trades fast 1-second indices on 5-second bars with every strategy, so a few simulated
minutes produce signals, decisions, orders, fills and closed trades. `advance` moves a SimClock in
small steps so the sim venue, the bar timers and the housekeeping tasks all run in time order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeterm.clock import SimClock
from tradeterm.config import TradetermConfig, config_from_dict
from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Order

if TYPE_CHECKING:
    from tradeterm.node import Node

BUSY_SYMBOLS = ["1HZ100V", "1HZ75V", "1HZ50V", "CRASH500", "BOOM500", "stpRNG", "JD50"]


def busy_marketdata() -> dict[str, Any]:
    """The `marketdata` section of a busy node: 5-second and 1-minute bars, none stored."""
    return {"timeframes": ["5s", "1m"], "window_bars": 1000, "warmup_bars": 300,
            "store_candles": False}  # fmt: skip


def busy_strategies() -> dict[str, Any]:
    """ema_trend, breakout and mean_revert on the synthetics domain's 5-second bars, their
    params set so a few minutes produce signals."""
    return {
        "ema_trend": {
            "domains": ["synthetics"],
            "timeframes": ["5s"],
            "params": {"fast": 5, "slow": 20, "adx_threshold": 15},
        },
        "breakout": {
            "domains": ["synthetics"],
            "timeframes": ["5s"],
            "params": {"channel": 12, "min_clear_atr": 0.0},
        },
        "mean_revert": {"domains": ["synthetics"], "timeframes": ["5s"]},
    }


def busy_config(
    state_dir: Path, *, confirm: str = "never", extra: dict[str, Any] | None = None
) -> TradetermConfig:
    """A config that trades a lot: 1 s indices, 5 s bars, all strategies, paper only, on a
    frictionless sim venue with loosened loss limits (for flows, not for the shipped numbers)."""
    data: dict[str, Any] = {
        "venues": {
            "sim": {
                "kind": "sim",
                "seed": 11,
                "history_minutes": 120,
                "symbols": BUSY_SYMBOLS,
                # A frictionless venue (only the quoted spread remains), so 5-second bars clear
                # the gate's cost rules and a few simulated minutes trade. The shipped costs and
                # limits are exercised by tests/integration/test_default_config.py.
                "fill_model": {"taker_fee_rate": 0.0, "maker_fee_rate": 0.0, "slippage_bps": 0.0},
            }
        },
        "domains": {"synthetics": {"venue": "sim", "symbols": BUSY_SYMBOLS}},
        "marketdata": busy_marketdata(),
        "strategies": {
            **busy_strategies(),
            "impulse_fade": {"symbols": ["CRASH500", "BOOM500"], "timeframes": ["5s"]},
        },
        "allocator": {"exploration": 0.5},
        "risk": {
            "cooldown_losses": 50,
            "daily_loss_cap": 0.5,
            "symbol_loss_cap": 0.5,
            "max_drawdown": 0.5,
            "max_portfolio_exposure": 1.0,
        },
        "execution": {"confirm": confirm, "confirmation_ttl_s": 30},
        "storage": {"state_dir": str(state_dir)},
        "telemetry": {"log_format": "text", "log_level": "warning"},
    }
    for section, values in (extra or {}).items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    return config_from_dict(data)


def sim_live_config(state_dir: Path, *, confirm: str = "live") -> TradetermConfig:
    """`busy_config` at rollout stage 2: synthetics trade live on the sim venue's "live" account,
    the live wallet approved (the node still wants `NodeOptions(live_confirmed=True)`)."""
    return busy_config(
        state_dir,
        confirm=confirm,
        extra={
            "rollout": {"initial_stage": 2},
            "wallets": {
                "live": {
                    "approved": True,
                    "accounts": {"synthetics": {"venue": "sim", "account": "live"}},
                }
            },
        },
    )


async def place_by_hand(
    node: Node, symbol: str, coid: str, side: Side, qty: float, **kw: Any
) -> None:
    """An order placed on the sim venue's "live" account by someone else (a client id tradeterm
    never made): a market order unless `order_type` is given; other Order fields in `kw`."""
    order = Order(
        client_order_id=coid,
        wallet_id="",
        venue="sim",
        symbol=symbol,
        side=side,
        order_type=kw.pop("order_type", OrderType.MARKET),
        qty=qty,
        created_ms=node.clock.now_ms(),
        **kw,
    )
    ack = await node.venues["sim"].exec_client("live").submit(order)
    assert not ack.reason, ack.reason


async def advance(clock: SimClock, seconds: float, *, step: float = 0.25) -> None:
    """Move simulated time forward in small steps, letting every task run at each step."""
    end = clock.now_ms() + round(seconds * 1000)
    while clock.now_ms() < end:
        await clock.advance_to(min(end, clock.now_ms() + round(step * 1000)))
        await asyncio.sleep(0)
