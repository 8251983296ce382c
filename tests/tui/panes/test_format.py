"""How numbers and times read on every pane: signs on PnL, market decimals, UTC clock, ages."""

from __future__ import annotations

import math

import pytest

from tests.tui.panes.conftest import NOW
from tradeterm.tui.panes.format import (
    MISSING,
    fmt_age,
    fmt_clock,
    fmt_level,
    fmt_pct,
    fmt_pct_points,
    fmt_price,
    fmt_qty,
    fmt_signed,
    fmt_ttl,
    row_decimals,
    truncate,
)


def test_prices_keep_the_market_decimals_and_separate_thousands() -> None:
    assert fmt_price(1.084321, 5) == "1.08432"
    assert fmt_price(64250.5, 2) == "64,250.50"
    assert fmt_price(0.000123) == "0.000123"
    assert fmt_price(math.nan) == MISSING


def test_prices_side_by_side_share_the_decimals_of_the_largest() -> None:
    places = row_decimals(101.0, 95.0, 0.0)
    assert (fmt_price(101.0, places), fmt_level(95.0, places)) == ("101.00", "95.00")


def test_an_unset_stop_reads_as_a_dash() -> None:
    assert fmt_level(0.0) == MISSING


def test_pnl_always_carries_its_sign() -> None:
    assert fmt_signed(3.214) == "+3.21"
    assert fmt_signed(-0.5) == "-0.50"
    assert fmt_signed(-0.001) == "+0.00"


def test_percentages_have_one_decimal() -> None:
    assert fmt_pct(0.0312) == "3.1%"
    assert fmt_pct(0.0312, signed=True) == "+3.1%"
    assert fmt_pct_points(-1.26) == "-1.3%"


def test_quantities_drop_trailing_zeros() -> None:
    assert fmt_qty(3.0) == "3"
    assert fmt_qty(0.0125) == "0.0125"
    assert fmt_qty(1250.0) == "1,250"


def test_clock_is_utc() -> None:
    assert fmt_clock(NOW) == "14:26:07"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (42, "42s"),
        (192, "3m12s"),
        (7500, "2h05m"),
        (3 * 86400 + 4 * 3600, "3d04h"),
        (math.nan, MISSING),
    ],
)
def test_ages_read_like_a_stopwatch(seconds: float, text: str) -> None:
    assert fmt_age(seconds) == text


def test_ttl_counts_whole_seconds_then_says_expired() -> None:
    assert fmt_ttl(41.2) == "42s"
    assert fmt_ttl(0.0) == "expired"
    assert fmt_ttl(-3.0) == "expired"


def test_truncation_marks_the_cut() -> None:
    assert truncate("reward:risk below minimum", 10) == "reward:ri…"
    assert truncate("short", 10) == "short"
