"""Multiplier books (Deriv): a position holds its stake as cash, so the wallet's balance moves as
the account's does (stake out at the buy, the sell price back at the close), equity is the cash
plus what the contract is worth, and a loss stops at the stake. Checked against the contract
maths in domain/multipliers.py (the simulator settles contracts with the same functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeterm.clock import SimClock
from tradeterm.domain.enums import ContractKind, Domain, OrderType, Side, WalletMode
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.multipliers import (
    CloseReason,
    MultiplierDirection,
    MultiplierTerms,
    commission_for,
    contract_qty,
    payout_price,
)
from tradeterm.domain.orders import Fill, Order, OrderPurpose
from tradeterm.portfolio import Portfolio
from tradeterm.storage.router import Stores

T0 = 1_717_372_800_000
WALLET = "live:synthetics"
R100 = Instrument(
    "deriv", "R_100", ContractKind.MULTIPLIER, Domain.SYNTHETICS, 0.01, 0.001,
    max_leverage=100.0, multiplier=100.0,
)  # fmt: skip
STAKE, MULT, S0 = 100.0, 100.0, 60_000.0


class Account:
    """A live multiplier wallet on real storage and the fills a Deriv account would report."""

    def __init__(self, path: Path) -> None:
        self.clock = SimClock(T0)
        self.portfolio = Portfolio(Stores.open(path, live=True), self.clock, {R100.key: R100})
        self.portfolio.activate_wallet(WalletMode.LIVE, Domain.SYNTHETICS, 1000.0)
        self.n = 0

    def fill(self, side: Side, qty: float, price: float, fee: float, *, close: bool = False):  # type: ignore[no-untyped-def]  # fmt: skip
        self.n += 1
        purpose = OrderPurpose.EXIT if close else OrderPurpose.ENTRY
        order = Order(f"o{self.n}", WALLET, "deriv", "R_100", side, OrderType.MARKET, qty, T0,
                      reduce_only=close, purpose=purpose, signal_id="s1")  # fmt: skip
        fill = Fill(f"f{self.n}", order.client_order_id, WALLET, "deriv", "R_100", side, qty,
                    price, fee, self.clock.now_ms(), last=True)  # fmt: skip
        return self.portfolio.apply_fill(fill, order, None)

    def mark(self, price: float) -> None:
        self.portfolio.on_tick(Tick("deriv", "R_100", self.clock.now_ms(), price, price, price))

    @property
    def balance(self) -> float:
        wallet = self.portfolio.wallet(WALLET)
        assert wallet is not None
        return wallet.balance


@pytest.mark.parametrize("direction", list(MultiplierDirection))
@pytest.mark.parametrize("exit_move", [0.004, -0.004, 0.0])
def test_cash_follows_the_account_through_a_round_trip(
    tmp_path: Path, direction: MultiplierDirection, exit_move: float
) -> None:
    book = Account(tmp_path)
    commission = commission_for(STAKE, MULT)
    terms = MultiplierTerms(direction, STAKE, MULT, S0, commission)
    side = Side.BUY if direction is MultiplierDirection.UP else Side.SELL
    qty = contract_qty(STAKE, MULT, S0)
    book.fill(side, qty, S0, commission)
    assert book.balance == pytest.approx(1000.0 - STAKE)  # the stake left, commission inside it
    (pos,) = book.portfolio.positions(WALLET)
    assert pos.margin == pytest.approx(STAKE - commission)
    spot = S0 * (1 + exit_move)
    book.mark(spot)
    # equity: cash + the contract's bid (stake + profit), as Deriv values the account
    assert book.portfolio.equity(WALLET) == pytest.approx(1000.0 - STAKE + terms.value(spot))
    paid = terms.settle(spot, CloseReason.SOLD)
    price = payout_price(direction.sign, STAKE, MULT, S0, commission, paid)
    outcome = book.fill(side.opposite, qty, price, 0.0, close=True)
    assert book.portfolio.positions(WALLET) == []
    assert book.balance == pytest.approx(1000.0 - STAKE + paid, abs=1e-9)
    assert outcome.closed is not None
    assert outcome.closed.pnl == pytest.approx(paid - STAKE)  # net of the commission


def test_a_loss_stops_at_the_stake(tmp_path: Path) -> None:
    """Through the stop-out the contract is worth 0: unrealised and realised losses are floored
    at the cash the position holds, and the wallet loses exactly the stake."""
    book = Account(tmp_path)
    commission = commission_for(STAKE, MULT)
    terms = MultiplierTerms(MultiplierDirection.UP, STAKE, MULT, S0, commission)
    qty = contract_qty(STAKE, MULT, S0)
    book.fill(Side.BUY, qty, S0, commission)
    crash = terms.stop_out_price() * 0.99  # gapped through the stop-out
    book.mark(crash)
    assert book.portfolio.equity(WALLET) == pytest.approx(1000.0 - STAKE)
    book.fill(Side.SELL, qty, crash, 0.0, close=True)  # a paper fill at the gapped price
    assert book.balance == pytest.approx(1000.0 - STAKE)


def test_the_held_cash_survives_a_restart(tmp_path: Path) -> None:
    book = Account(tmp_path)
    qty = contract_qty(STAKE, MULT, S0)
    book.fill(Side.BUY, qty, S0, commission_for(STAKE, MULT))
    again = Portfolio(Stores.open(tmp_path, live=True), book.clock, {R100.key: R100})
    again.restore()
    (pos,) = again.positions(WALLET)
    assert pos.margin == pytest.approx(STAKE - commission_for(STAKE, MULT))
    assert again.equity(WALLET) == pytest.approx(book.portfolio.equity(WALLET))
