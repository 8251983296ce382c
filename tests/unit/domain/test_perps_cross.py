"""Cross margin maths of domain/perps.py, worked by hand, and checked against the vector
backtester's cross branch (nb.py `liquidation_nb`): one formula for both.

Hand numbers (first bracket: MMR 0.4 %, cum 0). A cross long of Q = 1 at EP = 3000 in a wallet
of WB = 1000 with nothing else open: LP = (WB - Q x EP) / (Q x 0.004 - Q) = 2000 / 0.996 =
2008.03... Add a long of 0.01 BTC from 60,000 marked at 57,000: its maintenance margin is
570 x 0.004 = 2.28 and its unrealised PnL -30, so LP = (1000 - 2.28 - 30 - 3000) / -0.996 =
2040.44...: the other position's loss pulls the liquidation price in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeterm.domain.perps import (
    CrossLeg,
    cross_liquidated,
    cross_liquidation_price,
    cross_others,
)

ONE = (3000.0 - 1000.0) / 0.996
BTC_LOSING = CrossLeg(1, 0.01, 60_000.0, 57_000.0)
TWO = (3000.0 - 1000.0 + 2.28 + 30.0) / 0.996


def test_one_cross_position_is_backed_by_the_whole_wallet() -> None:
    assert cross_liquidation_price(1, 1.0, 3000.0, 1000.0) == pytest.approx(ONE)
    assert not cross_liquidated(1, 1.0, 3000.0, ONE + 0.5, 1000.0)
    assert cross_liquidated(1, 1.0, 3000.0, ONE - 0.5, 1000.0)
    # a short: LP = (WB + Q x EP) / (Q x 0.004 + Q) = 4000 / 1.004
    short = 4000.0 / 1.004
    assert cross_liquidation_price(-1, 1.0, 3000.0, 1000.0) == pytest.approx(short)
    assert not cross_liquidated(-1, 1.0, 3000.0, short - 0.5, 1000.0)
    assert cross_liquidated(-1, 1.0, 3000.0, short + 0.5, 1000.0)
    # a wallet that covers the whole notional: no liquidation price
    assert math.isnan(cross_liquidation_price(1, 1.0, 3000.0, 3000.0))


def test_another_positions_loss_pulls_the_liquidation_price_in() -> None:
    assert cross_others([BTC_LOSING]) == pytest.approx((2.28, -30.0))
    assert cross_liquidation_price(1, 1.0, 3000.0, 1000.0, [BTC_LOSING]) == pytest.approx(TWO)
    assert TWO > ONE + 30.0  # 30 of loss and 2.28 of margin move it up by 32.28 / 0.996
    between = (ONE + TWO) / 2
    assert not cross_liquidated(1, 1.0, 3000.0, between, 1000.0)
    assert cross_liquidated(1, 1.0, 3000.0, between, 1000.0, [BTC_LOSING])
    # a winning other position pushes it out
    winning = CrossLeg(1, 0.01, 60_000.0, 63_000.0)
    assert cross_liquidation_price(1, 1.0, 3000.0, 1000.0, [winning]) < ONE


def _kernel(
    wallet: float, legs: list[tuple[int, float, float, float]], k: int, cross: bool = True
) -> bool:
    """nb.liquidation_nb on state arrays holding `legs` (side, units, entry, mark)."""
    from tradeterm.backtest.vector import nb
    from tradeterm.domain.margin import default_brackets

    S = np.zeros((len(legs), nb.NS))
    P = np.zeros((len(legs), nb.NP))
    W = np.zeros(nb.NW)
    I = np.zeros(nb.NI, dtype=np.int64)  # noqa: E741
    W[nb.W_BAL] = wallet
    I[nb.I_CROSS] = int(cross)
    for j, (side, qty, entry, mark) in enumerate(legs):
        S[j, nb.S_SIDE], S[j, nb.S_QTY], S[j, nb.S_ENTRY], S[j, nb.S_PRICE] = side, qty, entry, mark
        P[j, nb.P_CS], P[j, nb.P_LEV], P[j, nb.P_PERP] = 1.0, 10.0, 1.0
    return bool(nb.liquidation_nb(S, W, P, I, k, *default_brackets()))


def test_the_paper_cross_test_is_the_vector_kernels_on_random_wallets() -> None:
    """Wallets of 1-4 positions near their liquidation: the paper function and the compiled
    cross branch agree on every one (and both answers occur)."""
    rng = np.random.default_rng(13)
    seen = set()
    for _ in range(400):
        n = int(rng.integers(1, 5))
        legs = []
        for _ in range(n):
            side = int(rng.choice([-1, 1]))
            qty = float(rng.uniform(0.1, 50.0))
            entry = float(rng.uniform(50.0, 5000.0))
            mark = entry * float(rng.uniform(0.7, 1.3))
            legs.append((side, qty, entry, mark))
        k = int(rng.integers(0, n))
        side, qty, entry, mark = legs[k]
        others = [CrossLeg(*leg) for j, leg in enumerate(legs) if j != k]
        mm, upnl = cross_others(others)
        own = side * (mark - entry) * qty
        wallet = mm - upnl - own + qty * mark * 0.004 + float(rng.normal(0.0, 50.0))
        paper = cross_liquidated(side, qty, entry, mark, wallet, others)
        assert paper == _kernel(wallet, legs, k), (legs, k, wallet)
        seen.add(paper)
    assert seen == {True, False}
