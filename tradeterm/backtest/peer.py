"""The backtrader peer (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradeterm.backtest.result import BacktestResult

if TYPE_CHECKING:
    from tradeterm.backtest.engines import BacktestRequest


def run_backtrader(request: BacktestRequest) -> BacktestResult:
    raise NotImplementedError("backtrader peer: in progress on branch engines")
