"""Real market series the indicator tests run on, and the twin-comparison helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import load_shared_bars
from tradeterm.domain.series import BarSeries

#: Series every parity test runs on: 5m crypto futures, a 1m spot altcoin (flat stretches,
#: prices near 0.0016, gaps) and 20 years of daily equity bars.
SERIES = ("btc_5m", "eth_5m", "unittest_btc_1m", "xrp_eth_1m", "orcl_daily")


@pytest.fixture(scope="session")
def unittest_btc_1m(shared_data: Path) -> BarSeries:
    """13,681 real 1-minute spot bars of an altcoin/BTC pair (Nov 2017), quoted near 0.0016."""
    return load_shared_bars(shared_data / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv")


@pytest.fixture(scope="session")
def xrp_eth_1m(shared_data: Path) -> BarSeries:
    """2,469 real 1-minute XRP/ETH spot bars (Oct 2019), quoted near 0.0014."""
    return load_shared_bars(shared_data / "crypto" / "spot_XRPETH_1m_2019-10.csv")


@pytest.fixture(params=SERIES)
def bars(request: pytest.FixtureRequest) -> BarSeries:
    """Each real series in turn."""
    series: BarSeries = request.getfixturevalue(request.param)
    return series


def assert_twins(
    actual: npt.NDArray[np.float64], expected: npt.NDArray[np.float64], what: str
) -> None:
    """Same length, NaN at exactly the same bars, values equal within 1e-9 relative."""
    assert actual.dtype == np.float64, what
    assert actual.shape == expected.shape, what
    np.testing.assert_array_equal(
        np.isnan(actual), np.isnan(expected), err_msg=f"{what}: warm-up / NaN bars differ"
    )
    known = ~np.isnan(expected)
    np.testing.assert_allclose(actual[known], expected[known], rtol=1e-9, atol=1e-12, err_msg=what)
