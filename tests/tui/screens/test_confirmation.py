"""Confirmation detail: the whole intent, a countdown on the injected clock, y / n / escape."""

from __future__ import annotations

import pytest

from tests.tui.screens.kit import SIZES, Host, screen_text, until
from tradeterm.clock import SimClock
from tradeterm.tui.screens import ConfirmationDetail
from tradeterm.tui.views import ConfirmationRow

T0 = 1_700_000_000_000


def _row(**changes: object) -> ConfirmationRow:
    values: dict[str, object] = dict(
        id="cf-1",
        wallet_id="live:crypto_spot",
        symbol="binance:BTCUSDT",
        side="buy",
        qty=0.05,
        entry=60_000.0,
        stop_loss=59_400.0,
        take_profit=61_200.0,
        reward_risk=2.0,
        strategy="ema_cross",
        created_ms=T0,
        expires_ms=T0 + 90_000,
        reasons="resized to the pair exposure cap",
        notional=3_000.0,
        risk_amount=30.0,
        explore=True,
        canary=True,
    )
    values.update(changes)
    return ConfirmationRow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", SIZES)
async def test_detail_shows_the_whole_intent_and_time_left(size: tuple[int, int]) -> None:
    clock = SimClock(T0)
    app = Host(ConfirmationDetail(_row(), clock.now_ms))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "BUY 0.05 binance:BTCUSDT [LIVE]" in text
        for line in (
            "Wallet live:crypto_spot [LIVE]",
            "Strategy ema_cross",
            "Entry 60,000.00",
            "Stop loss 59,400.00",
            "Take profit 61,200.00",
            "Reward:risk 2.00",
            "Notional 3,000.00",
            "Risk amount 30.00",
            "Flags explore, canary",
            "Risk notes resized to the pair exposure cap",
        ):
            assert line in text, line
        assert "expires in 1m30s" in text
        assert "y approve · n reject" in text


async def test_countdown_follows_the_clock() -> None:
    clock = SimClock(T0)
    app = Host(ConfirmationDetail(_row(), clock.now_ms))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        clock.set_time(T0 + 78_500)
        assert await until(pilot, lambda: "expires in 12s" in screen_text(app), timeout_s=30)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("key", "decision"), [("y", "approve"), ("n", "reject"), ("escape", None)])
async def test_keys_decide(size: tuple[int, int], key: str, decision: str | None) -> None:
    clock = SimClock(T0)
    app = Host(ConfirmationDetail(_row(), clock.now_ms))
    async with app.run_test(size=size) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [decision]


@pytest.mark.parametrize("size", SIZES)
async def test_expired_confirmation_cannot_be_approved(size: tuple[int, int]) -> None:
    clock = SimClock(T0)
    detail = ConfirmationDetail(_row(), clock.now_ms)
    app = Host(detail)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        clock.set_time(T0 + 90_000)
        await pilot.press("y")  # pressed before the countdown redrew: still refused
        await pilot.pause()
        assert app.results == []
        assert app.screen is detail
        text = screen_text(app)
        assert "EXPIRED" in text and "expires in" not in text
        assert "y does nothing" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_expiry_shows_without_a_key_press() -> None:
    clock = SimClock(T0)
    app = Host(ConfirmationDetail(_row(expires_ms=T0 + 5_000), clock.now_ms))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "expires in 5s" in screen_text(app)
        clock.set_time(T0 + 6_000)
        assert await until(pilot, lambda: "EXPIRED" in screen_text(app), timeout_s=30)


async def test_paper_intent_without_flags_reads_plainly() -> None:
    clock = SimClock(T0)
    row = _row(wallet_id="paper:synthetics", side="sell", symbol="deriv_sim:R_100", qty=2.0,
               entry=1.08523, explore=False, canary=False, reasons="ok")  # fmt: skip
    app = Host(ConfirmationDetail(row, clock.now_ms))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "SELL 2 deriv_sim:R_100 [PAPER]" in text
        assert "Entry 1.0852" in text
        assert "Flags none" in text
        assert "Risk notes ok" in text


def test_the_details_carry_costs_mark_and_net_reward_risk() -> None:
    from tradeterm.tui.screens.confirmation import detail_lines
    from tradeterm.tui.views import ConfirmationCosts, ConfirmationRow

    costs = ConfirmationCosts(100.2, 0.6, 0.3, 0.2, 0.05, 1.15, 0.12, 2.4)
    row = ConfirmationRow(
        "c1",
        "paper:synthetics",
        "R_100",
        "buy",
        1.0,
        100.0,
        99.0,
        103.0,
        3.0,
        "ema_trend",
        0,
        60_000,
        "ok",
        timeframe="15s",
        mark=100.5,
        costs=costs,
    )
    lines = dict(detail_lines(row))
    assert lines["Mark now"] == "100.50 (+0.5 vs entry: worse for a BUY)"
    assert lines["Fees"] == "0.60" and lines["Spread"] == "0.30" and lines["Slippage"] == "0.20"
    assert lines["Costs total"] == "1.15  (0.12R)"
    assert lines["Net reward:risk"] == "2.40 after costs (gross 3.00)"
    assert lines["Strategy"] == "ema_trend  on 15s bars"
    unpriced = dict(
        detail_lines(
            ConfirmationRow(
                "c2",
                "paper:synthetics",
                "R_100",
                "sell",
                1.0,
                100.0,
                101.0,
                97.0,
                3.0,
                "x",
                0,
                1,
                "ok",
            )
        )
    )
    assert unpriced["Costs"] == "not priced by the risk gate"
    assert unpriced["Mark now"] == "no price yet"
