"""Build and drive a real node on the sim venue for tests and benchmarks.

`busy_config` trades fast 1-second indices on 5-second bars with every strategy, so a few simulated
minutes produce signals, decisions, orders, fills and closed trades. `advance` moves a SimClock in
small steps so the sim venue, the bar timers and the housekeeping tasks all run in time order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tradeterm.clock import SimClock
from tradeterm.config import TradetermConfig, config_from_dict

BUSY_SYMBOLS = ["1HZ100V", "1HZ75V", "1HZ50V", "CRASH500", "BOOM500", "stpRNG", "JD50"]


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
        "marketdata": {
            "timeframes": ["5s", "1m"],
            "window_bars": 1000,
            "warmup_bars": 300,
            "store_candles": False,
        },
        "strategies": {
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


async def advance(clock: SimClock, seconds: float, *, step: float = 0.25) -> None:
    """Move simulated time forward in small steps, letting every task run at each step."""
    end = clock.now_ms() + round(seconds * 1000)
    while clock.now_ms() < end:
        await clock.advance_to(min(end, clock.now_ms() + round(step * 1000)))
        await asyncio.sleep(0)
