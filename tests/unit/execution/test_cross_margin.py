"""Paper perpetuals in a cross wallet (execution.paper_margin_mode = "cross"): the whole wallet
balance backs every position, the liquidation price moves with the other positions' marks,
and a liquidation closes every position of the wallet, as the vector backtester's cross branch
does (nb.py `liquidation_nb` and `tick_nb`).

Hand numbers (tests/unit/domain/test_perps_cross.py): the rig's paper wallet holds 1000; a long
of 1 ETH at 3000 alone: LP = 2000 / 0.996 = 2008.03...; with a long of 0.01 BTC from 60,000
marked at 57,000 beside it: LP = 2032.28 / 0.996 = 2040.44...
"""

from __future__ import annotations

import pytest

from tests.unit.execution.conftest import MakeRig
from tests.unit.execution.kit import (
    BTC_PERP,
    ETH_PERP,
    MIN,
    NO_COST,
    PAPER_PERP,
    Rig,
    decision,
    signal,
)
from tradeterm.config.models import ExecutionConfig, RiskConfig
from tradeterm.domain import events as topics
from tradeterm.domain.enums import Side
from tradeterm.domain.orders import OrderPurpose

ONE = (3000.0 - 1000.0) / 0.996
TWO = (3000.0 - 1000.0 + 0.01 * 57_000.0 * 0.004 + 30.0) / 0.996
TEN_X = RiskConfig(max_leverage=10.0)
CROSS = ExecutionConfig(paper_margin_mode="cross")


async def _cross_rig(make_rig: MakeRig) -> Rig:
    rig = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), risk_config=TEN_X, config=CROSS)
    await rig.tick(ETH_PERP, 0, 3000.0)
    sig = signal(ETH_PERP, entry=3000.0, stop=1500.0, target=3600.0)  # stop beyond liquidation
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 1.0))
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is not None
    return rig


async def _cross_rig_with_btc_long(make_rig: MakeRig) -> Rig:
    """The cross rig holding 0.01 BTC long from 60,000 beside its ETH long."""
    rig = await _cross_rig(make_rig)
    await rig.tick(BTC_PERP, 0, 60_000.0)
    sig = signal(BTC_PERP, entry=60_000.0, stop=30_000.0, target=66_000.0)
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 0.01))
    return rig


def _liq(rig: Rig) -> float:
    position = rig.portfolio.position(PAPER_PERP, ETH_PERP.key)
    assert position is not None
    view = rig.engine.perp_margin(position)
    assert view is not None and view.margin_mode == "cross"
    return view.liquidation_price


async def test_one_cross_position_is_liquidated_at_the_wallet_formula(make_rig: MakeRig) -> None:
    rig = await _cross_rig(make_rig)
    assert rig.portfolio.wallet(PAPER_PERP).balance == pytest.approx(1000.0)
    assert _liq(rig) == pytest.approx(ONE)  # not isolated 10x (2710.84): the wallet backs it

    await rig.tick(ETH_PERP, MIN, 2500.0)  # far below the isolated price: still open in cross
    await rig.tick(ETH_PERP, 2 * MIN, ONE + 1.0)
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is not None
    assert rig.recorder.of(topics.TRADE_CLOSED) == []

    await rig.tick(ETH_PERP, 3 * MIN, ONE - 1.0)
    assert rig.portfolio.position(PAPER_PERP, ETH_PERP.key) is None
    (trade,) = rig.recorder.of(topics.TRADE_CLOSED)
    assert trade.exit_reason == "liquidation"
    assert trade.pnl == pytest.approx(ONE - 1.0 - 3000.0)
    exits = [o for o in rig.recorder.of(topics.ORDER) if o.purpose is OrderPurpose.EXIT]
    assert exits and all(o.reduce_only and o.side is Side.SELL for o in exits)


async def test_another_positions_loss_pulls_the_liquidation_in_and_both_close(
    make_rig: MakeRig,
) -> None:
    rig = await _cross_rig_with_btc_long(make_rig)
    assert rig.portfolio.position(PAPER_PERP, BTC_PERP.key) is not None
    # BTC at its entry: only its maintenance margin (600 x 0.4 % = 2.40) counts
    assert _liq(rig) == pytest.approx((2000.0 + 2.4) / 0.996)

    await rig.tick(BTC_PERP, MIN, 57_000.0)  # the mark moves: ETH's liquidation price follows
    assert _liq(rig) == pytest.approx(TWO)

    between = (ONE + TWO) / 2  # safe alone, through the price with BTC's loss
    await rig.tick(ETH_PERP, 2 * MIN, between)
    assert rig.portfolio.positions(PAPER_PERP) == []  # the whole wallet is liquidated
    trades = rig.recorder.of(topics.TRADE_CLOSED)
    assert sorted(t.symbol for t in trades) == ["BTCUSDT", "ETHUSDT"]
    assert {t.exit_reason for t in trades} == {"liquidation"}
    btc = next(t for t in trades if t.symbol == "BTCUSDT")
    assert btc.pnl == pytest.approx(-30.0)  # closed at its own last mark


async def test_an_isolated_wallet_is_unchanged_by_the_other_positions(make_rig: MakeRig) -> None:
    """The default stays isolated: the same ETH long shows 10x isolated numbers."""
    rig = await make_rig(model=NO_COST, wallets=(PAPER_PERP,), risk_config=TEN_X)
    await rig.tick(ETH_PERP, 0, 3000.0)
    sig = signal(ETH_PERP, entry=3000.0, stop=1500.0, target=3600.0)
    await rig.engine.on_decision(decision(sig, PAPER_PERP, 1.0))
    position = rig.portfolio.position(PAPER_PERP, ETH_PERP.key)
    assert position is not None
    view = rig.engine.perp_margin(position)
    assert view is not None and view.margin_mode == "isolated"
    assert view.liquidation_price == pytest.approx(3000.0 * 0.9 / 0.996)


BARS = [(60_000.0, 3000.0), (59_000.0, 2600.0), (57_000.0, 2200.0), (57_000.0, 2035.0),
        (56_000.0, 1900.0)]  # fmt: skip
"""(BTC mark, ETH mark) per bar: bar 3 puts ETH between its lone (2008.03) and its pulled-in
(2040.44) liquidation price."""


def _vector_liquidation_bar() -> int:
    """The same trade sequence through the vector backtester's compiled cross test: state
    arrays as tick_nb keeps them (marks in S_PRICE, the wallet balance in W_BAL), each symbol
    checked after its own tick, BTC then ETH."""
    import numpy as np

    from tradeterm.backtest.vector import nb
    from tradeterm.domain.margin import default_brackets

    S = np.zeros((2, nb.NS))
    P = np.zeros((2, nb.NP))
    W = np.zeros(nb.NW)
    I = np.zeros(nb.NI, dtype=np.int64)  # noqa: E741
    W[nb.W_BAL] = 1000.0
    I[nb.I_CROSS] = 1
    for k, (qty, entry) in enumerate(((0.01, 60_000.0), (1.0, 3000.0))):
        S[k, nb.S_SIDE], S[k, nb.S_QTY], S[k, nb.S_ENTRY], S[k, nb.S_PRICE] = 1.0, qty, entry, entry
        P[k, nb.P_CS], P[k, nb.P_LEV], P[k, nb.P_PERP] = 1.0, 10.0, 1.0
    for bar, marks in enumerate(BARS):
        for k, mark in enumerate(marks):
            S[k, nb.S_PRICE] = mark
            if nb.liquidation_nb(S, W, P, I, k, *default_brackets()):
                return bar
    return -1


async def test_a_cross_wallet_is_liquidated_at_the_bar_the_vector_kernel_liquidates(
    make_rig: MakeRig,
) -> None:
    rig = await _cross_rig_with_btc_long(make_rig)
    paper_bar = -1
    for bar, (btc, eth) in enumerate(BARS):
        await rig.tick(BTC_PERP, (bar + 1) * MIN, btc)
        await rig.tick(ETH_PERP, (bar + 1) * MIN, eth)
        if not rig.portfolio.positions(PAPER_PERP):
            paper_bar = bar
            break
    assert paper_bar == 3
    assert _vector_liquidation_bar() == paper_bar
    assert {t.exit_reason for t in rig.recorder.of(topics.TRADE_CLOSED)} == {"liquidation"}
