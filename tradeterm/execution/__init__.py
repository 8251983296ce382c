"""Execution: order lifecycle, paper and live executors, the confirmation queue, the position
monitor, flatten-all, restore and reconcile, safe shutdown."""

from typing import TYPE_CHECKING

from tradeterm.imports import lazy_exports

if TYPE_CHECKING:
    from tradeterm.execution.confirmations import CONFIRMATION_FSM, ConfirmationQueue
    from tradeterm.execution.engine import ExecutionEngine, RestoreReport, RiskGate
    from tradeterm.execution.executors import (
        Executor,
        ExecutorEvent,
        FundingCharge,
        LiveExecutor,
        PaperExecutor,
    )
    from tradeterm.execution.flatten import FlattenPreview, FlattenReport, VenueFlattenResult
    from tradeterm.execution.monitor import PositionMonitor
    from tradeterm.execution.reconcile import Orphan, ReconcileReport

__all__ = [
    "CONFIRMATION_FSM",
    "ConfirmationQueue",
    "ExecutionEngine",
    "Executor",
    "ExecutorEvent",
    "FlattenPreview",
    "FlattenReport",
    "FundingCharge",
    "LiveExecutor",
    "Orphan",
    "PaperExecutor",
    "PositionMonitor",
    "ReconcileReport",
    "RestoreReport",
    "RiskGate",
    "VenueFlattenResult",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CONFIRMATION_FSM": "tradeterm.execution.confirmations",
        "ConfirmationQueue": "tradeterm.execution.confirmations",
        "ExecutionEngine": "tradeterm.execution.engine",
        "RestoreReport": "tradeterm.execution.engine",
        "RiskGate": "tradeterm.execution.engine",
        "Executor": "tradeterm.execution.executors",
        "ExecutorEvent": "tradeterm.execution.executors",
        "FundingCharge": "tradeterm.execution.executors",
        "LiveExecutor": "tradeterm.execution.executors",
        "PaperExecutor": "tradeterm.execution.executors",
        "FlattenPreview": "tradeterm.execution.flatten",
        "FlattenReport": "tradeterm.execution.flatten",
        "VenueFlattenResult": "tradeterm.execution.flatten",
        "PositionMonitor": "tradeterm.execution.monitor",
        "Orphan": "tradeterm.execution.reconcile",
        "ReconcileReport": "tradeterm.execution.reconcile",
    },
)
