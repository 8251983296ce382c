"""The strategy contract: parameters with bounds, the signal frame, and the Strategy base class.

A strategy is a pure, vectorised function of closed bars and its parameters. The vector backtester
calls `signals()` once on the whole history; live trading and the event backtester call it on the
rolling window at each bar close and take the last row. Both see the same numbers because:

- `signals()` never looks ahead (row i uses only bars 0..i), and
- `lookback(params)` is long enough that indicators computed on the truncated window agree with the
  full-history values far below 1e-9 relative (see `ema_settle_bars` / `wilder_settle_bars`), and
- rows before `lookback(params) - 1` are forced flat (side 0) so a short window never trades.

Stops and targets come from ATR: entry = close of the signal bar, stop = entry -/+ stop_atr * ATR,
target = entry +/- reward_risk * |entry - stop|. With regime-aware stops (on by default) the stop
distance is then scaled by the market's regime at that bar (Kaufman's efficiency ratio: wider in
a trend, tighter in chop, never past `stop_atr_cap` ATRs) and the target moves with it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, Field

from tradeterm.domain.series import BarSeries
from tradeterm.errors import StrategyError

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]

SETTLE_TOLERANCE = 1e-13
"""How close (relative) a truncated exponential indicator must be to its full-history value."""

SignalRow = tuple[int, float, float, float, float]
"""One row of a SignalFrame: (side, entry, stop_loss, take_profit, confidence)."""


# ---------------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------------
class StrategyParams(BaseModel):
    """A strategy's tunable knobs. Every numeric field carries bounds (ge/le): they are the
    calibration search space. Subclasses add the strategy's own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    atr_period: int = Field(14, ge=2, le=100, description="ATR period (bars) used for stops.")
    stop_atr: float = Field(
        1.5, ge=0.5, le=5.0, description="Stop distance from entry, in ATRs of the signal bar."
    )
    reward_risk: float = Field(
        4.0,
        ge=1.0,
        le=10.0,
        description=(
            "Target distance as a multiple of the stop distance (reward:risk at the signal's "
            "prices; the risk gate also wants 3 net of costs, which 4 gross leaves room for)."
        ),
    )
    regime_stops: bool = Field(
        True,
        description="Regime-aware stops: tighter when the market chops, wider when it trends.",
    )
    regime_window: int = Field(
        20,
        ge=5,
        le=200,
        description="Bars of the efficiency ratio that tells trend from chop for the stops.",
    )
    trend_er: float = Field(
        0.3,
        ge=0.05,
        le=0.9,
        description="Efficiency ratio at or above which the market counts as trending.",
    )
    trend_stop_scale: float = Field(
        1.25, ge=1.0, le=2.0, description="Stop distance multiplier while trending."
    )
    chop_stop_scale: float = Field(
        0.8, ge=0.5, le=1.0, description="Stop distance multiplier while chopping."
    )
    stop_atr_cap: float = Field(
        4.0, ge=1.0, le=10.0, description="Widest stop after the regime scaling, in ATRs."
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # fail when the strategy module is imported, not in the middle of a calibration
        problems = [f"{name}: {why}" for name, why in _spec_problems(cls)]
        if problems:
            raise TypeError(f"{cls.__name__} parameter fields need bounds: {'; '.join(problems)}")


ParamKind = Literal["int", "float", "bool"]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One tunable parameter as the calibrator and `tradeterm strategies list` see it."""

    name: str
    kind: ParamKind
    default: float | int | bool
    low: float | None
    high: float | None
    description: str


def _number(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"parameter bound {value!r} is not a number")


def _bounds(meta: list[Any]) -> tuple[float | None, float | None]:
    low: float | None = None
    high: float | None = None
    for item in meta:
        if isinstance(item, Ge):
            low = _number(item.ge)
        elif isinstance(item, Gt):
            low = _number(item.gt)
        elif isinstance(item, Le):
            high = _number(item.le)
        elif isinstance(item, Lt):
            high = _number(item.lt)
    return low, high


def _kind(annotation: Any) -> ParamKind | None:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return None


def _spec_problems(model: type[BaseModel]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        low, high = _bounds(info.metadata)
        if kind is None:
            out.append((name, "must be int, float or bool"))
        elif not info.description:
            out.append((name, "needs a description"))
        elif kind != "bool" and (low is None or high is None):
            out.append((name, "needs ge= and le= bounds"))
    return out


def param_specs(model: type[StrategyParams]) -> list[ParamSpec]:
    """The parameters of a Params model with their defaults and bounds, in declaration order."""
    specs: list[ParamSpec] = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation) or "float"
        low, high = _bounds(info.metadata)
        if kind == "bool":
            low, high = None, None
        specs.append(ParamSpec(name, kind, info.default, low, high, info.description or ""))
    return specs


# ---------------------------------------------------------------------------------------------
# settle lengths for exponentially smoothed indicators
# ---------------------------------------------------------------------------------------------
def _decay_bars(keep: float) -> int:
    """Bars for a seed error multiplied by `keep` each bar to fall below SETTLE_TOLERANCE."""
    return math.ceil(math.log(SETTLE_TOLERANCE) / math.log(keep))


def ema_settle_bars(period: int) -> int:
    """Bars a TA-Lib EMA (SMA seed of `period` bars, alpha 2/(period+1)) needs on a truncated
    window to match the full-history value within SETTLE_TOLERANCE of a seed error as large as the
    price itself: seed + ln(tol)/ln(1-alpha), about 15x the period."""
    return period + _decay_bars(1.0 - 2.0 / (period + 1))


def wilder_settle_bars(period: int) -> int:
    """Bars a Wilder average (RSI, ATR: alpha 1/period, seeded by a `period`-bar mean) needs on a
    truncated window to settle within SETTLE_TOLERANCE: seed + ln(tol)/ln(1-1/period), about 30x
    the period (Wilder smoothing forgets half as fast as an EMA of the same period)."""
    return period + 1 + _decay_bars(1.0 - 1.0 / period)


def adx_settle_bars(period: int) -> int:
    """Bars ADX needs: two Wilder smoothings in a row (directional movement, then DX), seeded over
    2 * period bars; the second smoothing stretches the decay by a factor ~ k / period, covered by
    a 40x margin on the tolerance."""
    keep = 1.0 - 1.0 / period
    return 2 * period + math.ceil((math.log(SETTLE_TOLERANCE) - math.log(40.0)) / math.log(keep))


# ---------------------------------------------------------------------------------------------
# signal frame
# ---------------------------------------------------------------------------------------------
def _nan(n: int) -> F64:
    return np.full(n, np.nan, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SignalFrame:
    """A strategy's entries bar by bar: side (1 long, -1 short, 0 none) with entry, stop-loss,
    take-profit, confidence in [0, 1] and the ATR of the signal bar (NaN where side is 0). Row i
    belongs to bar i. The ATR is the indicator's own value (the risk gate's stop-width cap and
    volatility sizing read it), never derived back from the stop."""

    side: I8
    entry: F64
    stop_loss: F64
    take_profit: F64
    confidence: F64
    atr: F64

    def __post_init__(self) -> None:
        n = self.side.shape[0]
        cols = (self.entry, self.stop_loss, self.take_profit, self.confidence, self.atr)
        if any(col.shape != (n,) for col in cols) or self.side.shape != (n,):
            raise ValueError("SignalFrame columns must be 1-D arrays of equal length")

    def __len__(self) -> int:
        return int(self.side.shape[0])

    def row(self, i: int) -> SignalRow:
        """(side, entry, stop_loss, take_profit, confidence) of bar i (negative i counts back)."""
        return (
            int(self.side[i]),
            float(self.entry[i]),
            float(self.stop_loss[i]),
            float(self.take_profit[i]),
            float(self.confidence[i]),
        )

    @property
    def count(self) -> int:
        """How many bars carry an entry signal."""
        return int(np.count_nonzero(self.side))

    def signal_rows(self) -> npt.NDArray[np.intp]:
        """Indices of the bars that carry an entry signal."""
        return np.flatnonzero(self.side)

    def atr_at(self, i: int) -> float:
        """The signal bar's ATR at row i (NaN where there is no signal)."""
        return float(self.atr[i])

    @classmethod
    def flat(cls, n: int) -> SignalFrame:
        """No signal on any of `n` bars."""
        return cls(np.zeros(n, dtype=np.int8), _nan(n), _nan(n), _nan(n), _nan(n), _nan(n))

    @classmethod
    def from_atr_stops(
        cls,
        side: npt.ArrayLike,
        entry: F64,
        atr: F64,
        *,
        stop_atr: float,
        reward_risk: float,
        confidence: F64,
    ) -> SignalFrame:
        """Build a frame from raw sides: stop = entry -/+ stop_atr * atr, target = entry +/-
        reward_risk * stop distance, confidence clipped to [0, 1]. Bars whose entry, ATR or
        confidence is not a usable number are left flat."""
        sides = np.sign(np.nan_to_num(np.asarray(side, dtype=np.float64))).astype(np.int8)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(entry) & np.isfinite(atr) & (atr > 0) & np.isfinite(confidence)
        sides[~ok] = 0
        active = sides != 0
        sign = sides.astype(np.float64)
        risk = stop_atr * atr
        return cls(
            sides,
            np.where(active, entry, np.nan),
            np.where(active, entry - sign * risk, np.nan),
            np.where(active, entry + sign * reward_risk * risk, np.nan),
            np.where(active, np.clip(confidence, 0.0, 1.0), np.nan),
            np.where(active, atr, np.nan),
        )

    def keep(self, mask: npt.NDArray[np.bool_]) -> SignalFrame:
        """A copy where only bars with `mask` True keep their signal."""
        active = (self.side != 0) & mask
        return SignalFrame(
            np.where(active, self.side, 0).astype(np.int8),
            np.where(active, self.entry, np.nan),
            np.where(active, self.stop_loss, np.nan),
            np.where(active, self.take_profit, np.nan),
            np.where(active, self.confidence, np.nan),
            np.where(active, self.atr, np.nan),
        )

    def scale_stops(self, scale: F64, max_atr: float) -> SignalFrame:
        """Stops moved to `scale` times their distance from the entry (never past `max_atr`
        ATRs), targets moved with them so each row keeps its reward:risk."""
        active = self.side != 0
        sign = self.side.astype(np.float64)
        with np.errstate(invalid="ignore"):
            distance = np.abs(self.entry - self.stop_loss)
            reward_risk = np.abs(self.take_profit - self.entry) / distance
            scaled = np.minimum(distance * scale, max_atr * self.atr)
        stop = self.entry - sign * scaled
        target = self.entry + sign * reward_risk * scaled
        return SignalFrame(
            self.side,
            self.entry,
            np.where(active, stop, np.nan),
            np.where(active, target, np.nan),
            self.confidence,
            self.atr,
        )

    def clear_before(self, first_row: int) -> SignalFrame:
        """A copy with no signal on bars before `first_row` (the warm-up)."""
        if first_row <= 0 or not np.any(self.side[:first_row]):
            return self
        mask = np.arange(len(self)) >= first_row
        return self.keep(mask)


# ---------------------------------------------------------------------------------------------
# the strategy base class
# ---------------------------------------------------------------------------------------------
P = TypeVar("P", bound=StrategyParams)


class Strategy(ABC, Generic[P]):
    """A trading idea as a pure function of closed bars. Subclasses set `name`, `version` and
    `params_model`, and implement `lookback` and `evaluate`; callers use `signals`."""

    name: ClassVar[str]
    version: ClassVar[str]
    params_model: ClassVar[type[StrategyParams]]

    @classmethod
    def default_params(cls) -> StrategyParams:
        """The strategy's default parameters."""
        return cls.params_model()

    @classmethod
    @abstractmethod
    def lookback(cls, params: P) -> int:
        """Closed bars the live runner must pass so its last row equals the vectorised row."""

    @classmethod
    @abstractmethod
    def evaluate(cls, bars: BarSeries, params: P) -> SignalFrame:
        """The raw signal frame over all of `bars` (row i may use bars 0..i only)."""

    @classmethod
    def total_lookback(cls, params: P) -> int:
        """Bars `signals` needs: the strategy's own lookback, or the regime window of the
        regime-aware stops when that is longer."""
        need = cls.lookback(params)
        if params.regime_stops:
            need = max(need, params.regime_window + 1)
        return need

    @classmethod
    def signals(cls, bars: BarSeries, params: P) -> SignalFrame:
        """Signals for every bar with regime-aware stops, flat during the warm-up (rows before
        total_lookback - 1)."""
        if not isinstance(params, cls.params_model):
            raise StrategyError(
                f"strategy '{cls.name}' needs {cls.params_model.__name__}, "
                f"got {type(params).__name__}"
            )
        if len(bars) == 0:
            return SignalFrame.flat(0)
        frame = cls.evaluate(bars, params)
        if len(frame) != len(bars):
            raise StrategyError(
                f"strategy '{cls.name}' returned {len(frame)} rows for {len(bars)} bars"
            )
        if params.regime_stops:
            frame = frame.scale_stops(regime_stop_scale(bars.close, params), params.stop_atr_cap)
        return frame.clear_before(cls.total_lookback(params) - 1)


StrategyClass = type[Strategy[Any]]
"""What the registry hands out: a strategy class (strategies are used as classes, not objects)."""


def efficiency_ratio(close: F64, window: int) -> F64:
    """Kaufman's efficiency ratio at each bar: |close - close `window` bars ago| over the sum of
    the bar-to-bar moves between (1 = a straight line, near 0 = back and forth). NaN for the
    first `window` bars. Exact on any window holding `window` + 1 bars (no settling)."""
    n = close.shape[0]
    out = np.full(n, np.nan, dtype=np.float64)
    if n <= window:
        return out
    moves = np.abs(np.diff(close))
    path = np.convolve(moves, np.ones(window), mode="valid")
    net = np.abs(close[window:] - close[:-window])
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window:] = np.where(path > 0, net / path, 0.0)
    return out


def regime_stop_scale(close: F64, params: StrategyParams) -> F64:
    """Per bar, the stop multiplier of the market's regime: `trend_stop_scale` where the
    efficiency ratio says trend, `chop_stop_scale` where it says chop (chop until measured)."""
    er = efficiency_ratio(close, params.regime_window)
    with np.errstate(invalid="ignore"):
        trending = er >= params.trend_er
    return np.where(trending, params.trend_stop_scale, params.chop_stop_scale)


def previous(x: F64, fill: float = np.nan) -> F64:
    """`x` shifted one bar later: previous(x)[i] == x[i - 1] (first bar gets `fill`)."""
    out = np.empty_like(x)
    out[:1] = fill
    out[1:] = x[:-1]
    return out


def fresh(condition: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """True on the first bar of each run of `condition` (no repeat entries on the next bars)."""
    before = np.zeros_like(condition)
    before[1:] = condition[:-1]
    return condition & ~before
