"""Helpers of the parity tests: the shared data as backtest requests, and the first difference
between two engines' results, side by side."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from tradeterm.backtest.engines import BacktestRequest, FundingSeries, MarketRules
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.config import load_config
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.venues.sim.catalog import index_spec
from tradeterm.venues.sim.replay import load_candles

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO.parent / "shared" / "data").resolve()
if not SHARED.is_dir():  # a clone beside the shared folder, or the main checkout
    SHARED = Path("/work/shared/data")
STRATEGIES = ("ema_trend", "mean_revert", "breakout", "vol_squeeze", "impulse_fade")
SIZE_TOLERANCE = 1e-9
EQUITY_TOLERANCE = 1e-6


def ohlcv_files() -> list[Path]:
    """Every OHLCV series of the shared data (crypto and equities; funding files excluded)."""
    found = [
        p
        for folder in ("crypto", "equities")
        for p in sorted((SHARED / folder).glob("*.csv"))
        if "_funding_" not in p.name
    ]
    return found


def timeframe_of(path: Path) -> str:
    name = path.stem
    for tf in ("15m", "5m", "1m", "1h", "8h"):
        if f"_{tf}_" in name or name.startswith(f"{tf}_"):
            return tf
    if name.startswith("daily_"):
        return "1d"
    raise ValueError(f"no timeframe in {path.name}")


def series(path: Path) -> BarSeries:
    """The file's bars (read by the sim venue's candle loader). Mark-price files may leave the
    volume blank (a mark has none): it is read as 0."""
    if "_mark_" in path.name:
        import pandas as pd

        frame = pd.read_csv(path).fillna({"volume": 0.0})
        return BarSeries.from_columns(
            frame["ts"], frame["open"], frame["high"], frame["low"], frame["close"], frame["volume"]
        )
    c = load_candles(path)
    return BarSeries.from_columns(c.ts, c.open, c.high, c.low, c.close, c.volume)


def funding_for(path: Path) -> FundingSeries | None:
    """The funding series of a perpetual's file (same pair), if the shared data has one."""
    if not path.name.startswith("usdm_"):
        return None
    pair = path.name.split("_")[1]
    found = sorted(path.parent.glob(f"usdm_{pair}_8h_funding_*.csv"))
    if not found:
        return None
    import pandas as pd

    frame = pd.read_csv(found[0])
    return FundingSeries(frame["ts"].to_numpy(np.int64), frame["rate"].to_numpy(np.float64))


def default_config() -> TradetermConfig:
    return load_config(REPO / "configs" / "default.toml")


def file_request(path: Path, strategy: str, engine: str) -> BacktestRequest:
    """A request for one shared-data file: perpetual futures (usdm_*) with their funding, spot
    crypto and equities as spot (long only)."""
    perp = path.name.startswith("usdm_")
    funding = funding_for(path)
    return BacktestRequest(
        strategy=strategy,
        timeframe=timeframe_of(path),
        bars={path.stem: series(path)},
        config=default_config(),
        funding={path.stem: funding} if funding is not None else {},
        domain=Domain.CRYPTO_PERP if perp else Domain.CRYPTO_SPOT,
        engine=engine,  # type: ignore[arg-type]
        cash=10_000.0,
    )


def synthetic_rules(symbol: str) -> MarketRules:
    spec = index_spec(symbol)
    assert spec is not None
    return MarketRules(tick_size=spec.pip, lot_step=spec.lot_step, min_notional=1.0)


def _row(trade: BacktestTrade) -> str:
    return ", ".join(f"{f.name}={getattr(trade, f.name)!r}" for f in fields(trade))


def _same(a: BacktestTrade, b: BacktestTrade) -> bool:
    return (a.symbol, a.entry_bar, a.exit_bar, a.side, a.exit_reason) == (
        b.symbol,
        b.entry_bar,
        b.exit_bar,
        b.side,
        b.exit_reason,
    ) and abs(a.qty - b.qty) <= SIZE_TOLERANCE * max(abs(a.qty), abs(b.qty))


def first_difference(a: BacktestResult, b: BacktestResult) -> str | None:
    """None when both runs made the same trades (symbol, entry bar, exit bar, side, exit reason,
    size within 1e-9 relative) and ended within 1e-6 relative of each other's equity; else the
    first differing trade of each side by side (or the equity gap)."""
    for i, (x, y) in enumerate(zip(a.trades, b.trades, strict=False)):
        if not _same(x, y):
            return f"trade {i} differs:\n  {a.engine:>10}: {_row(x)}\n  {b.engine:>10}: {_row(y)}"
    if len(a.trades) != len(b.trades):
        n = min(len(a.trades), len(b.trades))
        extra = a.trades[n:] or b.trades[n:]
        who = a.engine if len(a.trades) > n else b.engine
        return (
            f"{a.engine} made {len(a.trades)} trades, {b.engine} {len(b.trades)}; "
            f"first extra ({who}): {_row(extra[0])}"
        )
    fa, fb = a.final_equity, b.final_equity
    if abs(fa - fb) > EQUITY_TOLERANCE * max(abs(fa), abs(fb)):
        return f"final equity differs: {a.engine} {fa!r} vs {b.engine} {fb!r}"
    return None
