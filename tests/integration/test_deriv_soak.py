"""The 30-minute Deriv paper soak with injected faults (marker `slow`, outside CI); its figures
go to bench/RESULTS.md through `python -m bench.deriv_soak`. Runs only with TRADETERM_SOAK=1:
`TRADETERM_SOAK=1 pytest -m slow tests/integration/test_deriv_soak.py`."""

from __future__ import annotations

import os

import pytest

from tradeterm.testing.deriv_stream import run_paper_stream
from tradeterm.venues.sim.servers.deriv_sim import FaultPlan


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TRADETERM_SOAK"), reason="soak: set TRADETERM_SOAK=1")
async def test_thirty_minute_soak_with_faults_loses_and_duplicates_nothing() -> None:
    faults = FaultPlan(
        drop_every_s=30, duplicate_rate=0.05, stall_every_s=300, stall_for_s=5, delay_ms=20
    )
    report = await run_paper_stream(sim_minutes=30, speed=60, faults=faults)
    assert report.drops >= 59 and report.reconnects >= 59
    assert report.candles >= 2 * 29
    assert (report.lost, report.duplicated, report.mismatched) == ([], [], [])
