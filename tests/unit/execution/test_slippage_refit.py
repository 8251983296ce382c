"""The refit job fits each pair from the fills it recorded, persists the fit, and with
`costs.slippage = "fitted"` the gate's cost model and paper matching use it (the configured
model elsewhere)."""

from __future__ import annotations

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import INSTRUMENTS, MIN, PAPER_SYN, R100, T0, decision, signal, tick
from tradeterm.clock import SimClock
from tradeterm.config.models import CostsConfig, FillModelConfig
from tradeterm.domain.costs import CostModel
from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Fill, Order
from tradeterm.domain.slippage import SlippageFit
from tradeterm.execution.executors import PaperExecutor
from tradeterm.execution.slippage import SlippageBook
from tradeterm.storage import slippage as slip_db
from tradeterm.storage.db import Storage

SLIPPY = FillModelConfig(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=5.0)


async def test_refit_fits_recorded_round_trips_and_the_fitted_model_prices_the_pair(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(model=SLIPPY)
    for i in range(4):
        ts = 2 * i * MIN
        price = 100.0 + i
        await rig.tick(R100, ts, price, spread=0.2)
        sig = signal(entry=price, stop=price - 2, target=price + 6, ts_ms=T0 + ts, atr=1.0)
        await rig.engine.on_decision(decision(sig))
        await rig.tick(R100, ts + MIN, price + 0.5, spread=0.2)
        await rig.engine.close_position(PAPER_SYN, R100.key, "round trip")
    store = rig.stores.paper
    assert store.count("slippage") == 8

    config = CostsConfig(min_fills=9)
    book = SlippageBook(config, rig.clock, rig.stores.all())
    assert book.refit() == [] and book.fit(R100.key) is None  # 8 fills: not enough yet
    configured = CostModel(slippage_bps=5.0)
    fitted_cfg = CostsConfig(min_fills=8, slippage="fitted")
    book = SlippageBook(fitted_cfg, rig.clock, rig.stores.all())
    (fit,) = book.refit()
    assert (fit.venue, fit.symbol, fit.n) == ("sim", "R_100", 8)
    # beyond the half spread each fill paid the matching model's 5 bps (x the touch / mid)
    assert fit.expected_bps() == pytest.approx(5.0, abs=0.02)
    assert fit.residual < 0.05

    # persisted: a new book (a restarted node) reads it back
    again = SlippageBook(fitted_cfg, rig.clock, rig.stores.all())
    assert again.fit(R100.key) == fit
    (row,) = store.db.query("SELECT venue, symbol, n, params, residual FROM slippage_fits")
    assert row["n"] == 8 and "fixed_bps" in row["params"]

    priced = again.cost_model("sim", "R_100", configured)
    assert (priced.slippage_bps, priced.slippage_atr) == (fit.fixed_bps, fit.atr_coef)
    assert again.cost_model("sim", "OTHER", configured) == configured  # no fit: configured
    as_configured = SlippageBook(CostsConfig(), rig.clock, rig.stores.all())
    assert as_configured.cost_model("sim", "R_100", configured) == configured
    assert as_configured.fill_model("sim", "R_100", SLIPPY) is None


async def test_paper_fills_take_the_fitted_slippage_of_their_pair(tmp_path: object) -> None:
    store = Storage(":memory:")
    clock = SimClock(T0)
    slip_db.save_fit(store, SlippageFit("sim", "R_100", T0, 50, 20.0, 0.0, 1.0, 100.0))
    book = SlippageBook(CostsConfig(slippage="fitted"), clock, [store])

    def model_for(venue: str, symbol: str) -> FillModelConfig | None:
        return book.fill_model(venue, symbol, SLIPPY)

    paper = PaperExecutor(PAPER_SYN, SLIPPY, clock, instruments=INSTRUMENTS, model_for=model_for)
    paper.on_tick(tick(R100, T0, 100.0, 0.2))
    order = Order("c1", PAPER_SYN, "sim", "R_100", Side.BUY, OrderType.MARKET, 1.0, T0)
    fills = [e for e in await paper.submit(order) if isinstance(e, Fill)]
    assert len(fills) == 1
    assert fills[0].price == pytest.approx(100.1 * (1 + 20 / 10_000))  # the fitted 20 bps
    configured = PaperExecutor(PAPER_SYN, SLIPPY, clock, instruments=INSTRUMENTS)
    configured.on_tick(tick(R100, T0, 100.0, 0.2))
    fills = [e for e in await configured.submit(order) if isinstance(e, Fill)]
    assert fills[0].price == pytest.approx(100.1 * (1 + 5 / 10_000))
    store.close()
