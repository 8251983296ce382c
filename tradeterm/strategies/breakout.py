"""Breakout: enter when the close leaves the Donchian channel of the previous bars.

A long needs the close above the highest high of the previous `channel` bars (the prior bar's
upper channel); a short, below the lowest low. Only the first bar of a breakout run signals.
Confidence grows with how far the close cleared the channel, in ATRs: 0.5 just above it, 1.0 one
ATR beyond.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from tradeterm.domain.series import BarSeries
from tradeterm.indicators import atr, donchian
from tradeterm.strategies.base import (
    SignalFrame,
    Strategy,
    StrategyParams,
    fresh,
    previous,
    wilder_settle_bars,
)
from tradeterm.strategies.registry import register_strategy


class BreakoutParams(StrategyParams):
    """Knobs of the Donchian breakout strategy."""

    channel: int = Field(48, ge=5, le=500, description="Donchian channel length (bars).")
    min_clear_atr: float = Field(
        0.25,
        ge=0.0,
        le=3.0,
        description="How far (in ATRs) the close must clear the channel to count as a breakout.",
    )


@register_strategy
class Breakout(Strategy[BreakoutParams]):
    """Donchian channel breakout (close beyond the prior bar's channel) with an ATR stop.

    Lookback: the channel plus two bars (prior channel, fresh-run check), or ATR's Wilder
    settling time if longer.
    """

    name = "breakout"
    version = "1.0.0"
    params_model = BreakoutParams

    @classmethod
    def lookback(cls, params: BreakoutParams) -> int:
        return max(params.channel + 2, wilder_settle_bars(params.atr_period) + 1)

    @classmethod
    def evaluate(cls, bars: BarSeries, params: BreakoutParams) -> SignalFrame:
        high, low, close = bars.high, bars.low, bars.close
        upper, lower = donchian(high, low, params.channel)
        ceiling, floor = previous(upper), previous(lower)
        vol = atr(high, low, close, params.atr_period)
        margin = params.min_clear_atr * vol
        with np.errstate(invalid="ignore"):
            long_ = fresh(close > ceiling + margin)
            short = fresh(close < floor - margin)
            cleared = np.where(long_, close - ceiling, floor - close) / vol
        side = long_.astype(np.int8) - short.astype(np.int8)
        return SignalFrame.from_atr_stops(
            side,
            close,
            vol,
            stop_atr=params.stop_atr,
            reward_risk=params.reward_risk,
            confidence=0.5 + 0.5 * cleared,
        )
