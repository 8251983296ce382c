"""The research service: data found in the candle store under any venue, funding from the
funding store, duplicate bars refused by file and time, gaps reported, runs indexed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.integration.parity_kit import REPO, SHARED
from tradeterm.backtest.index import RunIndex
from tradeterm.backtest.service import BacktestOptions, BacktestService
from tradeterm.config import load_config
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.errors import UserError
from tradeterm.marketdata.funding import FundingStore, funding_root, read_funding_file
from tradeterm.marketdata.importer import read_bar_file
from tradeterm.marketdata.store import CandleStore, _write_day_file

FUTURES = SHARED / "crypto" / "usdm_BTCUSDT_15m_2024-02.csv"
FUNDING = SHARED / "crypto" / "usdm_BTCUSDT_8h_funding_2024-02.csv"


def cfg_in(tmp: Path) -> TradetermConfig:
    cfg = load_config(REPO / "configs" / "default.toml")
    storage = cfg.storage.model_copy(
        update={"state_dir": str(tmp / "state"), "reports_dir": str(tmp / "reports")}
    )
    return cfg.model_copy(update={"storage": storage})


def store_futures(tmp: Path, *, drop: slice | None = None, funding: bool = True) -> None:
    bars = read_bar_file(FUTURES, "15m")
    if drop is not None:
        keep = np.ones(len(bars), dtype=bool)
        keep[drop] = False
        bars = bars.slice(slice(0, len(bars))) if keep.all() else type(bars).from_columns(
            bars.open_ms[keep], bars.open[keep], bars.high[keep], bars.low[keep],
            bars.close[keep], bars.volume[keep])  # fmt: skip
    CandleStore(tmp / "state" / "candles").write("binance_futures", "BTCUSDT", "15m", bars)
    if funding:
        FundingStore(funding_root(tmp / "state")).write(
            "binance_futures", "BTCUSDT", read_funding_file(FUNDING)
        )


def test_symbol_found_under_any_venue_with_its_funding(tmp_path: Path) -> None:
    store_futures(tmp_path)
    service = BacktestService(cfg_in(tmp_path))
    (spec,) = service.plan(BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",)))
    data = spec.data
    assert data.timeframe == "15m"  # the one the store holds
    assert data.venue == "binance_futures" and data.domain is Domain.CRYPTO_PERP
    assert len(data.bars["BTCUSDT"]) == 1680
    assert data.funding["BTCUSDT"].rate[0] == pytest.approx(0.00012557)
    with pytest.raises(
        UserError, match=r"no 1m bars under venue 'bybit'.*stored: binance_futures:BTCUSDT 15m"
    ):
        service.plan(BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",), venue="bybit"))
    with pytest.raises(UserError, match=r"ETHUSDT: not in the candle store.*data import"):
        service.plan(BacktestOptions(strategies=("breakout",), symbols=("ETHUSDT",)))
    with pytest.raises(UserError, match="no 1h bars"):
        service.plan(
            BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",), timeframe="1h")
        )


def test_stored_funding_is_what_the_run_pays(tmp_path: Path) -> None:
    opts = BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",), cash=10_000.0,
                           report=False)  # fmt: skip
    store_futures(tmp_path / "a")
    store_futures(tmp_path / "b", funding=False)
    (with_rates,) = BacktestService(cfg_in(tmp_path / "a")).run(opts)
    (default_rate,) = BacktestService(cfg_in(tmp_path / "b")).run(opts)
    assert with_rates.metrics.trade_count > 0
    assert with_rates.metrics.funding_paid != 0.0
    assert with_rates.metrics.funding_paid != pytest.approx(default_rate.metrics.funding_paid)


def test_duplicate_bars_refused_naming_file_and_time(tmp_path: Path) -> None:
    store_futures(tmp_path)
    store = CandleStore(tmp_path / "state" / "candles")
    day_ms, path = store.day_files("binance_futures", "BTCUSDT", "15m")[1]
    bars = read_bar_file(FUTURES, "15m")
    rows = np.nonzero(bars.open_ms // 86_400_000 == day_ms // 86_400_000)[0]
    twice = np.concatenate([rows, rows[3:4]])
    dup = type(bars).from_columns(*(col[twice] for col in (bars.open_ms, bars.open, bars.high,
                                                         bars.low, bars.close, bars.volume)))  # fmt: skip
    _write_day_file(path, dup)
    ts = int(bars.open_ms[rows[3]])
    service = BacktestService(cfg_in(tmp_path))
    with pytest.raises(UserError, match=rf"{path.name}: duplicate bar at ts {ts}"):
        service.run(BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",)))


def test_gaps_are_warnings_in_the_run_and_its_report(tmp_path: Path) -> None:
    store_futures(tmp_path, drop=slice(900, 905))
    service = BacktestService(cfg_in(tmp_path))
    (out,) = service.run(BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",)))
    assert "BTCUSDT: 5 missing bars in 1 gaps (not filled)" in out.result.warnings
    assert out.report is not None
    assert "5 missing bars" in (out.report / "metrics.json").read_text()
    with RunIndex.open(tmp_path / "state") as index:
        record = index.get(out.run_id)
    assert record.status == "finished" and record.report_path == str(out.report)
    assert record.metrics["trade_count"] == out.metrics.trade_count


def test_failed_run_is_indexed_as_failed(tmp_path: Path) -> None:
    store_futures(tmp_path)
    service = BacktestService(cfg_in(tmp_path))
    with pytest.raises(UserError, match="leverage 200 is outside"):
        service.run(BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",),
                                    leverage=200.0))  # fmt: skip
    with RunIndex.open(tmp_path / "state") as index:
        records = index.list()
    assert [r.status for r in records] == ["failed"]
    assert "leverage 200 is outside" in records[0].error


def test_price_chart_marks_the_planned_stop_and_target(tmp_path: Path) -> None:
    from tradeterm.backtest.service import planned_levels

    store_futures(tmp_path)
    service = BacktestService(cfg_in(tmp_path))
    opts = BacktestOptions(strategies=("breakout",), symbols=("BTCUSDT",), cash=10_000.0)
    (out,) = service.run(opts)
    (spec,) = service.plan(opts)
    stops, targets = planned_levels(spec, spec.data.bars["BTCUSDT"], out.result)
    assert len(stops) == len(out.result.trades) and all(s is not None for s in stops)
    for trade, stop, target in zip(out.result.trades, stops, targets, strict=True):
        assert stop is not None and target is not None
        assert (
            (stop - trade.entry_price) * trade.side < 0 < (target - trade.entry_price) * trade.side
        )
        if trade.exit_reason == "take_profit":
            assert trade.exit_price == pytest.approx(target, rel=2e-3)
    assert out.report is not None and (out.report / "price.png").stat().st_size > 5_000
