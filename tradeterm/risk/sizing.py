"""Position sizing maths: how many units an entry may take from the wallet's equity, the money
it would lose at its stop net of costs, and the market's volatility. Pure functions of numbers
(numba-compatible: the vector backtester compiles these same functions); no state, no I/O.

Applied by the risk engine (and the vector backtester) in this order, the smallest size wins:

1. **Notional size.** The position's notional is a fixed fraction of equity (the seed's "base
   5% of the wallet per trade, canary 2%"): `qty = equity * position_size / (price * cs)`.
2. **Money at risk.** What the trade loses at its stop, net of fees, spread, slippage and
   funding (the cost model's `risk` per unit), is at most `max_risk_per_trade` of equity:
   `qty = equity * max_risk / risk_per_unit`.
3. **Volatility targeting** (`RiskConfig.sizing = "vol_target"`). The position's expected yearly
   swing in money equals `vol_target_annual * equity`.
4. **Kelly cap.** With at least `KELLY_MIN_TRADES` closed trades on an arm, the money-at-risk
   fraction is capped at `kelly_fraction_cap * f*`, where `f* = W - (1 - W) / R` (W = win rate,
   R = average net win / average net loss). A non-positive `f*` means the arm has shown no edge.
"""

from __future__ import annotations

import math

from tradeterm.domain.timeframes import TIMEFRAME_MS

KELLY_MIN_TRADES = 20
"""Closed trades an arm needs before its win rate and payoff are trusted for the Kelly cap."""

YEAR_MS = 365 * 86_400_000
"""A 365-day year: the markets traded here (synthetics, crypto) run 24/7."""


def notional_qty(equity: float, fraction: float, price: float, contract_size: float = 1.0) -> float:
    """Units whose notional is `fraction` of `equity` (0 when nothing to size).

    A $1,000 wallet at 5% buying at 100.00 takes 50 / 100 = 0.5 units.
    """
    unit = price * contract_size
    if unit <= 0.0 or equity <= 0.0 or fraction <= 0.0:
        return 0.0
    return equity * fraction / unit


def risk_qty(equity: float, risk_fraction: float, risk_per_unit: float) -> float:
    """Units whose loss at the stop, net of costs (`risk_per_unit` in money per unit), equals
    `risk_fraction` of `equity` (0 when nothing to size).

    A $1,000 wallet risking 1% with 2.20 of net risk per unit takes 10 / 2.2 = 4.545 units.
    """
    if risk_per_unit <= 0.0 or equity <= 0.0 or risk_fraction <= 0.0:
        return 0.0
    return equity * risk_fraction / risk_per_unit


def entry_qty(
    equity: float,
    position_fraction: float,
    risk_fraction: float,
    price: float,
    risk_per_unit: float,
    contract_size: float = 1.0,
) -> float:
    """The smaller of the notional size and the money-at-risk size."""
    return min(
        notional_qty(equity, position_fraction, price, contract_size),
        risk_qty(equity, risk_fraction, risk_per_unit),
    )


def bars_per_year(timeframe: str) -> float:
    """How many bars of `timeframe` fit in a 365-day year (0 for an unknown timeframe)."""
    size = TIMEFRAME_MS.get(timeframe, 0)
    return YEAR_MS / size if size > 0 else 0.0


def vol_target_qty(
    equity: float,
    vol_target_annual: float,
    atr: float,
    timeframe: str,
    contract_size: float = 1.0,
) -> float:
    """Units whose yearly price swing, in money, is `vol_target_annual * equity`.

    Annualisation: the ATR of the signal's timeframe is taken as the typical one-bar price move of
    one unit, and moves scale with the square root of time, so one unit swings about
    `atr * sqrt(bars_per_year)` in a year (365 days of 24 hours: the markets here never close; for
    markets that do, this overstates the yearly swing and so errs towards smaller positions). ATR
    is a little larger than the standard deviation of bar-to-bar changes, which also errs small.

    Returns `inf` when the ATR or timeframe is unknown, so the %-risk size alone applies.
    """
    return vol_target_units(equity, vol_target_annual, atr, bars_per_year(timeframe), contract_size)


def vol_target_units(
    equity: float, vol_target_annual: float, atr: float, periods: float, contract_size: float
) -> float:
    """`vol_target_qty` with the bars per year given (`periods`): numba-compatible."""
    unit_swing = atr * contract_size * math.sqrt(periods)
    if unit_swing <= 0.0 or equity <= 0.0:
        return math.inf
    return vol_target_annual * equity / unit_swing


def kelly_fraction(win_rate: float, payoff: float) -> float:
    """Full Kelly fraction `f* = W - (1 - W) / R`.

    `payoff` is the average win over the average loss; a payoff of 0 or less means wins pay
    nothing, so the edge is taken as -1 (no edge at all).
    """
    if payoff <= 0.0:
        return -1.0
    return win_rate - (1.0 - win_rate) / payoff


def kelly_risk_fraction(
    fraction: float,
    trades: int,
    win_rate: float,
    payoff: float,
    cap: float,
    explore: bool,
    min_trades: int = KELLY_MIN_TRADES,
) -> float:
    """The money-at-risk fraction after the Kelly cap: `fraction` until the arm has `min_trades`
    closed trades; then `cap * f*` when that is smaller; -1 when the arm shows no edge (f* <= 0)
    and the trade is not exploration (the gate denies it). Exploration keeps `fraction`."""
    if trades < min_trades:
        return fraction
    f_star = kelly_fraction(win_rate, payoff)
    if f_star <= 0.0:
        return fraction if explore else -1.0
    capped = cap * f_star
    return fraction if capped >= fraction else capped


def kelly_risk_cap(win_rate: float, payoff: float, cap: float) -> float:
    """The largest risk fraction the Kelly cap allows: `cap * f*` (negative when there is no edge)."""
    return cap * kelly_fraction(win_rate, payoff)
