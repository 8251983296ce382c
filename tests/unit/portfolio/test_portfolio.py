"""The Portfolio on real storage: wallets, netting, PnL, snapshots, stops, restarts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tradeterm.clock import SimClock
from tradeterm.domain.enums import ContractKind, Domain, OrderType, Side, WalletMode
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderPurpose
from tradeterm.portfolio import Portfolio
from tradeterm.storage.router import Stores

T0 = 1_717_372_800_000  # Monday 2024-06-03 00:00 UTC
DAY = 86_400_000
IDX = Instrument("sim", "R_100", ContractKind.SYNTHETIC, Domain.SYNTHETICS, 0.01, 0.01)
FUT = Instrument(
    "bybit", "BTCUSDT", ContractKind.PERPETUAL, Domain.CRYPTO_PERP, 0.1, 0.001, contract_size=2.0
)
INSTRUMENTS = {IDX.key: IDX, FUT.key: FUT}
SYN, PERP = "paper:synthetics", "paper:crypto_perp"
PLAN = EntryPlan(
    98.0,
    106.0,
    "ema_trend",
    "ema_trend|sim:R_100",
    "sig-1",
    "5m",
    explore=True,
    atr=1.0,
    risk_per_unit=2.2,  # the gate's net risk: 2.00 to the stop plus 0.20 of costs a unit
    ideal_entry=99.9,  # the mid when the gate decided
)


class Book:
    """A portfolio with two funded paper wallets and helpers that make fills like an executor."""

    def __init__(self, path: Path) -> None:
        self.clock = SimClock(T0)
        self.stores = Stores.open(path, live=False)
        self.portfolio = Portfolio(self.stores, self.clock, INSTRUMENTS)
        self.portfolio.activate_wallet(WalletMode.PAPER, Domain.SYNTHETICS, 1000.0)
        self.portfolio.activate_wallet(WalletMode.PAPER, Domain.CRYPTO_PERP, 1000.0)
        self.n = 0

    def fill(self, side: Side, qty: float, price: float, *, fee: float = 0.0, wallet: str = SYN,
             inst: Instrument = IDX, purpose: OrderPurpose = OrderPurpose.ENTRY, reason: str = "",
             plan: EntryPlan | None = PLAN, ref: float = 0.0):  # type: ignore[no-untyped-def]  # fmt: skip
        self.n += 1
        now = self.clock.now_ms()
        exit_ = purpose is not OrderPurpose.ENTRY
        order = Order(f"o{self.n}", wallet, inst.venue, inst.symbol, side, OrderType.MARKET, qty, now,
                      purpose=purpose, signal_id="sig-1", reason=reason, reduce_only=exit_,
                      ref_price=ref)  # fmt: skip
        f = Fill(
            f"f{self.n}",
            order.client_order_id,
            wallet,
            inst.venue,
            inst.symbol,
            side,
            qty,
            price,
            fee,
            now,
        )
        return self.portfolio.apply_fill(f, order, plan if purpose is OrderPurpose.ENTRY else None)

    def mark(self, price: float, inst: Instrument = IDX) -> None:
        self.portfolio.on_tick(
            Tick(inst.venue, inst.symbol, self.clock.now_ms(), price, price, price)
        )


@pytest.fixture
def book(tmp_path: Path) -> Book:
    return Book(tmp_path)


def test_activation_funds_once_and_never_refunds(book: Book) -> None:
    wallet = book.portfolio.wallet(SYN)
    assert (wallet.balance, wallet.starting_balance, wallet.peak_equity) == (1000.0, 1000.0, 1000.0)
    book.fill(Side.BUY, 1.0, 100.0, fee=0.1)
    again = book.portfolio.activate_wallet(WalletMode.PAPER, Domain.SYNTHETICS, 1000.0)
    assert again.balance == pytest.approx(999.9)
    assert [w.id for w in book.stores.paper.load_wallets()] == [PERP, SYN]


def test_open_then_close_books_pnl_fees_and_a_closed_trade(book: Book) -> None:
    opened = book.fill(Side.BUY, 2.0, 100.0, fee=0.2)
    pos = opened.update.position
    assert (pos.qty, pos.entry_price, pos.stop_loss, pos.take_profit, pos.initial_stop) == (
        2.0,
        100.0,
        98.0,
        106.0,
        98.0,
    )
    assert opened.closed is None and opened.snapshot.open_positions == 1

    book.clock.set_time(T0 + 3_600_000)
    closed = book.fill(
        Side.SELL,
        2.0,
        106.0,
        fee=0.212,
        purpose=OrderPurpose.TAKE_PROFIT,
        reason="take_profit",
        ref=106.0,
    )
    trade = closed.closed
    assert closed.update.position is None
    assert (trade.qty, trade.entry_price, trade.exit_price) == (2.0, 100.0, 106.0)
    assert trade.pnl == pytest.approx(12.0 - 0.412)
    # R is net: the PnL after fees over the money the gate planned to risk (2 x 2.20)
    assert trade.risk_amount == pytest.approx(4.4)
    assert trade.r_multiple == pytest.approx((12.0 - 0.412) / 4.4)
    # cost: the entry filled 0.10 above the mid the gate saw, on 2 units, plus the fees
    assert trade.cost == pytest.approx(0.2 + 0.412)
    assert trade.cost_r == pytest.approx(0.612 / 4.4)
    assert (trade.exit_reason, trade.arm, trade.explore, trade.strategy) == (
        "take_profit",
        PLAN.arm,
        True,
        "ema_trend",
    )
    assert trade.closed_ms - trade.opened_ms == 3_600_000
    assert closed.snapshot.equity == pytest.approx(1011.588)
    assert book.stores.paper.load_trades() == [trade]


def test_partial_reduce_then_close_averages_the_exit(book: Book) -> None:
    book.fill(Side.BUY, 2.0, 100.0)
    part = book.fill(Side.SELL, 1.0, 104.0, purpose=OrderPurpose.EXIT)
    assert part.closed is None and part.update.position.qty == 1.0
    assert book.portfolio.wallet(SYN).balance == pytest.approx(1004.0)  # realised on the reduce
    last = book.fill(Side.SELL, 1.0, 102.0, purpose=OrderPurpose.EXIT)
    assert (last.closed.qty, last.closed.exit_price, last.closed.pnl) == (
        2.0,
        pytest.approx(103.0),
        pytest.approx(6.0),
    )


def test_opposite_fill_larger_than_the_position_reverses_it(book: Book) -> None:
    book.fill(Side.BUY, 1.0, 100.0, fee=0.3)
    out = book.fill(Side.SELL, 3.0, 110.0, fee=0.9, plan=None)
    assert out.closed.pnl == pytest.approx(10.0 - 0.3 - 0.3)  # a third of the 0.9 fee closes
    assert out.closed.exit_reason == "reversed"
    short = out.update.position
    assert (short.side, short.qty, short.entry_price, short.fees) == (
        Side.SELL,
        2.0,
        110.0,
        pytest.approx(0.6),
    )


def test_adding_on_the_same_side_averages_the_entry(book: Book) -> None:
    book.fill(Side.BUY, 1.0, 100.0)
    out = book.fill(Side.BUY, 3.0, 104.0)
    assert (out.update.position.qty, out.update.position.entry_price) == (4.0, 103.0)
    assert book.portfolio.open_count(IDX.key) == 1


def test_wallets_never_fund_each_other(book: Book) -> None:
    book.fill(Side.BUY, 10.0, 100.0, fee=1.0)
    book.fill(Side.SELL, 10.0, 50.0, fee=0.5, purpose=OrderPurpose.STOP_LOSS)  # lose 500 + fees
    assert book.portfolio.wallet(SYN).balance == pytest.approx(1000.0 - 501.5)
    other = book.portfolio.snapshot(PERP)
    assert (other.wallet.balance, other.equity, other.drawdown) == (1000.0, 1000.0, 0.0)


def test_snapshot_marks_equity_exposure_drawdown_and_daily_pnl(book: Book) -> None:
    book.fill(Side.SELL, 0.1, 60_000.0, wallet=PERP, inst=FUT, plan=None)  # contract size 2
    book.mark(60_500.0, FUT)
    snap = book.portfolio.snapshot(PERP)
    assert snap.unrealized_pnl == pytest.approx(-100.0)
    assert snap.equity == pytest.approx(900.0)
    assert snap.exposure_by_symbol == {FUT.key: pytest.approx(12_100.0)}
    assert snap.exposure == pytest.approx(12_100.0)
    assert (snap.drawdown, snap.daily_pnl) == (pytest.approx(0.1), pytest.approx(-100.0))

    book.mark(59_000.0, FUT)
    assert book.portfolio.snapshot(PERP).wallet.peak_equity == pytest.approx(1200.0)
    book.mark(59_500.0, FUT)
    assert book.portfolio.snapshot(PERP).drawdown == pytest.approx(100.0 / 1200.0)

    book.clock.set_time(T0 + DAY + 5_000)  # past UTC midnight: the day starts again
    rolled = book.portfolio.snapshot(PERP)
    assert rolled.daily_pnl == 0.0
    assert rolled.wallet.day_start_ms == T0 + DAY
    assert book.stores.paper.load_wallets()[0].day_start_equity == pytest.approx(1100.0)
    book.mark(59_000.0, FUT)
    assert book.portfolio.snapshot(PERP).daily_pnl == pytest.approx(100.0)


def test_stops_only_tighten(book: Book) -> None:
    book.fill(Side.BUY, 1.0, 100.0)
    moved = book.portfolio.tighten_stop(SYN, IDX.key, 99.5)
    assert moved.stop_loss == 99.5 and moved.initial_stop == 98.0
    with pytest.raises(ValueError, match="would widen"):
        book.portfolio.tighten_stop(SYN, IDX.key, 99.0)
    assert book.stores.paper.load_positions(SYN)[0].stop_loss == 99.5


def test_a_restart_rebuilds_wallets_positions_and_plans(book: Book, tmp_path: Path) -> None:
    book.fill(Side.BUY, 2.0, 100.0, fee=0.2)
    book.stores.paper.save_order(
        Order("o1", SYN, "sim", "R_100", Side.BUY, OrderType.MARKET, 2.0, T0, signal_id="sig-1"),
        plan={"stop_loss": 98.0, "take_profit": 106.0, "strategy": "ema_trend", "arm": PLAN.arm,
              "signal_id": "sig-1", "timeframe": "5m", "explore": True, "atr": 1.0, "max_hold_ms": 0,
              "decision_id": "", "risk_per_unit": 2.2, "ideal_entry": 99.9},
    )  # fmt: skip
    fresh = Portfolio(Stores.open(tmp_path, live=False), book.clock, INSTRUMENTS)
    fresh.restore()
    assert fresh.wallets() == book.portfolio.wallets()
    assert fresh.positions() == book.portfolio.positions()
    assert fresh.plan(SYN, IDX.key) == PLAN


def test_equity_curve_points_are_recorded_per_wallet(book: Book) -> None:
    book.fill(Side.BUY, 1.0, 100.0)
    book.mark(101.0)
    book.portfolio.record_equity()
    book.clock.set_time(T0 + 60_000)
    book.mark(103.0)
    book.portfolio.record_equity()
    assert book.stores.paper.equity_curve(SYN) == [(T0, 1001.0), (T0 + 60_000, 1003.0)]
    assert book.stores.paper.equity_curve(PERP) == [(T0, 1000.0), (T0 + 60_000, 1000.0)]


def test_a_fill_for_an_unknown_wallet_is_refused(book: Book) -> None:
    with pytest.raises(ValueError, match="unknown wallet 'paper:forex'"):
        book.fill(Side.BUY, 1.0, 100.0, wallet="paper:forex")
    assert book.portfolio.positions() == []


@pytest.mark.parametrize(
    ("exit_price", "fee"),
    [(106.0, 0.5), (100.3, 0.5), (100.1, 0.5), (99.0, 0.1), (104.0, 9.0)],
)
def test_r_and_won_always_agree(book: Book, exit_price: float, fee: float) -> None:
    """A trade that made money after fees is a winner in R too, and one that lost is a loser
    (gross R would call a 100.3 exit with $0.50 of fees a win)."""
    book.fill(Side.BUY, 2.0, 100.0, fee=0.1)
    trade = book.fill(Side.SELL, 2.0, exit_price, fee=fee, purpose=OrderPurpose.EXIT).closed
    assert trade is not None
    assert (trade.r_multiple > 0) is trade.won
    assert (trade.r_multiple < 0) is (trade.pnl < 0)


def test_short_pnl_and_r_have_the_right_sign(book: Book) -> None:
    """Flipping the side sign of short PnL must fail this test."""
    short = replace(PLAN, stop_loss=102.0, take_profit=92.0, risk_per_unit=2.2)
    book.fill(Side.SELL, 2.0, 100.0, plan=short)
    trade = book.fill(Side.BUY, 2.0, 95.0, purpose=OrderPurpose.EXIT).closed
    assert trade is not None
    assert trade.pnl == pytest.approx(10.0)  # sold at 100, bought back at 95
    assert trade.r_multiple > 0 and trade.won
    book.fill(Side.SELL, 1.0, 100.0, plan=short)
    book.mark(103.0)
    held = book.portfolio.position(SYN, IDX.key)
    assert held is not None and held.unrealized_pnl(103.0) == pytest.approx(-3.0)
    loser = book.fill(Side.BUY, 1.0, 103.0, purpose=OrderPurpose.EXIT).closed
    assert loser is not None and loser.pnl == pytest.approx(-3.0) and loser.r_multiple < 0
