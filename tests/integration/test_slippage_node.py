"""A running node records the slippage of every fill its paper wallet gets, refits the pairs on
its timer, and (with costs.slippage = "fitted") prices them with the fits."""

from __future__ import annotations

from pathlib import Path

from tradeterm.clock import SimClock
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage import slippage as slip_db
from tradeterm.testing.node_kit import advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC


async def test_node_records_fills_refits_on_its_timer_and_prices_with_the_fits(
    tmp_path: Path,
) -> None:
    clock = SimClock(START_MS)
    costs = {"slippage": "fitted", "min_fills": 3, "refit_every_s": 60}
    node = build_node(
        busy_config(tmp_path, extra={"costs": costs}), clock, NodeOptions(metrics_server=False)
    )
    await node.start()
    try:
        assert node.slippage is not None
        await advance(clock, 240)
        store = node.stores.paper
        fills = store.load_fills()
        assert fills, "the busy config trades within four minutes"
        samples = slip_db.load_samples(store)
        assert {s.fill_id for s in samples} == {f.fill_id for f in fills}
        assert all(s.ref_price > 0 and s.vol_bps >= 0 for s in samples)
        assert node.slippage.refits >= 3  # every 60 s on the clock
        fits = slip_db.latest_fits(store)
        assert fits, "pairs with 3+ taker fills are fitted"
        # the frictionless sim still slips stops past their level: some pair has a positive fit
        key, fit = max(fits.items(), key=lambda kv: kv[1].fixed_bps)
        assert fit.fixed_bps > 0.0
        instrument = node.instruments[key]
        priced = node.risk.cost_model(instrument)
        assert (priced.slippage_bps, priced.slippage_atr) == (fit.fixed_bps, fit.atr_coef)
    finally:
        await node.stop()
