"""Every entry rule of the risk engine, with the shipped numbers: a $1,000 wallet, position
notional 5% of equity (2% for a canary) and at most 1% of equity lost at the stop net of costs
(0.4% for a canary), 15% pair / 30% portfolio exposure counting working entries and pending
confirmations, reward:risk 3 net of costs, a stop at least 4 round-trip costs away, 6% daily and
3% per-symbol loss caps, 3 losses -> 60 minutes' rest, no martingale on the final money at risk,
stop width in real ATRs, weekend cut-off, spot shorts, balance, leverage, lot rounding, Kelly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradeterm.clock import SimClock, datetime_to_ms
from tradeterm.domain import costs
from tradeterm.domain.enums import RiskVerdict, Side
from tradeterm.risk import RiskEngine

from .kit import (
    ARM,
    SIM_COSTS,
    WALLET_ID,
    Book,
    Canaries,
    Promised,
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


# ---- sizing -------------------------------------------------------------------------------------
def test_a_tight_stop_is_sized_by_notional_five_percent_of_equity(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    # 5% of $1,000 = $50 of notional at 100 -> 0.5 units, losing $1 at the stop (0.1%)
    assert decision.verdict is RiskVerdict.APPROVED
    assert decision.qty == pytest.approx(0.5)
    assert decision.notional == pytest.approx(50.0)
    assert decision.risk_amount == pytest.approx(1.0)
    assert decision.risk_fraction == pytest.approx(0.001)
    assert decision.id.startswith("rd-") and not decision.canary


def test_a_wide_stop_is_sized_by_one_percent_at_risk(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide()))
    # 1% of $1,000 = $10 over a 40.00 stop -> 0.25 units ($25 of notional, under the $50 size)
    assert decision.verdict is RiskVerdict.APPROVED
    assert decision.reasons == () and decision.reason_text == "ok"
    assert decision.qty == pytest.approx(0.25)
    assert decision.risk_amount == pytest.approx(10.0)
    assert decision.risk_fraction == pytest.approx(0.01)


def test_a_canary_wallet_trades_two_percent_and_risks_at_most_point_four(book: Book) -> None:
    engine, _ = make_engine(book, canary=Canaries(WALLET_ID))
    tight = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert tight.canary and tight.notional == pytest.approx(20.0)
    loose = engine.evaluate(intent(wide(), n=2))
    assert loose.risk_amount == pytest.approx(4.0) and loose.qty == pytest.approx(0.1)
    other, _ = make_engine(book, canary=Canaries("live:synthetics"))
    assert not other.evaluate(intent(wide())).canary


def test_exploration_trades_use_the_canary_sizes(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(wide(), explore=True))
    assert decision.canary and decision.risk_amount == pytest.approx(4.0)


# ---- exposure caps ------------------------------------------------------------------------------
def test_pair_cap_counts_the_open_position_on_the_same_market(book: Book) -> None:
    book.hold("R_100", 1.2, 100.0)  # $120 open
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.qty == pytest.approx(0.3)  # $150 cap - $120 open = $30 at 100
    assert decision.reasons == (
        "pair exposure cap 15% on sim:R_100: notional 50.00 -> 30.00 (used 120.00 of limit 150.00)",
    )


def test_portfolio_cap_of_30_percent_with_two_open_positions(book: Book) -> None:
    book.hold("R_50", 1.5, 100.0)  # $150 open
    book.hold("R_75", 1.3, 100.0)  # $130 open
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.notional == pytest.approx(20.0)  # $300 cap - $280 open
    assert decision.reasons[0].startswith("portfolio exposure cap 30%")
    book.hold("R_50", 0.2, 100.0)  # now $300 open: no room at all
    full = engine.evaluate(intent(signal(100.0, 98.0, 106.0), n=2))
    assert full.verdict is RiskVerdict.DENIED
    assert full.reasons[0].startswith("portfolio exposure cap 30%")


def test_caps_count_working_entries_and_pending_confirmations(book: Book) -> None:
    promised = Promised()
    promised.add("sim:R_100", 120.0, "rd-working")  # a limit entry still working
    engine, _ = make_engine(book, promised=promised)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert decision.qty == pytest.approx(0.3)
    assert decision.reasons[0].startswith("pair exposure cap 15% on sim:R_100")
    promised.add("sim:R_50", 140.0, "rd-waiting")  # an entry waiting for the operator
    promised.add("sim:R_75", 40.0, "rd-waiting-2")
    assert not engine.evaluate(intent(signal(100.0, 98.0, 106.0), n=2)).approved  # $300 used
    assert engine.gauges(WALLET_ID).committed_exposure == pytest.approx(0.3)


def test_max_open_positions_counts_pending_entries(book: Book) -> None:
    promised = Promised()
    book.hold("R_50", 0.1, 100.0)
    promised.add("sim:R_75", 10.0)
    engine, _ = make_engine(book, max_open_positions=2, promised=promised)
    denied = engine.evaluate(intent(wide(symbol="R_100")))
    assert denied.reasons == ("max open positions: 2 of 2 already open or pending",)
    assert engine.evaluate(intent(wide(symbol="R_50"))).approved  # adds to the open position


def levered(book: Book, **config: object) -> RiskEngine:
    """Caps loose enough that only the wallet balance binds."""
    settings: dict[str, object] = {
        "max_pair_exposure": 5.0,
        "max_portfolio_exposure": 20.0,
        "max_leverage": 10.0,
    }
    settings.update(config)
    engine, _ = make_engine(book, **settings)
    return engine


def test_insufficient_balance_is_denied(book: Book) -> None:
    book.hold("R_50", 10.0, 100.0)  # a synthetic ties up its full $1,000 notional
    decision = levered(book).evaluate(intent(signal(symbol="BTCUSDT")))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons == (
        "balance (margin + fee): needs 5.00 -> 0.00 (used 1000.00 of limit 1000.00)",
    )


def test_order_is_shrunk_to_the_free_balance_with_its_fee(book: Book) -> None:
    book.hold("R_50", 9.98, 100.0)  # $2 left free
    decision = levered(book).evaluate(intent(signal(symbol="BTCUSDT")))
    # 0.5 units at 10x need $5 of margin; $2 buys 0.2 units
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.qty == pytest.approx(0.2)
    costly = make_engine(book, costs=SIM_COSTS, max_pair_exposure=5.0,
                         max_portfolio_exposure=20.0, max_leverage=10.0)[0]  # fmt: skip
    with_fee = costly.evaluate(intent(signal(100.0, 97.0, 112.0, symbol="BTCUSDT"), n=2))
    assert with_fee.qty < 0.2  # margin plus the entry's taker fee must fit in the same $2


def test_leverage_cap() -> None:
    book = Book()
    book.fund(1000.0)
    book.hold("ETHUSDT", 19.8, 100.0)  # $1,980 open on a perp
    engine, _ = make_engine(
        book, max_pair_exposure=5.0, max_portfolio_exposure=10.0, max_leverage=2.0
    )
    decision = engine.evaluate(intent(signal(symbol="BTCUSDT")))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.notional == pytest.approx(20.0)  # 2 x $1,000 - $1,980
    assert decision.reasons == (
        "leverage cap 2x: notional 50.00 -> 20.00 (used 1980.00 of limit 2000.00)",
    )


# ---- costs: the gate decides on the prices a trade will really get ------------------------------
def test_an_entry_that_would_fill_beyond_its_take_profit_is_refused(book: Book) -> None:
    book.marks["sim:R_100"] = 106.5  # the market ran past the target since the bar closed
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons[0] == "entry would fill at 106.50, at or beyond its take profit 106.00"


def test_the_ask_and_slippage_can_carry_an_entry_past_its_target(book: Book) -> None:
    book.marks["sim:R_100"] = 105.9
    book.spreads["sim:R_100"] = 0.1  # ask 106.00, plus 2 bps of slippage
    engine, _ = make_engine(book, costs=SIM_COSTS)
    decision = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert decision.reasons[0].startswith(
        "entry would fill at 106.02, at or beyond its take profit"
    )


def test_reward_risk_is_measured_net_of_costs(book: Book) -> None:
    book.spreads["sim:R_100"] = 0.05
    engine, _ = make_engine(book, costs=SIM_COSTS)
    gross_three = engine.evaluate(intent(signal(100.0, 96.0, 112.0)))
    econ = costs.trade_economics(1, 100.0, 96.0, 112.0, 0.05, 0.0002, 0.0005, 0.0002, 0, 0, 1.0)
    assert gross_three.verdict is RiskVerdict.DENIED
    assert gross_three.reasons == (
        f"reward:risk {econ.reward_risk:.2f} net of costs < 3 (gross 3.00)",
    )
    assert econ.reward_risk < 3.0
    gross_four = engine.evaluate(intent(signal(100.0, 96.0, 116.0), n=2))
    assert gross_four.approved
    assert gross_four.costs is not None and gross_four.costs.net_reward_risk >= 3.0


def test_a_stop_inside_a_few_round_trip_costs_is_refused(book: Book) -> None:
    book.spreads["sim:R_100"] = 0.05
    engine, _ = make_engine(book, costs=SIM_COSTS)
    # a 0.20 stop against 0.24 of spread, slippage and fees per unit
    decision = engine.evaluate(intent(signal(100.0, 99.8, 101.0, atr=0.1)))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons[0].startswith("stop only 0.8x")
    assert "x its round-trip cost away" in decision.reasons[0]
    assert decision.reasons[0].endswith("need 4x)")


def test_every_decision_records_ideal_and_expected_prices_and_its_cost_in_r(book: Book) -> None:
    book.marks["sim:R_100"] = 100.2  # the quote moved 20 bps since the signal's close
    book.spreads["sim:R_100"] = 0.05
    engine, _ = make_engine(book, costs=SIM_COSTS)
    decision = engine.evaluate(intent(signal(100.0, 96.0, 116.0)))
    assert decision.approved and decision.costs is not None
    c = decision.costs
    econ = costs.trade_economics(1, 100.2, 96.0, 116.0, 0.05, 0.0002, 0.0005, 0.0002, 0, 0, 1.0)
    assert (c.ideal_entry, c.mark) == (100.0, 100.2)
    assert c.expected_entry == pytest.approx((100.2 + 0.05) * 1.0002)
    assert c.expected_stop == pytest.approx((96.0 - 0.05) * 0.9998)
    assert c.expected_target == 116.0
    # sized on the net risk: the 5% notional binds here, and R is qty x net risk per unit
    assert decision.qty == pytest.approx(0.49)
    assert decision.risk_amount == pytest.approx(0.49 * econ.risk)
    assert c.total == pytest.approx(0.49 * econ.cost)
    assert c.spread + c.slippage + c.fees + c.funding == pytest.approx(c.total)
    assert c.spread == pytest.approx(0.49 * 0.1)
    assert c.cost_r == pytest.approx(econ.cost / econ.risk)
    assert c.gross_reward_risk == pytest.approx((116.0 - 100.2) / (100.2 - 96.0))
    assert c.net_reward_risk == pytest.approx(econ.reward_risk)


def test_no_price_no_entry(book: Book) -> None:
    engine, _ = make_engine(book)
    del book.marks["sim:R_100"]
    assert engine.evaluate(intent(wide())).reasons == ("no current price for sim:R_100",)


# ---- signal rules ---------------------------------------------------------------------------------
def test_inconsistent_signal_is_denied_with_its_reason(book: Book) -> None:
    engine, _ = make_engine(book)
    bad = signal(100.0, 101.0, 99.5, side=Side.BUY)
    decision = engine.evaluate(intent(bad))
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons == ("stop 101 is not below entry 100 on a long",)


@pytest.mark.parametrize(("atr", "approved"), [(1.0, False), (1.25, True)])
def test_stop_wider_than_four_real_atrs_is_denied(book: Book, atr: float, approved: bool) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 95.0, 115.0, atr=atr)))
    assert decision.approved is approved
    if not approved:
        assert decision.reasons == ("stop 5.0 ATR wide > max 4 ATR",)


def test_spot_markets_cannot_be_shorted(book: Book) -> None:
    book.marks["sim:ETHSPOT"] = 100.0
    engine, _ = make_engine(book)
    short = engine.evaluate(intent(signal(100.0, 102.0, 94.0, symbol="ETHSPOT")))
    assert short.reasons == ("ETHSPOT is a spot market: shorts are not allowed",)
    assert engine.evaluate(intent(signal(100.0, 98.0, 106.0, symbol="ETHSPOT"), n=2)).approved
    perp_short = engine.evaluate(intent(signal(100.0, 102.0, 94.0, symbol="BTCUSDT"), n=3))
    assert perp_short.approved


# ---- loss memory ----------------------------------------------------------------------------------
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
    assert engine.evaluate(intent(signal())).approved  # 2% lost: still allowed
    engine.on_trade_closed(closed(-10.0, n=2))
    denied = engine.evaluate(intent(signal()))
    assert denied.reasons == ("symbol loss cap: sim:R_100 lost 3% of equity today >= 3%",)
    assert engine.evaluate(intent(wide(symbol="R_50"))).approved
    midnight = datetime_to_ms(datetime(2024, 3, 7, tzinfo=UTC))
    assert engine.cooldowns()["sim:R_100"] == midnight
    clock.set_time(midnight)
    assert engine.evaluate(intent(signal())).approved
    assert "sim:R_100" not in engine.cooldowns()


async def test_three_losses_rest_the_arm_for_sixty_minutes(book: Book) -> None:
    engine, clock = make_engine(book)
    for n in range(3):
        engine.on_trade_closed(closed(-0.5, n=n, risk=1.0))
    denied = engine.evaluate(intent(signal()))
    assert denied.reasons == (f"cooldown: 3 losses on {ARM} until 13:00 UTC",)
    assert engine.cooldowns()[ARM] == clock.now_ms() + 3_600_000
    assert engine.evaluate(intent(wide(symbol="R_50"))).approved  # other arms trade
    await clock.advance(59 * 60)
    assert not engine.evaluate(intent(signal())).approved
    await clock.advance(60)
    assert engine.evaluate(intent(signal())).approved
    assert ARM not in engine.cooldowns()


def test_a_win_breaks_the_loss_streak(book: Book) -> None:
    engine, _ = make_engine(book)
    for pnl in (-1.0, -1.0, 2.0, -1.0, -1.0):
        engine.on_trade_closed(closed(pnl, risk=2.0))
    assert engine.evaluate(intent(signal())).approved


def test_no_martingale_on_the_final_money_at_risk(book: Book) -> None:
    # The case: the first trade on the arm was cut by a cap to a small risk; it lost.
    # The next signal has a wider stop, no cap binds, and it would risk 10x as much: refused.
    book.hold("R_100", 1.4, 100.0)  # $140 open: the pair cap leaves $10 of room
    engine, _ = make_engine(book)
    first = engine.evaluate(intent(signal(100.0, 98.0, 106.0)))
    assert first.verdict is RiskVerdict.RESIZED and first.risk_amount == pytest.approx(0.2)
    book.flat()
    engine.on_trade_closed(closed(-0.2, risk=first.risk_amount))
    after_loss = engine.evaluate(intent(signal(100.0, 96.0, 112.0), n=2))
    # 5% notional = 0.5 units x a 4.00 stop = $2.00 of risk; no more than the $0.20 that lost
    assert after_loss.verdict is RiskVerdict.RESIZED
    assert after_loss.risk_amount == pytest.approx(0.2)
    assert after_loss.reasons == (
        f"no martingale (the last trade on {ARM} lost): risk 2.00 -> 0.20 "
        "(used 0.00 of limit 0.20)",
    )
    engine.on_trade_closed(closed(0.5, risk=0.2, n=3))  # a win lifts it
    assert engine.evaluate(intent(signal(100.0, 96.0, 112.0), n=3)).risk_amount == pytest.approx(
        2.0
    )


def test_the_no_martingale_limit_ends_with_the_utc_day(book: Book) -> None:
    engine, clock = make_engine(book)
    engine.on_trade_closed(closed(-0.02, risk=0.02))
    pinned = engine.evaluate(intent(wide()))
    assert pinned.verdict is RiskVerdict.DENIED  # $0.02 over a 40.00 stop is under one lot
    assert "no martingale" in pinned.reason_text
    clock.set_time(datetime_to_ms(datetime(2024, 3, 7, 0, 0, tzinfo=UTC)))
    assert engine.evaluate(intent(wide(), n=2)).approved


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
    if not approved:
        assert decision.reasons == ("weekend: no entries from Fri 20:00 UTC until Mon 00:00 UTC",)


def test_weekend_carry_is_allowed_when_not_configured(book: Book) -> None:
    saturday = datetime_to_ms(datetime(2024, 3, 9, 12, 0, tzinfo=UTC))
    engine, _ = make_engine(book, clock=SimClock(saturday))
    assert engine.evaluate(intent(wide())).approved
    assert engine.weekend_cutoff_minute is None


# ---- rounding, minimums, Kelly, volatility ------------------------------------------------------
def test_quantity_rounds_down_to_the_lot_step(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 55.0, 235.0, atr=12.0)))
    assert decision.verdict is RiskVerdict.APPROVED  # rounding is not a resize
    assert decision.qty == pytest.approx(0.22)  # $10 / 45.00 = 0.222.. down to the 0.01 lot
    assert decision.risk_amount == pytest.approx(9.9)


def test_size_below_the_venue_minimum_is_denied() -> None:
    book = Book()
    book.fund(3.6)
    engine, _ = make_engine(book)
    decision = engine.evaluate(intent(signal(100.0, 55.0, 235.0, atr=12.0)))
    # 1% of $3.60 over a 45.00 stop is 0.0008 units; the venue's lot is 0.01
    assert decision.verdict is RiskVerdict.DENIED
    assert decision.reasons == ("size 0.0008 below venue minimum 0.01",)


def test_kelly_caps_money_at_risk_once_the_arm_has_twenty_trades(book: Book) -> None:
    engine, _ = make_engine(book)
    young = engine.evaluate(intent(wide(), win_rate=0.3, payoff=2.5, arm_trades=19))
    assert young.risk_amount == pytest.approx(10.0)
    proven = engine.evaluate(intent(wide(), win_rate=0.3, payoff=2.5, arm_trades=20))
    # f* = 0.3 - 0.7 / 2.5 = 0.02; a quarter Kelly is 0.5% of equity: $5 over 40.00 = 0.125
    assert proven.verdict is RiskVerdict.RESIZED
    assert proven.qty == pytest.approx(0.12)
    assert proven.reasons == ("kelly cap: risk 1% -> 0.5% (0.25 x f* 0.020)",)


def test_an_arm_without_edge_gets_capital_only_to_explore(book: Book) -> None:
    engine, _ = make_engine(book)
    denied = engine.evaluate(intent(wide(), win_rate=0.3, payoff=1.5, arm_trades=25))
    assert denied.verdict is RiskVerdict.DENIED
    assert denied.reasons[0].startswith("kelly: no edge after 25 trades (win rate 30%")
    explored = engine.evaluate(
        intent(wide(), explore=True, win_rate=0.3, payoff=1.5, arm_trades=25)
    )
    assert explored.approved and explored.risk_amount == pytest.approx(4.0)


def test_vol_target_sizing_only_ever_shrinks(book: Book) -> None:
    engine, _ = make_engine(book, sizing="vol_target")
    jumpy = engine.evaluate(intent(signal(100.0, 60.0, 220.0, atr=40.0, timeframe="1h")))
    # $300 a year over a 40.00 hourly ATR: 300 / (40 x sqrt(8760)) = 0.08 units (< 0.25)
    assert jumpy.qty == pytest.approx(0.08)
    calm = engine.evaluate(intent(wide(timeframe="1d"), n=2))
    assert calm.qty == pytest.approx(0.25)  # vol target allows more: the 1% risk size decides


def test_unknown_wallet_and_instrument_are_denied(book: Book) -> None:
    engine, _ = make_engine(book)
    assert engine.evaluate(intent(wallet_id="live:crypto_spot")).reasons == (
        "no wallet live:crypto_spot (domain not active)",
    )
    assert engine.evaluate(intent(signal(symbol="NOPE"))).reasons == (
        "unknown instrument sim:NOPE",
    )


def test_a_multiplier_entry_takes_its_stake_from_the_balance(book: Book) -> None:
    """Cash per unit is the stake (price / multiplier), not the capped leverage's margin."""
    book.hold("R_50", 9.9, 100.0)  # $10 left free
    engine = levered(book, max_leverage=3.0, position_size=0.5)
    decision = engine.evaluate(intent(signal(symbol="MULT")))
    assert decision.verdict is RiskVerdict.RESIZED
    assert decision.qty == pytest.approx(1.0)  # $10 of stake at 100 x10 buys 1 unit, not 0.3
    assert "balance (margin + fee): needs" in decision.reasons[-1]


def test_a_multiplier_risks_at_most_its_stake(book: Book) -> None:
    """A stop beyond the stop-out: the contract is closed at the stake first, so money at risk
    per unit is the stake (100 / 10), not the 15.00 to the stop."""
    engine = levered(book, position_size=0.5, max_stop_atr=50.0, min_reward_risk=1.0)
    wide_stop = signal(100.0, 85.0, 160.0, symbol="MULT", atr=10.0)
    decision = engine.evaluate(intent(wide_stop))
    assert decision.approved, decision.reasons
    assert decision.qty == pytest.approx(1.0)  # $10 at risk / $10 of stake a unit
    assert decision.risk_amount == pytest.approx(10.0)
    plain = engine.evaluate(intent(signal(100.0, 85.0, 160.0, symbol="R_100", atr=10.0), n=2))
    assert plain.qty == pytest.approx(10.0 / 15.0, abs=0.01)
