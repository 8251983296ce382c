"""Every paper fill records its slippage against the decision price, in the fill's own commit,
on the real matching model and real SQLite."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_SPOT,
    LIVE_SPOT,
    MIN,
    PAPER_SYN,
    R100,
    RecordingVenue,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig, FillModelConfig
from tradeterm.storage import slippage as slip_db

SLIPPY = FillModelConfig(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=5.0)


async def test_entry_exit_and_stop_fills_record_adverse_slippage_against_the_decision(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(model=SLIPPY)
    await rig.tick(R100, 0, 100.0, spread=0.2)  # bid 99.9, ask 100.1
    await rig.engine.on_decision(decision(signal(entry=100.0, stop=98.0, target=106.0, atr=1.5)))
    store = rig.stores.paper

    (entry,) = slip_db.load_samples(store)
    fill_price = 100.1 * (1 + 5 / 10_000)
    assert entry.purpose == "entry" and entry.side == 1 and entry.liquidity == "taker"
    assert entry.ref_price == 100.0 and entry.fill_price == pytest.approx(fill_price)
    assert entry.bps == pytest.approx((fill_price - 100.0) / 100.0 * 1e4)  # adverse: positive
    assert entry.half_spread_bps == pytest.approx(10.0)
    assert entry.excess_bps == pytest.approx(entry.bps - 10.0)
    assert entry.atr == 1.5 and entry.vol_bps == pytest.approx(150.0)
    assert entry.qty == 2.0 and entry.notional == pytest.approx(2.0 * fill_price)
    assert (entry.venue, entry.symbol, entry.wallet_id) == ("sim", "R_100", PAPER_SYN)

    # a manual close: the reference is the mark when the exit was decided (a sell, filled
    # at the bid and slipped below it: adverse, so positive too)
    await rig.tick(R100, 1 * MIN, 101.0, spread=0.2)
    await rig.engine.close_position(PAPER_SYN, R100.key, "test")
    samples = slip_db.load_samples(store)
    assert len(samples) == 2
    exit_ = samples[1]
    sell = 100.9 * (1 - 5 / 10_000)
    assert exit_.purpose == "exit" and exit_.side == -1
    assert exit_.ref_price == 101.0 and exit_.fill_price == pytest.approx(sell)
    assert exit_.bps == pytest.approx((101.0 - sell) / 101.0 * 1e4)
    assert exit_.atr == 1.5  # the entry plan's ATR, looked up from the stored order
    # one sample per stored fill, the same ids
    assert {s.fill_id for s in samples} == {f.fill_id for f in store.load_fills()}

    # a stop: the reference is its level
    await rig.tick(R100, 2 * MIN, 100.0, spread=0.2)
    sig = signal(entry=100.0, stop=99.0, target=104.0, ts_ms=rig.clock.now_ms(), atr=1.0)
    await rig.engine.on_decision(decision(sig))
    await rig.tick(R100, 3 * MIN, 98.5, spread=0.2)
    stop = [s for s in slip_db.load_samples(store) if s.purpose == "stop_loss"]
    assert len(stop) == 1
    assert stop[0].ref_price == 99.0 and stop[0].bps > 0.0
    assert stop[0].fill_price < 99.0


async def test_a_replayed_fill_records_its_slippage_once(make_rig: MakeRig) -> None:
    rig = await make_rig(model=SLIPPY)
    await rig.tick(R100, 0, 100.0, spread=0.2)
    await rig.engine.on_decision(decision(signal()))
    store = rig.stores.paper
    (fill,) = store.load_fills()
    await rig.engine.router.book(PAPER_SYN, [fill])  # the same fill reported again
    assert len(slip_db.load_samples(store)) == 1
    assert store.count("slippage") == store.count("fills") == 1


async def test_a_live_fill_records_its_slippage_in_the_live_database(make_rig: MakeRig) -> None:
    venue = RecordingVenue()
    rig = await make_rig(config=ExecutionConfig(confirm="never"), wallets=(PAPER_SYN,),
                         live={LIVE_SPOT: venue})  # fmt: skip
    btc = signal(BTC_SPOT, entry=60_000.0, stop=59_000.0, target=63_000.0, atr=300.0)
    await rig.engine.on_decision(decision(btc, LIVE_SPOT, 0.01))
    (order,) = venue.submitted
    await venue.fill(order.client_order_id, 0.01, 60_012.0, fee=0.24)
    for _ in range(100):
        if rig.stores.live is not None and slip_db.load_samples(rig.stores.live):
            break
        await asyncio.sleep(0)
    assert rig.stores.live is not None
    (sample,) = slip_db.load_samples(rig.stores.live)
    assert (sample.wallet_id, sample.venue, sample.symbol) == (LIVE_SPOT, "binance", "BTCUSDT")
    assert sample.ref_price == 60_000.0 and sample.bps == pytest.approx(2.0)
    assert sample.vol_bps == pytest.approx(50.0) and sample.notional == pytest.approx(600.12)
    assert slip_db.load_samples(rig.stores.paper) == []  # live rows never touch paper.db


async def test_flatten_fills_record_slippage_against_the_mark(make_rig: MakeRig) -> None:
    rig = await make_rig(model=SLIPPY)
    await rig.tick(R100, 0, 100.0, spread=0.2)
    await rig.engine.on_decision(decision(signal(entry=100.0, stop=98.0, target=106.0)))
    await rig.tick(R100, 1 * MIN, 102.0, spread=0.2)
    await rig.engine.flatten_all(by="test")
    flat = [s for s in slip_db.load_samples(rig.stores.paper) if s.purpose == "flatten"]
    assert len(flat) == 1
    sell = 101.9 * (1 - 5 / 10_000)
    assert flat[0].ref_price == 102.0 and flat[0].fill_price == pytest.approx(sell)
    assert flat[0].bps == pytest.approx((102.0 - sell) / 102.0 * 1e4)
