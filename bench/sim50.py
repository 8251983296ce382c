"""Fifty synthetic markets for the live-path benchmark, built from the sim venue's public pieces.

The sim catalog knows 20 Deriv-like indices. The benchmark wants 50 markets streaming at once, so
this module offers the 20 known indices plus 30 more: each of the 15 one-second indices again
under two new names (`1HZ100V_2`, `1HZ100V_3`, ...). A twin keeps its original's price law, pip
and cadence; its own name gives it its own random stream (the sim seeds every symbol from
(venue seed, symbol)), so the 50 prices move independently.

`build_sim50_venue` has the shape of a node venue builder (`build_node(...,
venue_builder=build_sim50_venue)`): it composes a `SimMarket` over 50 `synthetic_feed`s and the
sim `SimDataClient`, without touching tradeterm. It serves market data only; the benchmark trades
paper wallets, which fill inside the node and never ask the venue for an account.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tradeterm.clock import Clock
from tradeterm.config import TradetermConfig, config_from_dict
from tradeterm.config.models import SimVenueConfig
from tradeterm.errors import ConfigError
from tradeterm.venues.base import ExecClient, VenueHealth
from tradeterm.venues.factory import VenueHandle
from tradeterm.venues.sim.catalog import INDEX_SPECS, IndexSpec, index_spec
from tradeterm.venues.sim.feeds import Feed, synthetic_feed
from tradeterm.venues.sim.market import SimMarket
from tradeterm.venues.sim.venue import SimDataClient

TWIN_SUFFIXES = ("_2", "_3")
"""Name suffixes of the extra copies of each one-second index."""


def _twin_bases() -> list[IndexSpec]:
    return [s for s in INDEX_SPECS if s.interval_ms == 1000]


def fifty_symbols() -> list[str]:
    """The 50 benchmark symbols: the 20 catalog indices, then 30 one-second twins."""
    twins = [f"{s.symbol}{suffix}" for suffix in TWIN_SUFFIXES for s in _twin_bases()]
    return [s.symbol for s in INDEX_SPECS] + twins


def bench_spec(symbol: str) -> IndexSpec:
    """The index behind a benchmark symbol: a catalog index, or a renamed twin of one."""
    known = index_spec(symbol)
    if known is not None:
        return known
    for suffix in TWIN_SUFFIXES:
        base = index_spec(symbol.removesuffix(suffix)) if symbol.endswith(suffix) else None
        if base is not None:
            return replace(
                base, symbol=symbol, display_name=f"{base.display_name} #{suffix.lstrip('_')}"
            )
    raise ConfigError(f"bench venue: '{symbol}' is neither a catalog index nor a twin of one")


def _feeds(name: str, cfg: SimVenueConfig, started_ms: int) -> dict[str, Feed]:
    history_ms = int(cfg.history_minutes * 60_000)
    return {
        symbol: synthetic_feed(
            name,
            bench_spec(symbol),
            seed=cfg.seed,
            anchor_ms=started_ms,
            history_ms=history_ms,
            speed=cfg.speed,
        )
        for symbol in dict.fromkeys(cfg.symbols or fifty_symbols())
    }


def build_sim50_venue(
    name: str, cfg: Any, clock: Clock, state_dir: Path | str | None = None
) -> VenueHandle:
    """A node venue builder offering the benchmark symbols of a sim venue config (market data
    only). `state_dir` is accepted for builders that keep venue state; this venue keeps none."""
    if not isinstance(cfg, SimVenueConfig):
        raise ConfigError(f"venues.{name}: the 50-market bench venue needs kind = 'sim'")
    if cfg.replay:
        raise ConfigError(f"venues.{name}.replay: the 50-market bench venue is synthetic only")
    health = VenueHealth(venue=name)
    market = SimMarket(
        name, _feeds(name, cfg, clock.now_ms()), clock, start_ms=clock.now_ms(), health=health
    )
    data = SimDataClient(name, market, clock, health)

    def no_accounts(account: str) -> ExecClient:
        raise ConfigError(
            f"venues.{name}.accounts: the bench venue has no '{account}' account "
            "(it trades paper wallets only)"
        )

    async def close() -> None:
        await data.close()
        await market.stop()

    return VenueHandle(name, "sim", data, no_accounts, cfg.fill_model, close)


def bench_config(
    state_dir: Path,
    *,
    speed: float = 100.0,
    history_minutes: float = 480.0,
    seed: int = 7,
    store_candles: bool = True,
) -> TradetermConfig:
    """The benchmark node: 50 synthetic markets, the default strategies on 5 s / 15 s / 1 m bars
    with busy parameters (so decisions are plentiful), paper wallets, confirm = never, candle
    store and the info-level JSON event log on as in configs/default.toml.

    `history_minutes` must cover the deepest window: vol_squeeze on 1 m bars needs 420 bars."""
    symbols = fifty_symbols()
    crash_boom = [s for s in symbols if s.startswith(("CRASH", "BOOM"))]
    busy_trend = {"fast": 5, "slow": 20, "adx_threshold": 15}
    data: dict[str, Any] = {
        "venues": {
            "sim": {
                "kind": "sim",
                "seed": seed,
                "speed": speed,
                "history_minutes": history_minutes,
                "symbols": symbols,
            }
        },
        "domains": {"synthetics": {"venue": "sim", "symbols": symbols}},
        "marketdata": {
            "timeframes": ["5s", "15s", "1m"],
            "window_bars": 300,
            "warmup_bars": 300,
            "store_candles": store_candles,
        },
        "strategies": {
            "ema_trend": {
                "domains": ["synthetics"],
                "timeframes": ["5s", "15s"],
                "params": busy_trend,
            },
            "breakout": {
                "domains": ["synthetics"],
                "timeframes": ["5s", "15s"],
                "params": {"channel": 12, "min_clear_atr": 0.0},
            },
            "mean_revert": {"domains": ["synthetics"], "timeframes": ["5s", "15s"]},
            "vol_squeeze": {"domains": ["synthetics"], "timeframes": ["1m"]},
            "impulse_fade": {"symbols": crash_boom, "timeframes": ["5s", "15s"]},
        },
        "allocator": {"exploration": 0.5},
        "risk": {
            "cooldown_losses": 50,
            "daily_loss_cap": 0.5,
            "symbol_loss_cap": 0.5,
            "max_drawdown": 0.5,
            "max_portfolio_exposure": 1.0,
        },
        "execution": {"confirm": "never", "confirmation_ttl_s": 30},
        "storage": {"state_dir": str(state_dir)},
        "telemetry": {"log_format": "json", "log_level": "info", "prometheus": False},
    }
    return config_from_dict(data, source="bench.sim50")
