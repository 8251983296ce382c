"""Flatten-all: nothing happens until FLATTEN is typed exactly; the result names every failure."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Button, Input

from tests.tui.screens.kit import SIZES, Host, clear_input, screen_text, type_text
from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.orders import Order
from tradeterm.execution.flatten import (
    FlattenPreview,
    FlattenReport,
    PositionToClose,
    VenueFlattenResult,
    WalletFlattenPreview,
)
from tradeterm.tui.screens import FlattenModal, FlattenResultModal

T0 = 1_700_000_000_000


def _preview(extra_positions: int = 0) -> FlattenPreview:
    syn = tuple(
        PositionToClose("paper:synthetics", f"deriv_sim:R_{i}", Side.BUY, 2.0, 101.0, 1.96, 0.2)
        for i in (10, *range(11, 11 + extra_positions))
    )
    entry = Order(
        "c1", "paper:synthetics", "deriv_sim", "R_100", Side.BUY, OrderType.LIMIT, 1.0, T0, 99.0
    )
    btc = PositionToClose(
        "live:crypto_spot", "binance:BTCUSDT", Side.SELL, 0.01, 60_000.0, -12.5, 0.6
    )
    return FlattenPreview(
        (
            WalletFlattenPreview("paper:synthetics", syn, (entry,), 1, 0.2 * len(syn)),
            WalletFlattenPreview("live:crypto_spot", (btc,), (), 0, 0.6),
        ),
        T0,
    )


@pytest.mark.parametrize("size", SIZES)
async def test_preview_lists_what_will_be_closed_and_cancelled_per_wallet(
    size: tuple[int, int],
) -> None:
    app = Host(FlattenModal(_preview(), currency="USD"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "FLATTEN EVERYTHING" in text
        assert "paper:synthetics [PAPER] est. cost 0.20 USD" in text
        assert "long 2 deriv_sim:R_10 101.00 +1.96 0.20" in text
        assert "cancel BUY 1 deriv_sim:R_100 limit @ 99.00 (entry order)" in text
        assert "cancel 1 pending confirmation" in text
        assert "live:crypto_spot [LIVE] est. cost 0.60 USD" in text
        assert "60,000.00 -12.50 0.60" in text
        assert (
            "Total estimated cost 0.80 USD: close 2 positions, cancel 1 order and 1 confirmation"
            in text
        )
        assert "not armed: type FLATTEN" in text


@pytest.mark.parametrize("size", SIZES)
async def test_stays_disarmed_until_flatten_typed_exactly_then_enter_confirms(
    size: tuple[int, int],
) -> None:
    modal = FlattenModal(_preview())
    app = Host(modal)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        button = modal.query_one("#flatten", Button)

        async def assert_disarmed() -> None:
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is modal and app.results == []
            assert button.disabled
            assert "ARMED" not in screen_text(app)

        await type_text(pilot, "flatten")  # lower case does not arm
        await assert_disarmed()
        await clear_input(pilot)
        await type_text(pilot, "FLATTE")
        await assert_disarmed()
        await type_text(pilot, "N ")  # "FLATTEN " (trailing space) does not arm either
        await assert_disarmed()
        await pilot.press("backspace")
        await pilot.pause()
        assert not button.disabled
        assert "ARMED: enter flattens all" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [True]


async def test_the_flatten_button_confirms_once_armed_from_the_keyboard() -> None:
    app = Host(FlattenModal(_preview()))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "FLATTEN")
        await pilot.press("tab")  # from the input to the Flatten button
        await pilot.pause()
        assert isinstance(app.focused, Button)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [True]


@pytest.mark.parametrize("size", SIZES)
async def test_escape_cancels_even_when_armed(size: tuple[int, int]) -> None:
    app = Host(FlattenModal(_preview()))
    async with app.run_test(size=size) as pilot:
        await type_text(pilot, "FLATTEN")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False]


async def test_arming_input_stays_on_screen_with_a_long_preview_at_80x24() -> None:
    modal = FlattenModal(_preview(extra_positions=20))
    app = Host(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        visible = Region(0, 0, 80, 24)
        for selector in ("#arm", "#arm-state", "#flatten"):
            assert visible.contains_region(modal.query_one(selector).region), selector
        assert isinstance(app.focused, Input)  # typing goes straight to the arming input
        assert "close 22 positions" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["enter", "escape"])
async def test_empty_preview_says_nothing_open_and_just_closes(
    size: tuple[int, int], key: str
) -> None:
    modal = FlattenModal(FlattenPreview((), T0))
    app = Host(modal)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert "Nothing open: no positions, orders or confirmations" in screen_text(app)
        assert not modal.query(Input)
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [False]


def _report() -> FlattenReport:
    return FlattenReport(
        "console",
        T0,
        (
            VenueFlattenResult(
                "binance",
                1,
                0,
                ("live:crypto_spot binance:BTCUSDT not closed (rejected: margin)",),
                0.0,
            ),
            VenueFlattenResult("deriv_sim", 2, 3, ("cancel c7: unknown order",), 4.5),
        ),
        cancelled_confirmations=2,
    )


@pytest.mark.parametrize("size", SIZES)
async def test_result_names_every_failure_on_its_own_line(size: tuple[int, int]) -> None:
    app = Host(FlattenResultModal(_report()))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "NOT all flat: 2 failures" in text
        assert "binance: cancelled 1 order, closed 0 positions, realised PnL +0.00" in text
        assert "deriv_sim: cancelled 2 orders, closed 3 positions, realised PnL +4.50" in text
        assert "FAILED: live:crypto_spot binance:BTCUSDT not closed (rejected: margin)" in text
        assert "FAILED: cancel c7: unknown order" in text
        assert "cancelled 2 pending confirmations" in text
        assert "by console at 22:13:20 UTC" in text
        assert text.count("FAILED:") == 2
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [None]


async def test_result_says_all_flat_when_nothing_failed_and_escape_closes() -> None:
    report = FlattenReport("console", T0, (VenueFlattenResult("deriv_sim", 1, 2, (), -3.25),))
    app = Host(FlattenResultModal(report))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "All flat" in text and "NOT all flat" not in text and "FAILED" not in text
        assert "realised PnL -3.25" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
