"""Fixed golden numbers on fixed real data, checked against both TA-Lib and our kernels.

If a TA-Lib upgrade (or a kernel edit) changes what a strategy sees, one of these fails and
the change has to be looked at, rather than silently shifting backtests and live signals.
Values were computed once with TA-Lib 0.8.1 and written down to 10 significant digits.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

import tradeterm.indicators as ind
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import talib_

COLUMNS = {"h": "high", "l": "low", "c": "close"}

# series fixture, function (same name in both modules), columns, period, output, bar, value
GOLDEN: list[tuple[str, str, str, int | None, int | None, int, float]] = [
    ("orcl_daily", "rsi", "c", 14, None, 14, 50.60242375),
    ("orcl_daily", "rsi", "c", 14, None, 1000, 61.92788572),
    ("orcl_daily", "rsi", "c", 14, None, 5035, 62.25504763),
    ("orcl_daily", "ema", "c", 50, None, 3000, 18.34654402),
    ("orcl_daily", "sma", "c", 200, None, 3000, 15.36825),
    ("btc_5m", "atr", "hlc", 14, None, 4000, 162.8451338),
    ("btc_5m", "adx", "hlc", 14, None, 4000, 22.49300057),
    ("btc_5m", "plus_di", "hlc", 14, None, 4000, 16.01518365),
    ("btc_5m", "minus_di", "hlc", 14, None, 4000, 23.28653701),
    ("btc_5m", "bbands", "c", 20, 0, 4000, 66221.55355),
    ("btc_5m", "bbands", "c", 20, 1, 4000, 65975.385),
    ("btc_5m", "bbands", "c", 20, 2, 4000, 65729.21645),
    ("btc_5m", "zscore", "c", 20, None, 4000, 0.4169094777),
    ("btc_5m", "donchian", "hl", 20, 0, 4000, 66195.1),
    ("btc_5m", "donchian", "hl", 20, 1, 4000, 65702.8),
    ("btc_5m", "true_range", "hlc", None, None, 4000, 128.7),
]


def _value(
    module: ModuleType, bars: BarSeries, spec: tuple[str, str, int | None, int | None]
) -> float:
    name, columns, n, output = spec
    args = [getattr(bars, COLUMNS[c]) for c in columns]
    result = getattr(module, name)(*args) if n is None else getattr(module, name)(*args, n)
    series = result if output is None else result[output]
    return float(np.asarray(series)[-1])


@pytest.mark.parametrize(
    ("series", "name", "columns", "n", "output", "bar", "value"),
    GOLDEN,
    ids=[f"{g[0]}-{g[1]}({g[3]})[{g[4]}]@{g[5]}" for g in GOLDEN],
)
def test_golden_value(
    request: pytest.FixtureRequest,
    series: str,
    name: str,
    columns: str,
    n: int | None,
    output: int | None,
    bar: int,
    value: float,
) -> None:
    bars: BarSeries = request.getfixturevalue(series).slice(slice(0, bar + 1))
    spec = (name, columns, n, output)
    assert _value(talib_, bars, spec) == pytest.approx(value, rel=1e-9), "TA-Lib moved"
    assert _value(ind, bars, spec) == pytest.approx(value, rel=1e-9), "our kernel moved"


def test_orcl_daily_has_838_narrow_range_7_bars(orcl_daily: BarSeries) -> None:
    b = orcl_daily
    assert np.nansum(ind.nr7(b.high, b.low)) == 838
    assert np.nansum(talib_.nr7_reference(b.high, b.low)) == 838
