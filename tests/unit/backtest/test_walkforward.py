"""Walk-forward: split arithmetic, stitching by hand, and a real run on a synthetic history."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration.parity_kit import REPO
from tradeterm.backtest.engines import BacktestRequest, run_grid
from tradeterm.backtest.metrics import compute_metrics
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.backtest.walkforward import (
    WalkForwardSettings,
    bounds_grid,
    split_bounds,
    stitch,
    walk_forward,
)
from tradeterm.config import load_config
from tradeterm.domain.enums import Domain
from tradeterm.errors import UserError
from tradeterm.testing.histories import synthetic_history
from tradeterm.venues.sim.catalog import index_spec


def test_rolling_and_anchored_splits() -> None:
    # 100 usable bars after 10 warm-up bars; ratio 0.75 -> IS = 3 x OOS; 100 // (3 + 2) = 20
    rolling = split_bounds(110, 10, WalkForwardSettings(splits=2, is_ratio=0.75))
    assert rolling == [(10, 70, 70, 90), (30, 90, 90, 110)]
    anchored = split_bounds(110, 10, WalkForwardSettings(splits=2, is_ratio=0.75, mode="anchored"))
    assert anchored == [(10, 70, 70, 90), (10, 90, 90, 110)]
    with pytest.raises(UserError, match="too few"):
        split_bounds(20, 10, WalkForwardSettings(splits=5))
    with pytest.raises(UserError, match="--is-ratio"):
        split_bounds(200, 10, WalkForwardSettings(is_ratio=1.0))


def _seg(ts: list[int], equity: list[float], pnl: float) -> BacktestResult:
    trade = BacktestTrade("X", 1, 0, 1, ts[0], ts[1], 2.0, 100.0, 101.0, pnl, 1.0, 0.5, 10.0,
                          pnl / 10.0, "take_profit")  # fmt: skip
    return BacktestResult("vector", "s", {}, ("X",), "1h", 1000.0, np.asarray(ts, np.int64),
                          np.asarray(equity), np.asarray(equity), (trade,), fees_paid=1.0,
                          funding_paid=0.5)  # fmt: skip


def test_stitch_chains_each_segment_from_the_last_equity() -> None:
    req = BacktestRequest(strategy="s", timeframe="1h", bars={}, cash=1000.0)
    out = stitch(
        req, [_seg([0, 1], [1000.0, 1100.0], 100.0), _seg([2, 3], [1000.0, 900.0], -100.0)]
    )
    assert list(out.equity) == pytest.approx([1000.0, 1100.0, 1100.0, 990.0])
    assert list(out.ts) == [0, 1, 2, 3]
    second = out.trades[1]
    assert second.pnl == pytest.approx(-110.0) and second.qty == pytest.approx(2.2)
    assert (second.entry_bar, second.exit_bar) == (2, 3)
    assert out.fees_paid == pytest.approx(2.1) and out.funding_paid == pytest.approx(1.05)
    assert compute_metrics(out).total_return == pytest.approx(-0.01)


def test_bounds_grid_uses_the_strategy_parameters() -> None:
    grid = bounds_grid("ema_trend")
    assert list(grid) == ["fast", "slow", "adx_period"]
    assert grid["fast"] == [7, 12, 56]  # default 12, half-way to 2 and to 100
    assert bounds_grid("ema_trend", {"fast": 10}).keys() == {"slow", "adx_period", "adx_threshold"}


@pytest.fixture(scope="module")
def request_r100() -> BacktestRequest:
    spec = index_spec("R_100")
    assert spec is not None
    return BacktestRequest(
        strategy="ema_trend", timeframe="5m", bars={"R_100": synthetic_history("R_100", "5m", 4000)},
        config=load_config(REPO / "configs" / "default.toml"), domain=Domain.SYNTHETICS,
        cash=1000.0,
    )  # fmt: skip


def test_walk_forward_chooses_in_sample_and_scores_out_of_sample(
    request_r100: BacktestRequest,
) -> None:
    grid = {"fast": [8, 12], "slow": [30, 48]}
    settings = WalkForwardSettings(splits=3, is_ratio=0.6, grid=grid, metric="total_return")
    wf = walk_forward(request_r100, settings)
    assert len(wf.splits) == 3 and wf.grid_size == 4
    axis = request_r100.bars["R_100"].open_ms
    stitched = wf.stitched
    # the headline covers exactly the out-of-sample segments, back to back
    assert stitched.ts[0] == axis[wf.splits[0].oos_start] and stitched.ts[-1] == axis[-1]
    assert stitched.ts.size == axis.size - wf.splits[0].oos_start
    for split in wf.splits:
        assert split.oos_start == split.is_end
        lo, hi = axis[split.oos_start], axis[split.oos_end - 1]
        # no out-of-sample trade of this split opens outside its segment
        inside = [t for t in stitched.trades if lo <= t.entry_ms <= hi]
        assert len(inside) == split.oos_metrics.trade_count
    # the chosen parameters are the in-sample best of the grid, by the chosen metric
    first = wf.splits[0]
    from tradeterm.backtest.walkforward import _window, warmup_bars

    combos = [{"fast": f, "slow": s} for f in (8, 12) for s in (30, 48)]
    warm = warmup_bars(request_r100, combos)
    is_req = _window(request_r100, axis, first.is_start, first.is_end, warm)
    rows = run_grid(is_req, grid)
    best = max(rows, key=lambda r: compute_metrics(r.result).total_return)
    assert first.params == best.params
    assert first.is_score == pytest.approx(compute_metrics(best.result).total_return)
    assert first.gap == pytest.approx(first.is_score - first.oos_score)
    doc = wf.to_dict()
    assert len(doc["per_split"]) == 3 and doc["metric"] == "total_return"


def test_unknown_metric_refused(request_r100: BacktestRequest) -> None:
    with pytest.raises(UserError, match="unknown metric 'sharpness'"):
        walk_forward(request_r100, WalkForwardSettings(metric="sharpness", grid={"fast": [8]}))
