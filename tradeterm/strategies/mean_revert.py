"""Mean reversion: fade a stretch beyond the Bollinger bands back toward the mean, in calm markets.

A long needs the close below the lower band (a z-score beyond `bb_dev` standard deviations) with
RSI oversold, while ADX is low (no strong trend to be run over by); a short is the mirror image.
Only the first bar of each stretch signals. Confidence grows with the z-score: 0.5 at the band,
1.0 at twice the band distance.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from tradeterm.domain.series import BarSeries
from tradeterm.indicators import adx, atr, bbands, rsi
from tradeterm.strategies.base import (
    SignalFrame,
    Strategy,
    StrategyParams,
    adx_settle_bars,
    fresh,
    wilder_settle_bars,
)
from tradeterm.strategies.registry import register_strategy


class MeanRevertParams(StrategyParams):
    """Knobs of the mean-reversion strategy."""

    bb_period: int = Field(20, ge=5, le=100, description="Bollinger band period (bars).")
    bb_dev: float = Field(
        2.0, ge=1.0, le=4.0, description="Band width in standard deviations (the z-score extreme)."
    )
    rsi_period: int = Field(14, ge=2, le=50, description="RSI period (bars).")
    rsi_low: float = Field(30.0, ge=5.0, le=45.0, description="RSI at or below: oversold (long).")
    rsi_high: float = Field(
        70.0, ge=55.0, le=95.0, description="RSI at or above: overbought (short)."
    )
    adx_period: int = Field(14, ge=5, le=50, description="ADX period (bars).")
    adx_max: float = Field(
        25.0, ge=10.0, le=50.0, description="Trade only while ADX is below this (a ranging market)."
    )

    @model_validator(mode="after")
    def _bands_ordered(self) -> MeanRevertParams:
        if self.rsi_low >= self.rsi_high:
            raise ValueError(f"rsi_low ({self.rsi_low}) must be below rsi_high ({self.rsi_high})")
        return self


@register_strategy
class MeanRevert(Strategy[MeanRevertParams]):
    """Bollinger / z-score extremes with RSI confirmation, faded in low-ADX regimes.

    Lookback: the longest of ADX's double Wilder smoothing, RSI's and ATR's Wilder smoothing and
    the band window, plus one bar to see a fresh stretch.
    """

    name = "mean_revert"
    version = "1.0.0"
    params_model = MeanRevertParams

    @classmethod
    def lookback(cls, params: MeanRevertParams) -> int:
        return 1 + max(
            adx_settle_bars(params.adx_period),
            wilder_settle_bars(params.rsi_period),
            wilder_settle_bars(params.atr_period),
            params.bb_period,
        )

    @classmethod
    def evaluate(cls, bars: BarSeries, params: MeanRevertParams) -> SignalFrame:
        high, low, close = bars.high, bars.low, bars.close
        upper, middle, lower = bbands(close, params.bb_period, params.bb_dev, params.bb_dev)
        osc = rsi(close, params.rsi_period)
        calm = adx(high, low, close, params.adx_period) < params.adx_max
        with np.errstate(invalid="ignore", divide="ignore"):
            z = params.bb_dev * (close - middle) / (upper - middle)
            long_ = fresh((close < lower) & (osc <= params.rsi_low) & calm)
            short = fresh((close > upper) & (osc >= params.rsi_high) & calm)
        side = long_.astype(np.int8) - short.astype(np.int8)
        return SignalFrame.from_atr_stops(
            side,
            close,
            atr(high, low, close, params.atr_period),
            stop_atr=params.stop_atr,
            reward_risk=params.reward_risk,
            confidence=np.abs(z) / (2.0 * params.bb_dev),
        )
