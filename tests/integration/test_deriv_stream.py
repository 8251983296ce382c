"""Ten minutes of Deriv paper stream (the simulator's clock x60) with the connection dropped every
30 sim seconds: no candle lost, none duplicated, every candle equal to the simulator's record."""

from __future__ import annotations

from tradeterm.testing.deriv_stream import run_paper_stream
from tradeterm.venues.sim.servers.deriv_sim import FaultPlan


async def test_ten_minutes_with_a_drop_every_30s_lose_and_duplicate_no_candle() -> None:
    report = await run_paper_stream(
        sim_minutes=10,
        speed=60,
        faults=FaultPlan(drop_every_s=30, duplicate_rate=0.05),
    )
    assert report.drops >= 19
    assert report.reconnects >= 19
    assert report.candles >= 2 * 9
    assert report.lost == []
    assert report.duplicated == []
    assert report.mismatched == []
    assert report.backfilled_ticks > 0  # the drops did cost ticks, and the backfill got them back
    assert report.dropped_duplicates > 0  # duplicated frames were seen and dropped


async def test_a_stalled_feed_is_detected_and_its_gap_backfilled() -> None:
    """The socket stays up but the simulator sends nothing for 20 sim seconds every 2 minutes:
    the client calls the feed stale, reconnects, and the backfill restores every candle."""
    report = await run_paper_stream(
        sim_minutes=5,
        speed=30,
        faults=FaultPlan(stall_every_s=120, stall_for_s=20),
        stale_after_s=0.3,
    )
    assert report.drops == 0
    assert report.stale_restarts >= 2
    assert report.backfilled_ticks > 0
    assert (report.lost, report.duplicated, report.mismatched) == ([], [], [])
