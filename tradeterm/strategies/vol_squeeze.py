"""Volatility squeeze: after the market goes quiet, trade the first bar that breaks out of it.

The market is "squeezed" on a bar when the Bollinger bandwidth is the lowest of the last
`squeeze_window` bars, or (with `use_nr7`) when the bar is an NR7 (narrowest range of 7). Within
`arm_bars` bars after a squeeze, a close beyond the previous bar's high on the upper side of the
band middle is a long; beyond the previous low on the lower side, a short. Confidence is how far
the close cleared the previous bar's extreme, in ATRs: 0.5 just beyond it, 1.0 one ATR beyond.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tradeterm.domain.series import BarSeries
from tradeterm.indicators import atr, bbands, donchian, nr7
from tradeterm.strategies.base import (
    SignalFrame,
    Strategy,
    StrategyParams,
    fresh,
    previous,
    wilder_settle_bars,
)
from tradeterm.strategies.registry import register_strategy


class VolSqueezeParams(StrategyParams):
    """Knobs of the volatility squeeze strategy."""

    bb_period: int = Field(20, ge=5, le=100, description="Bollinger band period (bars).")
    bb_dev: float = Field(2.0, ge=1.0, le=4.0, description="Band width in standard deviations.")
    squeeze_window: int = Field(
        96, ge=10, le=500, description="Bars over which the bandwidth must be at its lowest."
    )
    use_nr7: bool = Field(
        False, description="Also count an NR7 bar (narrowest range of 7) as a squeeze."
    )
    arm_bars: int = Field(
        6, ge=1, le=50, description="Bars after a squeeze during which a breakout is taken."
    )


def _recent(flag: npt.NDArray[np.bool_], bars: int) -> npt.NDArray[np.bool_]:
    """True where `flag` was True on at least one of the previous `bars` bars (not this one)."""
    counts = np.concatenate(([0], np.cumsum(flag, dtype=np.int64)))
    idx = np.arange(flag.shape[0])
    return (counts[idx] - counts[np.maximum(idx - bars, 0)]) > 0


@register_strategy
class VolSqueeze(Strategy[VolSqueezeParams]):
    """Bollinger bandwidth at a rolling low (or NR7), then a breakout in the direction of the
    close relative to the band middle.

    Lookback: band period + squeeze window + arming bars + 2 (all finite windows), or ATR's
    Wilder settling time if longer.
    """

    name = "vol_squeeze"
    version = "1.0.0"
    params_model = VolSqueezeParams

    @classmethod
    def lookback(cls, params: VolSqueezeParams) -> int:
        windows = params.bb_period + params.squeeze_window + params.arm_bars + 2
        return max(windows, wilder_settle_bars(params.atr_period) + 1)

    @classmethod
    def evaluate(cls, bars: BarSeries, params: VolSqueezeParams) -> SignalFrame:
        high, low, close = bars.high, bars.low, bars.close
        upper, middle, _ = bbands(close, params.bb_period, params.bb_dev, params.bb_dev)
        vol = atr(high, low, close, params.atr_period)
        prior_high, prior_low = previous(high), previous(low)
        with np.errstate(invalid="ignore", divide="ignore"):
            bandwidth = 2.0 * (upper - middle) / middle
            _, tightest = donchian(bandwidth, bandwidth, params.squeeze_window)
            squeeze = bandwidth <= tightest
            if params.use_nr7:
                squeeze |= nr7(high, low, 7) == 1.0
            armed = _recent(squeeze, params.arm_bars)
            long_ = fresh(armed & (close > prior_high) & (close > middle))
            short = fresh(armed & (close < prior_low) & (close < middle))
            cleared = np.where(long_, close - prior_high, prior_low - close) / vol
        side = long_.astype(np.int8) - short.astype(np.int8)
        return SignalFrame.from_atr_stops(
            side,
            close,
            vol,
            stop_atr=params.stop_atr,
            reward_risk=params.reward_risk,
            confidence=0.5 + 0.5 * cleared,
        )
