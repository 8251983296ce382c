"""One chart description, two renderers: the plotext text and the matplotlib PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.charts import (
    Chart,
    HLine,
    equity_chart,
    price_chart,
    render_png,
    render_text,
    trade_pnl_histogram,
    underwater_chart,
    walkforward_chart,
)

HOUR = 3_600_000
START = 1_709_251_200_000


def trade(side: int, entry: int, exit_: int, pnl: float) -> BacktestTrade:
    return BacktestTrade(
        symbol="BTCUSDT", side=side, entry_bar=entry, exit_bar=exit_,
        entry_ms=START + entry * HOUR, exit_ms=START + exit_ * HOUR, qty=1.0,
        entry_price=100.0 + entry, exit_price=100.0 + exit_, pnl=pnl, fees=0.1, funding=0.0,
        risk_amount=1.0, r_multiple=pnl, exit_reason="take_profit",
    )  # fmt: skip


@pytest.fixture
def run() -> BacktestResult:
    equity = np.asarray([1000, 1010, 1020, 918, 950, 1030, 1040, 1050], dtype=np.float64)
    return BacktestResult(
        engine="vector", strategy="ema_trend", params={}, symbols=("BTCUSDT",), timeframe="1h",
        initial_cash=1000.0, ts=START + np.arange(8, dtype=np.int64) * HOUR, equity=equity,
        hodl=np.linspace(1000, 1100, 8),
        trades=(trade(1, 0, 2, 20.0), trade(-1, 3, 4, -8.0), trade(1, 5, 7, 12.0)),
    )  # fmt: skip


def test_equity_text_has_title_legend_and_dates(run: BacktestResult) -> None:
    text = render_text(equity_chart(run), 90, 22, color=False)
    assert "Equity: ema_trend BTCUSDT" in text
    assert "strategy" in text and "HODL" in text
    assert "00:00" in text  # the x axis is labelled with UTC times, not epoch numbers
    assert len(text.rstrip("\n").split("\n")) == 22
    colored = render_text(equity_chart(run), 90, 22)
    assert "\x1b[" in colored


def test_underwater_is_drawdown_below_running_peak(run: BacktestResult) -> None:
    chart = underwater_chart(run)
    dd = chart.series[0].y
    assert dd.min() == pytest.approx(-10.0)  # 918 is 10% under the 1020 peak
    assert dd[0] == 0.0 and dd[-1] == 0.0
    assert "Underwater" in render_text(chart, 80, 20, color=False)


def test_price_chart_marks_entries_and_exits(run: BacktestResult) -> None:
    ts = run.ts
    close = 100.0 + np.arange(8.0)
    chart = price_chart(ts, close, run.trades, "BTCUSDT", levels=(HLine(95.0, "SL", "red"),))
    longs, shorts, exits, stops, targets = chart.markers
    assert stops.x.size == 0 and targets.x.size == 0  # none given
    assert longs.x.size == 2 and shorts.x.size == 1 and exits.x.size == 3
    assert shorts.y[0] == pytest.approx(103.0)
    text = render_text(chart, 90, 22, color=False)
    assert "▲" in text and "▼" in text and "✕" in text and "SL" in text
    planned = price_chart(ts, close, run.trades, "BTCUSDT", stops=[95.0, None, 104.0],
                          targets=[110.0, 97.0, None])  # fmt: skip
    assert list(planned.markers[3].y) == [95.0, 104.0] and list(planned.markers[4].y) == [
        110.0,
        97.0,
    ]
    assert "━" in render_text(planned, 90, 22, color=False)
    other = price_chart(ts, close, run.trades, "ETHUSDT")
    assert all(m.x.size == 0 for m in other.markers)


def test_histogram_counts_every_trade(run: BacktestResult) -> None:
    chart = trade_pnl_histogram(run, bins=4)
    losing, winning = chart.bars
    assert losing.values.sum() + winning.values.sum() == 3
    assert losing.values.sum() == 1
    empty = trade_pnl_histogram(
        BacktestResult("vector", "x", {}, ("A",), "1h", 1.0, run.ts, run.equity, run.hodl, ())
    )
    assert "no trades" in render_text(empty, 60, 12, color=False)


def test_walkforward_bars_side_by_side() -> None:
    chart = walkforward_chart(["1", "2", "3"], [2.0, 1.5, None], [0.5, -0.2, 0.1])
    assert chart.categories == ("1", "2", "3")
    assert list(chart.bars[0].values) == [2.0, 1.5, 0.0]
    text = render_text(chart, 80, 20, color=False)
    assert "in-sample" in text and "out-of-sample" in text
    with pytest.raises(ValueError, match="3 values for 2 categories"):
        walkforward_chart(["1", "2"], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("builder", ["equity", "underwater", "price", "hist", "wf", "empty"])
def test_png_written_for_every_chart(run: BacktestResult, tmp_path: Path, builder: str) -> None:
    charts: dict[str, Chart] = {
        "equity": equity_chart(run),
        "underwater": underwater_chart(run),
        "price": price_chart(run.ts, 100.0 + np.arange(8.0), run.trades, "BTCUSDT"),
        "hist": trade_pnl_histogram(run),
        "wf": walkforward_chart(["1", "2"], [1.0, 2.0], [0.5, 0.1]),
        "empty": Chart(title="nothing"),
    }
    path = render_png(charts[builder], tmp_path / "sub" / f"{builder}.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000


def test_too_small_refused(run: BacktestResult) -> None:
    with pytest.raises(ValueError, match="too small"):
        render_text(equity_chart(run), 10, 4)


def test_named_x_ticks_label_both_renderers(tmp_path: Path) -> None:
    from tradeterm.charts import Series

    axes = (("alpha_axis", 0.0), ("beta_axis", 1.0), ("value", 2.0))
    chart = Chart(
        title="axes",
        series=(Series("t", np.arange(3.0), np.asarray([0.2, 0.9, 0.5])),),
        x_ticks=tuple((x, name) for name, x in axes),
    )
    text = render_text(chart, 80, 12, color=False)
    assert all(name in text for name, _x in axes)
    plain = render_text(Chart(title="axes", series=chart.series), 80, 12, color=False)
    assert "alpha_axis" not in plain
    out = render_png(chart, tmp_path / "axes.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sideways_bars_put_the_first_category_on_top_and_keep_to_the_rows(
    tmp_path: Path,
) -> None:
    from tradeterm.charts import BarSet

    names = tuple(f"param_{i:02d}" for i in range(12))
    values = np.linspace(1.0, 0.1, 12)
    chart = Chart(
        title="imp", categories=names, bars=(BarSet("i", values, "cyan"),), horizontal=True
    )
    lines = render_text(chart, 80, 30, color=False).splitlines()
    rows = [next(i for i, line in enumerate(lines) if name in line) for name in names]
    assert rows == sorted(rows)  # the first category on top, in order
    bar = [lines[r].split("┤", 1)[1].count("█") for r in rows]
    assert bar == sorted(bar, reverse=True) and bar[0] > bar[-1]  # longer bar, larger value
    small = render_text(chart, 80, 14, color=False)
    assert "imp (first 6 of 12)" in small and "param_05" in small and "param_06" not in small
    out = render_png(chart, tmp_path / "imp.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
