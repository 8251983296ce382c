"""Bybit's fee tier through ccxt (v5 account/fee-rate) against the Bybit simulator over
loopback, and `costs.fees = "venue"` pricing trades with it instead of the config's rates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tradeterm.clock import SimClock
from tradeterm.config.models import BybitVenueConfig, CostsConfig
from tradeterm.domain.costs import CostModel
from tradeterm.execution.slippage import SlippageBook
from tradeterm.storage.db import Storage
from tradeterm.venues.crypto.factory import build_bybit
from tradeterm.venues.sim.servers.binance import BinanceSimOptions
from tradeterm.venues.sim.servers.bybit import BybitSim

KEY, SECRET = "bybit-key", "bybit-secret"
TAKER, MAKER = 0.0004, 0.0001
"""The simulated account's tier: not ccxt's defaults for Bybit linear (0.06% / 0.01%)."""


@pytest.fixture
async def sim() -> AsyncIterator[tuple[BybitSim, str, str]]:
    server = BybitSim(BinanceSimOptions(speed=60.0, history_days=1, api_key=KEY,
                                        api_secret=SECRET, taker_fee=TAKER, maker_fee=MAKER))  # fmt: skip
    rest, ws = await server.start()
    yield server, rest, ws
    await server.stop()


async def test_fee_tier_from_the_venue_prices_the_pair(
    sim: tuple[BybitSim, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, rest, ws = sim
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)
    handle = build_bybit("bybit", BybitVenueConfig(rest_url=rest, ws_url=ws))
    assert handle.fee_rates is not None and handle.load_fees is not None
    try:
        await handle.data.connect()
        assert handle.fee_rates("BTCUSDT") == (0.0001, 0.0006)  # ccxt's market defaults
        assert await handle.load_fees([]) == len(server.markets)
        assert ("GET", "/v5/account/fee-rate") in server.requests
        assert handle.fee_rates("BTCUSDT") == (MAKER, TAKER)
        assert handle.fee_rates("BTC/USDT:USDT") == (MAKER, TAKER)

        def rates(_venue: str, symbol: str) -> tuple[float, float] | None:
            assert handle.fee_rates is not None
            return handle.fee_rates(symbol)

        store = Storage(":memory:")
        configured = CostModel(taker_fee_rate=0.00055, maker_fee_rate=0.0002)
        venue_fees = SlippageBook(CostsConfig(fees="venue"), SimClock(0), [store], fee_rates=rates)
        priced = venue_fees.cost_model("bybit", "BTCUSDT", configured)
        assert (priced.taker_fee_rate, priced.maker_fee_rate) == (TAKER, MAKER)
        config_fees = SlippageBook(CostsConfig(), SimClock(0), [store], fee_rates=rates)
        assert config_fees.cost_model("bybit", "BTCUSDT", configured) == configured
        fm = venue_fees.fill_model("bybit", "BTCUSDT", BybitVenueConfig().fill_model)
        assert fm is not None and (fm.taker_fee_rate, fm.maker_fee_rate) == (TAKER, MAKER)
        store.close()
    finally:
        assert handle.close is not None
        await handle.close()  # type: ignore[misc]
