"""The vector engine's typed wrapper (being built: the kernels land next)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tradeterm.backtest.result import BacktestResult

if TYPE_CHECKING:
    from tradeterm.backtest.engines import BacktestRequest, GridRow, ParamValue


def run_vector(request: BacktestRequest) -> BacktestResult:
    raise NotImplementedError("vector engine: in progress on branch engines")


def run_vector_grid(
    request: BacktestRequest, combos: Sequence[dict[str, ParamValue]]
) -> list[GridRow]:
    raise NotImplementedError("vector engine grid: in progress on branch engines")
