"""The market regime per market: trending or choppy, bull or bear, and how volatile.

Read from the closed bars of one timeframe (the live window the node passes in):
- trend if ADX(14) >= 25, chop otherwise. Until the window holds enough bars for an ADX value
  (2 * 14 bars), there is no evidence of a trend and the market counts as CHOP - so the allocator
  explores at the chop rate while a market warms up.
- bull if the last close is above its SMA(50) AND the 50-bar log return is positive; bear
  otherwise (including a window too short to tell).
- volatility: annualised standard deviation of the last 50 bar log returns, for 24/7 markets
  (365 days a year); NaN until there are 2 returns. Shown to the operator, not used to decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tradeterm import indicators
from tradeterm.domain.enums import DirectionRegime, TrendRegime
from tradeterm.domain.series import F64, BarSeries
from tradeterm.domain.timeframes import timeframe_ms

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True, slots=True)
class Regime:
    """A market's regime at the close of the last bar the classifier saw (`ts_ms`)."""

    key: str
    trend: TrendRegime
    direction: DirectionRegime
    adx: float
    volatility: float
    ts_ms: int
    bars: int = 0

    @property
    def is_chop(self) -> bool:
        return self.trend is TrendRegime.CHOP

    @property
    def known(self) -> bool:
        """True once the window was long enough for an ADX value."""
        return not math.isnan(self.adx)

    @property
    def label(self) -> str:
        """`trend/bull`, `chop/bear`, ... as the console shows it."""
        return f"{self.trend.value}/{self.direction.value}"

    @classmethod
    def unknown(cls, key: str) -> Regime:
        """The regime of a market with no bars yet: chop, bear, nothing measured."""
        return cls(key, TrendRegime.CHOP, DirectionRegime.BEAR, math.nan, math.nan, 0, 0)


class RegimeClassifier:
    """Classifies each market from its bar window and remembers the latest regime per market."""

    def __init__(
        self,
        timeframe: str = "1m",
        *,
        adx_period: int = 14,
        adx_trend: float = 25.0,
        sma_period: int = 50,
        vol_window: int = 50,
        max_bars: int = 500,
    ) -> None:
        self.timeframe = timeframe
        self.adx_period = adx_period
        self.adx_trend = adx_trend
        self.sma_period = sma_period
        self.vol_window = vol_window
        self.max_bars = max(max_bars, 2 * adx_period + 1, sma_period + 1, vol_window + 1)
        self._bar_ms = timeframe_ms(timeframe)
        self._bars_per_year = YEAR_MS / self._bar_ms
        self._regimes: dict[str, Regime] = {}

    def update(self, key: str, bars: BarSeries) -> Regime:
        """Classify `key` from its closed bars (oldest first) and remember the result."""
        window = bars.tail(self.max_bars)
        regime = self.classify(key, window)
        self._regimes[key] = regime
        return regime

    def classify(self, key: str, bars: BarSeries) -> Regime:
        """The regime of a window of closed bars, without remembering it."""
        n = len(bars)
        if n == 0:
            return Regime.unknown(key)
        adx = self._adx(bars)
        trend = TrendRegime.TREND if adx >= self.adx_trend else TrendRegime.CHOP
        return Regime(
            key=key,
            trend=trend,
            direction=self._direction(bars.close),
            adx=adx,
            volatility=self._volatility(bars.close),
            ts_ms=int(bars.open_ms[-1]) + self._bar_ms,
            bars=n,
        )

    def regime(self, key: str) -> Regime:
        """The latest regime of `key` (unknown: chop, see the module docstring)."""
        found = self._regimes.get(key)
        return found if found is not None else Regime.unknown(key)

    def regimes(self) -> dict[str, Regime]:
        return dict(self._regimes)

    # ---- measures --------------------------------------------------------------------------
    def _adx(self, bars: BarSeries) -> float:
        if len(bars) < 2 * self.adx_period:
            return math.nan
        values = indicators.adx(bars.high, bars.low, bars.close, self.adx_period)
        return float(values[-1])

    def _direction(self, close: F64) -> DirectionRegime:
        n = self.sma_period
        if close.shape[0] <= n:
            return DirectionRegime.BEAR
        last = float(close[-1])
        sma = float(np.mean(close[-n:]))
        past = float(close[-n - 1])
        if last > sma and past > 0 and math.log(last / past) > 0:
            return DirectionRegime.BULL
        return DirectionRegime.BEAR

    def _volatility(self, close: F64) -> float:
        window = close[-(self.vol_window + 1) :]
        if window.shape[0] < 3 or np.any(window <= 0):
            return math.nan
        returns = np.diff(np.log(window))
        return float(np.std(returns, ddof=1) * math.sqrt(self._bars_per_year))
