"""The event engine: the real node on a SimClock (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradeterm.backtest.result import BacktestResult

if TYPE_CHECKING:
    from tradeterm.backtest.engines import BacktestRequest


def run_event(request: BacktestRequest) -> BacktestResult:
    raise NotImplementedError("event engine: in progress on branch engines")
