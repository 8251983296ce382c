"""EMA trend: enter when a fast EMA crosses a slow EMA in the direction of a strong trend.

A long needs the fast EMA crossing above the slow one while ADX says the market trends
(ADX >= threshold) and +DI > -DI says the trend is up; a short is the mirror image. Confidence
grows with ADX: 0.5 at the threshold, 1.0 at twice the threshold.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from tradeterm.domain.series import BarSeries
from tradeterm.indicators import adx, atr, ema, minus_di, plus_di
from tradeterm.strategies.base import (
    SignalFrame,
    Strategy,
    StrategyParams,
    adx_settle_bars,
    ema_settle_bars,
    previous,
    wilder_settle_bars,
)
from tradeterm.strategies.registry import register_strategy


class EmaTrendParams(StrategyParams):
    """Knobs of the EMA trend strategy."""

    fast: int = Field(12, ge=2, le=100, description="Fast EMA period (bars).")
    slow: int = Field(48, ge=5, le=200, description="Slow EMA period (bars); above `fast`.")
    adx_period: int = Field(14, ge=5, le=50, description="ADX / DI period (bars).")
    adx_threshold: float = Field(
        20.0, ge=10.0, le=50.0, description="Minimum ADX for the market to count as trending."
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaTrendParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


@register_strategy
class EmaTrend(Strategy[EmaTrendParams]):
    """Fast/slow EMA cross, traded only in the direction of an ADX-confirmed trend.

    Lookback: the slow EMA's settling time (SMA seed + ~15x its period) or ADX's double Wilder
    smoothing, whichever is longer, plus one bar to see the cross.
    """

    name = "ema_trend"
    version = "1.0.0"
    params_model = EmaTrendParams

    @classmethod
    def lookback(cls, params: EmaTrendParams) -> int:
        return 1 + max(
            ema_settle_bars(params.slow),
            adx_settle_bars(params.adx_period),
            wilder_settle_bars(params.atr_period),
        )

    @classmethod
    def evaluate(cls, bars: BarSeries, params: EmaTrendParams) -> SignalFrame:
        high, low, close = bars.high, bars.low, bars.close
        spread = ema(close, params.fast) - ema(close, params.slow)
        before = previous(spread)
        strength = adx(high, low, close, params.adx_period)
        up = plus_di(high, low, close, params.adx_period)
        down = minus_di(high, low, close, params.adx_period)
        with np.errstate(invalid="ignore"):
            trending = strength >= params.adx_threshold
            long_ = (spread > 0) & (before <= 0) & trending & (up > down)
            short = (spread < 0) & (before >= 0) & trending & (down > up)
        side = long_.astype(np.int8) - short.astype(np.int8)
        return SignalFrame.from_atr_stops(
            side,
            close,
            atr(high, low, close, params.atr_period),
            stop_atr=params.stop_atr,
            reward_risk=params.reward_risk,
            confidence=strength / (2.0 * params.adx_threshold),
        )
