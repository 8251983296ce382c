"""Allocator test kit: signals, closed trades, and a routing fake that records what it is asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tradeterm.allocator import Allocator
from tradeterm.clock import SimClock
from tradeterm.config.models import AllocatorConfig
from tradeterm.domain.enums import Domain, Side, WalletMode
from tradeterm.domain.events import ClosedTrade, arm_id
from tradeterm.domain.series import BarSeries
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import wallet_id

T0 = 1_709_251_200_000  # 2024-03-01 00:00 UTC


def signal(
    symbol: str = "BTCUSDT", n: int = 0, *, strategy: str = "ema_trend", ts_ms: int = T0
) -> Signal:
    return Signal(
        f"sig-{strategy}-{symbol}-{n}",
        ts_ms,
        "sim",
        symbol,
        "1m",
        strategy,
        "1.0.0",
        Side.BUY,
        100.0,
        99.0,
        103.0,
        0.8,
        0.5,
    )


def trade(
    symbol: str,
    r: float,
    *,
    n: int = 0,
    closed_ms: int = T0,
    strategy: str = "ema_trend",
    wallet: str = "paper:crypto_spot",
) -> ClosedTrade:
    return ClosedTrade(
        f"tr-{symbol}-{n}",
        wallet,
        "sim",
        symbol,
        Side.BUY,
        1.0,
        100.0,
        100.0 + r,
        closed_ms - 60_000,
        closed_ms,
        r * 10.0,
        0.1,
        r,
        strategy,
        arm_id(strategy, "sim", symbol),
        f"sig-{n}",
        "tp" if r > 0 else "sl",
    )


@dataclass
class Routing:
    """Stands in for the rollout and the portfolio: records every route and count request."""

    off: set[Domain] = field(default_factory=set)
    open_positions: dict[str, int] = field(default_factory=dict)
    routed: list[tuple[Domain, bool]] = field(default_factory=list)
    markets: dict[str, Domain] = field(default_factory=dict)

    def route(self, domain: Domain, explore: bool) -> str | None:
        self.routed.append((domain, explore))
        if domain in self.off:
            return None
        return wallet_id(WalletMode.PAPER if explore else WalletMode.LIVE, domain)

    def open_count(self, key: str) -> int:
        return self.open_positions.get(key, 0)

    def domain_of(self, key: str) -> Domain | None:
        if key in self.markets:
            return self.markets[key]
        return Domain.CRYPTO_SPOT if key.startswith("sim:") else None


def make_allocator(clock: SimClock, routing: Routing | None = None, **config: Any) -> Allocator:
    routing = routing or Routing()
    return Allocator(
        AllocatorConfig(**config),
        clock,
        route=routing.route,
        open_count=routing.open_count,
        domain_of=routing.domain_of,
    )


def ramp_bars(n: int = 120, step: float = 0.5, start_ms: int = T0) -> BarSeries:
    """A market climbing steadily: every bar a higher high and a higher low (ADX near 100)."""
    close = 100.0 + step * np.arange(n)
    ts = start_ms + 60_000 * np.arange(n)
    return BarSeries.from_columns(ts, close - step / 2, close + 0.2, close - step - 0.2, close)


def zigzag_bars(n: int = 120, start_ms: int = T0) -> BarSeries:
    """A market going nowhere: up one bar, down the next (ADX near 0)."""
    close = 100.0 + np.where(np.arange(n) % 2 == 0, 0.5, -0.5)
    ts = start_ms + 60_000 * np.arange(n)
    return BarSeries.from_columns(ts, close[::-1], close + 0.6, close - 0.6, close)
