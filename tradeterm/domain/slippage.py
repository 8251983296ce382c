"""Measured slippage: what each fill paid against the price the decision was made at, and the
per-pair model fitted to it in the cost model's own terms (tradeterm.domain.costs).

A sample's `bps` is signed so that adverse is positive: a buy filled above its decision price,
or a sell below it, paid slippage. The decision price is the mid the gate priced an entry at,
the mark when an exit or a flatten was decided, the level of a stop. `half_spread_bps` is half
the quoted spread at the fill (0 when no quote was known): the cost model charges the spread
separately, so the model is fitted to what lies beyond it, `bps - half_spread_bps`.

The fitted model is `excess_bps = fixed_bps + atr_coef * vol_bps` with `vol_bps` the bar's ATR
as bps of price: exactly `costs.slip_fraction(fixed_bps, atr_coef, atr, price)` x 1e4. The fit
is robust: samples further than 4 scaled MADs from the current fit are clipped to that band,
then least squares, three rounds; a negative coefficient (or no spread in volatility) falls back to the median
alone, and neither parameter goes below 0 (the gate never counts on favourable slippage).
Only taker fills (market and stop) are fitted: a resting limit fills at its price.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MAD_CLIP = 4.0
"""Samples beyond this many scaled median absolute deviations are clipped before the fit."""


def slippage_bps(sign: int, ref: float, price: float) -> float:
    """Slippage of a fill at `price` against decision price `ref`, bps, adverse positive."""
    if ref <= 0.0:
        return 0.0
    return sign * (price - ref) / ref * 10_000.0


@dataclass(frozen=True, slots=True)
class SlippageSample:
    """One fill's slippage against its decision price (a row of the `slippage` table)."""

    fill_id: str
    client_order_id: str
    wallet_id: str
    venue: str
    symbol: str
    side: int
    purpose: str
    liquidity: str
    qty: float
    notional: float
    ref_price: float
    fill_price: float
    bps: float
    half_spread_bps: float
    atr: float
    vol_bps: float
    ts_ms: int

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @property
    def excess_bps(self) -> float:
        """Slippage beyond the half spread (what the cost model's slip term prices)."""
        return self.bps - self.half_spread_bps


@dataclass(frozen=True, slots=True)
class SlippageFit:
    """A per-pair slippage model: `fixed_bps` + `atr_coef` x ATR (the cost model's
    `slippage_bps` and `slippage_atr`), fitted on `n` taker fills; `residual` is the RMS error
    in bps of the fit on the clipped samples; `vol_bps` the median ATR in bps of price seen."""

    venue: str
    symbol: str
    fitted_ms: int
    n: int
    fixed_bps: float
    atr_coef: float
    residual: float
    vol_bps: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"

    def expected_bps(self, vol_bps: float | None = None) -> float:
        """The model's slippage in bps at `vol_bps` (default: the median volatility seen)."""
        vol = self.vol_bps if vol_bps is None else vol_bps
        return self.fixed_bps + self.atr_coef * vol


def _clip(values: Sequence[float], centre: Sequence[float] | None = None) -> list[float]:
    """Values clipped to `MAD_CLIP` scaled MADs around their median residual from `centre`."""
    base = centre if centre is not None else [0.0] * len(values)
    resid = [v - c for v, c in zip(values, base, strict=True)]
    med = statistics.median(resid)
    mad = statistics.median(abs(r - med) for r in resid) * 1.4826
    if mad <= 0.0:
        return list(values)
    lo, hi = med - MAD_CLIP * mad, med + MAD_CLIP * mad
    return [c + min(hi, max(lo, r)) for r, c in zip(resid, base, strict=True)]


def _line(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(fixed, coef) of y = fixed + coef x by least squares, both >= 0; the median of y with
    coef 0 when x has no spread or the slope is not positive."""
    n = len(x)
    mean_x = sum(x) / n
    var_x = sum((v - mean_x) ** 2 for v in x)
    if n < 3 or var_x <= 1e-12 * max(1.0, mean_x**2):
        return max(0.0, statistics.median(y)), 0.0
    mean_y = sum(y) / n
    slope = sum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(x, y, strict=True)) / var_x
    if slope <= 0.0:
        return max(0.0, statistics.median(y)), 0.0
    fixed = mean_y - slope * mean_x
    if fixed < 0.0:  # through the origin: the fixed part cannot be negative
        sxx = sum(xi * xi for xi in x)
        return 0.0, max(0.0, sum(xi * yi for xi, yi in zip(x, y, strict=True)) / sxx)
    return fixed, slope


def fit_slippage(
    venue: str, symbol: str, samples: Sequence[SlippageSample], now_ms: int
) -> SlippageFit | None:
    """Fit a pair's slippage model to its taker samples (None when there are none): least
    squares on samples winsorised around the current fit, three rounds."""
    taker = [s for s in samples if s.liquidity == "taker" and math.isfinite(s.excess_bps)]
    if not taker:
        return None
    raw = [s.excess_bps for s in taker]
    x = [s.vol_bps for s in taker]
    n = len(taker)
    y = _clip(raw)
    fixed, coef = _line(x, y)
    for _ in range(3):
        y = _clip(raw, [fixed + coef * xi for xi in x])
        fixed, coef = _line(x, y)
    resid = [yi - fixed - coef * xi for xi, yi in zip(x, y, strict=True)]
    rms = math.sqrt(sum(r * r for r in resid) / n)
    return SlippageFit(venue, symbol, now_ms, n, fixed, coef, rms, statistics.median(x))


@dataclass(frozen=True, slots=True)
class SlippageStats:
    """Summary of a pair's recorded slippage (all fills, adverse positive)."""

    venue: str
    symbol: str
    n: int
    mean_bps: float
    median_bps: float
    p90_bps: float

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(venue: str, symbol: str, samples: Sequence[SlippageSample]) -> SlippageStats:
    bps = [s.bps for s in samples]
    if not bps:
        return SlippageStats(venue, symbol, 0, math.nan, math.nan, math.nan)
    return SlippageStats(
        venue,
        symbol,
        len(bps),
        sum(bps) / len(bps),
        statistics.median(bps),
        percentile(bps, 0.9),
    )
