"""Position sizing maths: how many units an entry may take from the wallet's equity, the distance
to its stop and the market's volatility. Pure functions of numbers; no state, no I/O.

Three ideas, applied by the risk engine in this order:

1. **Fixed-fraction (% risk) sizing.** The loss at the stop is a fixed fraction of equity:
   `risk_amount = equity * risk_fraction` and `qty = risk_amount / (|entry - stop| * contract_size)`.
2. **Volatility targeting** (`RiskConfig.sizing = "vol_target"`). The position's expected yearly
   swing in money equals `vol_target_annual * equity`, never more than the %-risk size.
3. **Kelly cap.** With at least `KELLY_MIN_TRADES` closed trades on an arm, the risk fraction is
   capped at `kelly_fraction_cap * f*`, where `f* = W - (1 - W) / R` (W = win rate, R = average
   win / average loss). A non-positive `f*` means the arm has shown no edge.
"""

from __future__ import annotations

import math

from tradeterm.domain.timeframes import TIMEFRAME_MS

KELLY_MIN_TRADES = 20
"""Closed trades an arm needs before its win rate and payoff are trusted for the Kelly cap."""

YEAR_MS = 365 * 86_400_000
"""A 365-day year: the markets traded here (synthetics, crypto) run 24/7."""


def risk_qty(
    equity: float, risk_fraction: float, entry: float, stop: float, contract_size: float = 1.0
) -> float:
    """Units whose loss at the stop equals `risk_fraction` of `equity` (0 when nothing to size).

    A $1,000 wallet risking 5% with a 2.00 stop distance takes 50 / 2 = 25 units.
    """
    distance = abs(entry - stop) * contract_size
    if distance <= 0.0 or equity <= 0.0 or risk_fraction <= 0.0:
        return 0.0
    return equity * risk_fraction / distance


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
    periods = bars_per_year(timeframe)
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


def kelly_risk_cap(win_rate: float, payoff: float, cap: float) -> float:
    """The largest risk fraction the Kelly cap allows: `cap * f*` (negative when there is no edge)."""
    return cap * kelly_fraction(win_rate, payoff)
