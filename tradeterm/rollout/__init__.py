"""The staged rollout: stages and KPI gates from config, the stage state machine, canaries.

`Rollout` owns the current stage, routes intents to paper or live wallets and records every
transition with a KPI snapshot; `kpis` holds the KPI maths and the gate report.
"""

from tradeterm.rollout.kpis import DomainGate, DomainKpis, GateCheck, GateReport
from tradeterm.rollout.stages import CanaryBook, Rollout, stage_machine

__all__ = [
    "CanaryBook",
    "DomainGate",
    "DomainKpis",
    "GateCheck",
    "GateReport",
    "Rollout",
    "stage_machine",
]
