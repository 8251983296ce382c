"""The wide multi-symbol loader: one axis, NaN where a symbol has no bar, nothing filled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.integration.parity_kit import SHARED
from tradeterm.errors import UserError
from tradeterm.marketdata.importer import read_bar_file
from tradeterm.marketdata.store import CandleStore
from tradeterm.marketdata.wide import load_wide

CRYPTO = SHARED / "crypto"


def test_portfolio_aligned_on_the_union_of_times(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    btc = read_bar_file(CRYPTO / "usdm_BTCUSDT_1h_2024-02.csv", "1h")
    eth = read_bar_file(CRYPTO / "usdm_ETHUSDT_1h_2024-02.csv", "1h")
    xrp = read_bar_file(CRYPTO / "usdm_XRPUSDT_1h_2021-11.csv", "1h")  # another month entirely
    eth_gap = eth.slice(slice(0, 10))
    store.write("binance_futures", "BTCUSDT", "1h", btc)
    store.write("bybit", "ETHUSDT", "1h", eth_gap)
    store.write("binance_futures", "XRPUSDT", "1h", xrp)
    frame = load_wide(store, ["BTCUSDT", "ETHUSDT", "XRPUSDT"], "1h")
    assert frame.symbols == ("BTCUSDT", "ETHUSDT", "XRPUSDT")
    assert frame.ts.shape[0] == len(
        np.unique(np.concatenate([btc.open_ms, eth_gap.open_ms, xrp.open_ms]))
    )
    assert bool((np.diff(frame.ts) > 0).all())
    j = frame.column("ETHUSDT")
    assert int(np.isfinite(frame.close[:, j]).sum()) == 10  # nothing filled
    row = int(np.searchsorted(frame.ts, btc.open_ms[5]))
    assert frame.close[row, frame.column("BTCUSDT")] == btc.close[5]
    assert frame.close[row, j] == eth.close[5]
    assert np.isnan(frame.close[row, frame.column("XRPUSDT")])
    assert int(frame.complete_rows().sum()) == 0  # XRP never overlaps BTC/ETH
    back = frame.series("BTCUSDT")
    assert np.array_equal(back.open_ms, btc.open_ms) and np.array_equal(back.close, btc.close)
    with pytest.raises(UserError, match="LTCUSDT: no 1h bars"):
        load_wide(store, ["LTCUSDT"], "1h")
    store.write("bybit", "BTCUSDT", "1h", btc)
    with pytest.raises(UserError, match="several venues"):
        load_wide(store, ["BTCUSDT"], "1h")
    assert load_wide(store, ["BTCUSDT"], "1h", venue="bybit").ts.shape[0] == len(btc)
