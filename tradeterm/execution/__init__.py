"""Execution: order lifecycle, paper and live executors, the confirmation queue, the position
monitor, flatten-all, restore and reconcile, safe shutdown."""

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
