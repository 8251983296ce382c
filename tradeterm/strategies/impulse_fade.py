"""Impulse fade: sell into an exhausted spike up, buy into an exhausted spike down.

An impulse bar has a range larger than `impulse_atr` times the previous bar's ATR and closes near
its extreme (within `close_zone` of the range). When RSI confirms exhaustion (>= `rsi_high` after
an up-spike, <= `rsi_low` after a down-spike) the move is faded: short after the up-spike, long
after the down-spike. Built for Crash/Boom-style indices whose spikes retrace. Confidence is how
deep RSI went into exhaustion: 0 at the threshold, 1 at the RSI extreme (0 or 100).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from tradeterm.domain.series import BarSeries
from tradeterm.indicators import atr, rsi
from tradeterm.strategies.base import (
    SignalFrame,
    Strategy,
    StrategyParams,
    previous,
    wilder_settle_bars,
)
from tradeterm.strategies.registry import register_strategy


class ImpulseFadeParams(StrategyParams):
    """Knobs of the impulse fade strategy."""

    impulse_atr: float = Field(
        2.5, ge=1.0, le=8.0, description="Bar range, in ATRs, that makes an impulse bar."
    )
    close_zone: float = Field(
        0.25,
        ge=0.05,
        le=0.5,
        description="The close must lie within this fraction of the range from the bar's extreme.",
    )
    rsi_period: int = Field(7, ge=2, le=50, description="RSI period (bars).")
    rsi_high: float = Field(
        70.0, ge=55.0, le=99.0, description="RSI at or above after an up-spike: exhausted (short)."
    )
    rsi_low: float = Field(
        30.0, ge=1.0, le=45.0, description="RSI at or below after a down-spike: exhausted (long)."
    )

    @model_validator(mode="after")
    def _rsi_ordered(self) -> ImpulseFadeParams:
        if self.rsi_low >= self.rsi_high:
            raise ValueError(f"rsi_low ({self.rsi_low}) must be below rsi_high ({self.rsi_high})")
        return self


@register_strategy
class ImpulseFade(Strategy[ImpulseFadeParams]):
    """Fade an impulse bar (range > k x ATR, close near the extreme) after RSI exhaustion.

    Lookback: the Wilder settling time of RSI or ATR, whichever is longer, plus one bar for the
    previous bar's ATR.
    """

    name = "impulse_fade"
    version = "1.0.0"
    params_model = ImpulseFadeParams

    @classmethod
    def lookback(cls, params: ImpulseFadeParams) -> int:
        return 1 + max(wilder_settle_bars(params.rsi_period), wilder_settle_bars(params.atr_period))

    @classmethod
    def evaluate(cls, bars: BarSeries, params: ImpulseFadeParams) -> SignalFrame:
        high, low, close = bars.high, bars.low, bars.close
        vol = atr(high, low, close, params.atr_period)
        osc = rsi(close, params.rsi_period)
        span = high - low
        zone = params.close_zone * span
        with np.errstate(invalid="ignore"):
            impulse = span > params.impulse_atr * previous(vol)
            spike_up = impulse & (high - close <= zone) & (osc >= params.rsi_high)
            spike_down = impulse & (close - low <= zone) & (osc <= params.rsi_low)
            depth = np.where(
                spike_up,
                (osc - params.rsi_high) / (100.0 - params.rsi_high),
                (params.rsi_low - osc) / params.rsi_low,
            )
        side = spike_down.astype(np.int8) - spike_up.astype(np.int8)
        return SignalFrame.from_atr_stops(
            side,
            close,
            vol,
            stop_atr=params.stop_atr,
            reward_risk=params.reward_risk,
            confidence=depth,
        )
