"""Every entry rule of the risk engine, with the issue's numbers: $1,000 wallet, 5% risk (2% for a
canary), 15% pair / 30% portfolio exposure, reward:risk 3, 6% daily and 3% per-symbol loss caps,
3 losses -> 60 minutes' rest, no martingale, stop width in ATRs, weekend cut-off, balance,
leverage, lot rounding and Kelly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradeterm.clock import SimClock, datetime_to_ms
from tradeterm.domain.enums import RiskVerdict, Side
from tradeterm.risk import RiskEngine

from .kit import (
    ARM,
    WALLET_ID,
    Book,
    Canaries,
    closed,
    intent,
    make_engine,
    signal,
    wide,
)


@pytest.fixture
def book() -> Book:
    b = Book()
    b.fund(1000.0)
    return b


def test_five_percent_risk_on_a_two_percent_stop_is_cut_to_the_pair_cap(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    # 5% of $1,000 = $50 over a 2.00 stop wants 25 units ($2,500); 15% of equity allows $150
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.qty == pytest.approx(1.5)
    assert decision.notional == pytest.approx(150.0)
    assert decision.risk_amount == pytest.approx(3.0)
    assert decision.reasons[0].startswith("pair exposure cap 15% on sim:R_100")
    assert "2500.00 -> 150.00" in decision.reasons[0]
    assert decision.id.startswith("rd-") and not decision.canary


def test_a_size_that_fits_every_cap_is_approved_with_full_risk(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide()))
    assert decision.verdict is RiskVerdict.APPROVED
    assert decision.reasons == () and decision.reason_text == "ok"
    assert decision.qty == pytest.approx(1.25)
    assert decision.risk_amount == pytest.approx(50.0)
    assert decision.risk_fraction == pytest.approx(0.05)


def test_a_canary_wallet_risks_two_percent(book: Book) -> None:
    engine, _ = make_engine(book, canary=Canaries(WALLET_ID))
    decision = engine.evaluate(intent(wide()))
    assert decision.canary
    assert decision.risk_amount == pytest.approx(20.0)
    assert decision.qty == pytest.approx(0.5)
    other, _ = make_engine(book, canary=Canaries("live:synthetics"))
    assert not other.evaluate(intent(wide())).canary


def test_exploration_trades_risk_the_canary_fraction(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide(), explore=True))
    assert decision.canary and decision.risk_amount == pytest.approx(20.0)


def test_portfolio_cap_of_30_percent_with_two_open_positions(book: Book) -> None:
    book.hold("R_50", 1.5, 100.0)  # $150 open
    book.hold("R_75", 1.0, 100.0)  # $100 open
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide()))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.notional == pytest.approx(50.0)  # $300 cap - $250 open
    assert decision.reasons[0].startswith("portfolio exposure cap 30%")
    book.hold("R_50", 0.5, 100.0)  # now $300 open: no room at all
    full = engine.evaluate(intent(wide()))
    assert full.verdict is RiskVerdict.DENIED
    assert full.reasons[0].startswith("portfolio exposure cap 30%")


def test_pair_cap_counts_the_open_position_on_the_same_market(book: Book) -> None:
    book.hold("R_100", 1.0, 100.0, mark=110.0)  # $110 at the mark
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide()))
    # 15% of $1,010 equity = $151.50, $110 already open: $41.50 of room, 0.41 units at 100
    assert decision.qty == pytest.approx(0.41)


@pytest.mark.parametrize(("target", "approved"), [(105.8, False), (106.0, True)])
def test_reward_risk_below_three_is_denied(book: Book, target: float, approved: bool) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, target)))
    assert decision.approved is approved
    if not approved:
        assert decision.reasons == ("reward:risk 2.90 < 3",)


def test_inconsistent_signal_lists_every_failure_first_one_first(book: Book) -> None:
    engine, _ = make_engine(book)
    bad = signal(100.0, 101.0, 99.5, side=Side.BUY)
    decision = engine.evaluate(intent(bad))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons[0] == "stop 101 is not below entry 100 on a long"
    assert decision.reasons[1] == "reward:risk 0.50 < 3"


@pytest.mark.parametrize(("atr", "approved"), [(1.0, False), (1.25, True)])
def test_stop_wider_than_four_atr_is_denied(book: Book, atr: float, approved: bool) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 95.0, 115.0, atr=atr)))
    assert decision.approved is approved
    if not approved:
        assert decision.reasons == ("stop 5.0 ATR wide > max 4 ATR",)


@pytest.mark.parametrize(("equity", "approved"), [(940.0, False), (941.0, True)])
def test_daily_loss_cap_at_six_percent(equity: float, approved: bool) -> None:
    book = Book()
    book.fund(equity, day_start=1000.0, peak=1000.0)
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide()))
    assert decision.approved is approved
    if not approved:
        assert decision.reasons == ("daily loss cap: -6% of day-start equity <= -6%",)


def test_symbol_loss_cap_stops_that_market_for_the_day(book: Book) -> None:
    engine, clock = make_engine(book)
    engine.on_trade_closed(closed(-20.0, n=1))
    assert engine.evaluate(intent(wide())).approved  # 2% lost: still allowed
    engine.on_trade_closed(closed(-10.0, n=2))
    denied = engine.evaluate(intent(wide()))
    assert denied.reasons == ("symbol loss cap: sim:R_100 lost 3% of equity today >= 3%",)
    assert engine.evaluate(intent(wide(symbol="R_50"))).approved
    midnight = datetime_to_ms(datetime(2024, 3, 7, tzinfo=UTC))
    assert engine.cooldowns()["sim:R_100"] == midnight
    clock.set_time(midnight)
    assert engine.evaluate(intent(wide())).approved
    assert "sim:R_100" not in engine.cooldowns()


async def test_three_losses_rest_the_arm_for_sixty_minutes(book: Book) -> None:
    engine, clock = make_engine(book)
    for n in range(3):
        engine.on_trade_closed(closed(-1.0, n=n))
    denied = engine.evaluate(intent(wide()))
    assert denied.reasons == (f"cooldown: 3 losses on {ARM} until 13:00 UTC",)
    assert engine.cooldowns()[ARM] == clock.now_ms() + 3_600_000
    assert engine.evaluate(intent(wide(symbol="R_50"))).approved  # other arms trade
    await clock.advance(59 * 60)
    assert not engine.evaluate(intent(wide())).approved
    await clock.advance(60)
    assert engine.evaluate(intent(wide())).approved
    assert ARM not in engine.cooldowns()


def test_a_win_breaks_the_loss_streak(book: Book) -> None:
    engine, _ = make_engine(book)
    for pnl in (-1.0, -1.0, 2.0, -1.0, -1.0):
        engine.on_trade_closed(closed(pnl))
    assert engine.evaluate(intent(wide())).approved


def test_no_martingale_after_a_loss_even_when_equity_rose() -> None:
    book = Book()
    book.fund(1000.0)
    engine, _ = make_engine(book)
    first = engine.evaluate(intent(wide()))
    assert first.risk_amount == pytest.approx(50.0)
    engine.on_trade_closed(closed(-10.0))
    book.fund(2000.0)  # equity doubled (deposit, other wins): 5% would now be $100
    after_loss = engine.evaluate(intent(wide(), n=2))
    assert after_loss.verdict is RiskVerdict.RESIZED
    assert after_loss.risk_amount == pytest.approx(50.0)
    assert after_loss.reasons[0].startswith("no martingale: risk 100.00 -> 50.00")
    engine.on_trade_closed(closed(30.0))  # a win lifts the restriction
    after_win = engine.evaluate(intent(wide(), n=3))
    assert after_win.verdict is RiskVerdict.APPROVED
    assert after_win.risk_amount == pytest.approx(100.0)


def test_a_loss_on_a_cap_limited_trade_does_not_pin_the_arm_below_the_venue_minimum(
    book: Book,
) -> None:
    # The pair cap shrinks a 5% / 2% stop trade to $3 of risk; after it loses, the next trade is
    # sized at 5% of the (lower) equity again and capped the same way: the arm keeps trading.
    engine, _ = make_engine(book)
    first = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert first.risk_amount == pytest.approx(3.0)
    engine.on_trade_closed(closed(-3.0))
    book.fund(997.0)
    again = engine.evaluate(intent(signal(100.0, 98.0, 106.0), n=2))
    assert again.approved
    assert again.qty == pytest.approx(1.49)  # 15% of $997 at $100, lot 0.01
    assert not any(r.startswith("no martingale") for r in again.reasons)


@pytest.mark.parametrize(
    ("when", "approved"),
    [
        (datetime(2024, 3, 8, 19, 59, tzinfo=UTC), True),
        (datetime(2024, 3, 8, 20, 0, tzinfo=UTC), False),
        (datetime(2024, 3, 10, 23, 0, tzinfo=UTC), False),
        (datetime(2024, 3, 11, 0, 0, tzinfo=UTC), True),
    ],
)
def test_weekend_cutoff_blocks_entries(book: Book, when: datetime, approved: bool) -> None:
    engine, _ = make_engine(book, clock=SimClock(datetime_to_ms(when)), avoid_weekend_carry=True)
    decision = engine.evaluate(intent(wide()))
    assert decision.approved is approved
    assert engine.weekend_exit_due(datetime_to_ms(when)) is not approved
    if not approved:
        assert decision.reasons == ("weekend: no entries from Fri 20:00 UTC until Mon 00:00 UTC",)


def test_weekend_carry_is_allowed_when_not_configured(book: Book) -> None:
    saturday = datetime_to_ms(datetime(2024, 3, 9, 12, 0, tzinfo=UTC))
    engine, _ = make_engine(book, clock=SimClock(saturday))
    assert engine.evaluate(intent(wide())).approved
    assert not engine.weekend_exit_due(saturday)


def test_max_open_positions_per_wallet(book: Book) -> None:
    book.hold("R_50", 0.1, 100.0)
    book.hold("R_100", 0.1, 100.0)
    engine, _ = make_engine(book, max_open_positions=2)
    denied = engine.evaluate(intent(wide(symbol="R_75")))
    assert denied.reasons == ("max open positions: 2 of 2 already open",)
    assert engine.evaluate(intent(wide())).approved  # adds to the open R_100 position


def levered(book: Book) -> RiskEngine:
    """Caps loose enough that only the wallet balance binds."""
    engine, _ = make_engine(
        book, max_pair_exposure=5.0, max_portfolio_exposure=20.0, max_leverage=10.0
    )
    return engine


def test_insufficient_balance_is_denied(book: Book) -> None:
    book.hold("R_50", 10.0, 100.0)  # a synthetic ties up its full $1,000 notional
    engine = levered(book)
    decision = engine.evaluate(intent(signal(symbol="BTCUSDT")))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons == (
        "insufficient balance: free 0.00 of balance 1000.00 (open positions tie up 1000.00)",
    )


def test_order_is_shrunk_to_the_free_balance_with_its_fee(book: Book) -> None:
    book.hold("R_50", 9.5, 100.0)  # $50 left free
    engine = levered(book)
    decision = engine.evaluate(intent(signal(symbol="BTCUSDT")))
    # 25 units at 10x need $250 margin + $1.25 taker fee; $50 buys 50 / (10 + 0.05) units
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.qty == pytest.approx(4.975)
    assert decision.reasons == ("balance: needs 251.25, free 50.00 of balance 1000.00",)


def test_leverage_cap() -> None:
    book = Book()
    book.fund(1000.0, day_start=850.0)
    book.hold("ETHUSDT", 15.0, 100.0, mark=90.0)  # $1,350 open on a perp, $150 under water
    engine, _ = make_engine(
        book, max_pair_exposure=5.0, max_portfolio_exposure=10.0, max_leverage=2.0
    )
    decision = engine.evaluate(intent(signal(symbol="BTCUSDT")))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.notional == pytest.approx(350.0)  # 2 x $850 equity - $1,350
    assert decision.reasons == (
        "leverage cap 2x: notional 2125.00 -> 350.00 (open 1350.00, equity 850.00)",
    )


def test_quantity_rounds_down_to_the_lot_step(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 55.0, 235.0, atr=12.0)))
    assert decision.verdict is RiskVerdict.APPROVED  # rounding is not a resize
    assert decision.qty == pytest.approx(1.11)  # 50 / 45 = 1.111.. down to the 0.01 lot
    assert decision.risk_amount == pytest.approx(49.95)


def test_size_below_the_venue_minimum_is_denied() -> None:
    book = Book()
    book.fund(3.6)
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 55.0, 235.0, atr=12.0)))
    # 5% of $3.60 over a 45.00 stop is 0.004 units; the venue's lot is 0.01
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons == ("size 0.004 below venue minimum 0.01",)


def test_kelly_caps_risk_once_the_arm_has_twenty_trades(book: Book) -> None:
    engine, _ = make_engine(book)
    young = engine.evaluate(intent(wide(), win_rate=0.4, payoff=2.0, arm_trades=19))
    assert young.risk_amount == pytest.approx(50.0)
    proven = engine.evaluate(intent(wide(), win_rate=0.4, payoff=2.0, arm_trades=20))
    # f* = 0.4 - 0.6 / 2 = 0.1; a quarter Kelly is 2.5% of equity: $25 over 40.00 = 0.625 units
    assert proven.verdict is RiskVerdict.RESIZED
    assert proven.qty == pytest.approx(0.62)
    assert proven.reasons == ("kelly cap: risk 5% -> 2.5% (0.25 x f* 0.100)",)


def test_an_arm_without_edge_gets_capital_only_to_explore(book: Book) -> None:
    engine, _ = make_engine(book)
    denied = engine.evaluate(intent(wide(), win_rate=0.3, payoff=1.5, arm_trades=25))
    assert denied.verdict is RiskVerdict.DENIED
    assert denied.reasons[0].startswith("kelly: no edge after 25 trades (win rate 30%")
    explored = engine.evaluate(
        intent(wide(), explore=True, win_rate=0.3, payoff=1.5, arm_trades=25)
    )
    assert explored.approved and explored.risk_amount == pytest.approx(20.0)


def test_vol_target_sizing_never_exceeds_percent_risk(book: Book) -> None:
    engine, _ = make_engine(book, sizing="vol_target")
    calm = engine.evaluate(intent(wide(timeframe="1h")))
    # $300 a year over a 10.00 hourly ATR: 300 / (10 x sqrt(8760)) = 0.32 units (< 1.25 by % risk)
    assert calm.verdict is RiskVerdict.APPROVED
    assert calm.qty == pytest.approx(0.32)
    quiet = engine.evaluate(intent(wide(timeframe="1d")))
    assert quiet.qty == pytest.approx(1.25)  # vol target allows more: % risk caps it


def test_unknown_wallet_and_instrument_are_denied(book: Book) -> None:
    engine, _ = make_engine(book)
    assert engine.evaluate(intent(wallet_id="live:crypto_spot")).reasons == (
        "no wallet live:crypto_spot",
    )
    assert engine.evaluate(intent(signal(symbol="NOPE"))).reasons == (
        "unknown instrument sim:NOPE",
    )
