"""Synthetic index generators modelled on Deriv's (volatility, crash/boom, step, jump indices).

Each generator keeps the UNROUNDED index level as its state and publishes quotes rounded to the
pip, the way Deriv's feed does. Prices are drawn in fixed-size chunks from a numpy Generator seeded
per symbol from (seed, symbol) with a stable hash, so the same seed and start time always give the
same ticks, however the caller consumes them. Maths: /work/shared/venues/PROTOCOLS.md section 2.

dt is the tick interval in years of 365 days (1 s -> 1/31_536_000).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

SECONDS_PER_YEAR = 31_536_000
SECONDS_PER_DAY = 86_400
DEFAULT_CHUNK = 4096


def normal_cdf(x: float) -> float:
    """Phi(x), the standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


FOLDED_NORMAL_MEAN = math.sqrt(2.0 / math.pi) * math.exp(-0.5) + (1.0 - 2.0 * normal_cdf(-1.0))
"""E|X| for X ~ N(1, 1), the mean crash/boom move size before scaling (about 1.1666)."""


def folded_normal_mgf(t: float) -> float:
    """E[exp(t|X|)] for X ~ N(1, 1): the moment generating function of the folded normal."""
    half_t2 = 0.5 * t * t
    return math.exp(half_t2 + t) * normal_cdf(1.0 + t) + math.exp(half_t2 - t) * normal_cdf(t - 1.0)


def solve_normal_tick(p_event: float, t_event: float) -> float:
    """The log-move scale of an ordinary crash/boom tick that makes the index a martingale.

    Solves (1 - p) * M(t) + p * M(t_event) = 1 for t by bisection (M is increasing), so the
    expected price one tick ahead equals the price now.
    """
    target = (1.0 - p_event * folded_normal_mgf(t_event)) / (1.0 - p_event)
    lo, hi = -1e-3, 1e-3
    while folded_normal_mgf(lo) > target:
        lo *= 2.0
    while folded_normal_mgf(hi) < target:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if folded_normal_mgf(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def symbol_seed(seed: int, symbol: str) -> int:
    """A stable 128-bit seed for one symbol (never Python's salted hash())."""
    digest = hashlib.blake2b(f"{seed}|{symbol}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def symbol_rng(seed: int, symbol: str) -> np.random.Generator:
    """The random stream of one symbol under one venue seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(symbol_seed(seed, symbol))))


def decimals_of(step: float) -> int:
    """Decimals needed to print multiples of `step` exactly (0.01 -> 2, 0.1 -> 1)."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def round_to_pip(path: F64, pip: float) -> F64:
    """Quotes as Deriv publishes them: the level rounded to the nearest pip."""
    return np.round(np.rint(path / pip) * pip, decimals_of(pip))


class IndexModel(Protocol):
    """The law of one synthetic index: how the level moves from one tick to the next."""

    def path(self, level: float, rng: np.random.Generator, n: int) -> tuple[F64, BOOL]:
        """The next `n` unrounded levels after `level`, and which ticks were events
        (crash/boom spikes, jumps)."""
        ...


def _multiply(level: float, log_returns: F64) -> F64:
    return np.asarray(level * np.exp(np.cumsum(log_returns)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class VolatilityModel:
    """Volatility index: driftless geometric Brownian motion with constant sigma
    (R_100 and 1HZ100V: sigma = 1.00, i.e. 100 % a year)."""

    sigma: float
    interval_s: float

    def path(self, level: float, rng: np.random.Generator, n: int) -> tuple[F64, BOOL]:
        dt = self.interval_s / SECONDS_PER_YEAR
        z = rng.standard_normal(n)
        log_returns = -0.5 * self.sigma**2 * dt + self.sigma * math.sqrt(dt) * z
        return _multiply(level, log_returns), np.zeros(n, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class CrashBoomModel:
    """Crash N / Boom N: on average one tick in N is a crash (down) or a spike (up); ordinary
    ticks drift the other way just enough for the index to stay a martingale.

    Move sizes are folded normal, |X| with X ~ N(1, 1); the mean event move is
    event_scale * ln(1 - 1/N) in log terms (about 1/N of the price).
    """

    n: float
    interval_s: float = 1.0
    direction: int = -1
    event_scale: float = 1.0
    t_event: float = field(init=False)
    t_normal: float = field(init=False)

    def __post_init__(self) -> None:
        if self.n <= 1:
            raise ValueError(f"crash/boom N must be > 1, got {self.n}")
        if self.direction not in (-1, 1):
            raise ValueError("crash/boom direction must be -1 (crash) or +1 (boom)")
        mean_event = self.event_scale * abs(math.log(1.0 - 1.0 / self.n))
        t_event = self.direction * mean_event / FOLDED_NORMAL_MEAN
        object.__setattr__(self, "t_event", t_event)
        object.__setattr__(self, "t_normal", solve_normal_tick(self.p_event, t_event))

    @property
    def p_event(self) -> float:
        """Probability that a tick is a crash (or spike)."""
        return 1.0 / self.n

    @property
    def mean_event_tick(self) -> float:
        """Deriv's MDT (crash, < 0) or MUT (boom, > 0): mean event log-move per sqrt(dt)."""
        return self.t_event * FOLDED_NORMAL_MEAN / math.sqrt(self.interval_s / SECONDS_PER_YEAR)

    def path(self, level: float, rng: np.random.Generator, n: int) -> tuple[F64, BOOL]:
        u = rng.random(n)
        size = np.abs(rng.normal(1.0, 1.0, n))
        events = u < self.p_event
        log_returns = np.where(events, self.t_event, self.t_normal) * size
        return _multiply(level, log_returns), events


@dataclass(frozen=True, slots=True)
class JumpModel:
    """Jump index: GBM plus rare symmetric jumps about `jump_scale` times an ordinary move,
    `jumps_per_day` of them on average (Deriv: 72 a day, 30x)."""

    sigma: float
    interval_s: float = 1.0
    jumps_per_day: float = 72.0
    jump_scale: float = 30.0

    @property
    def p_jump(self) -> float:
        """Per-tick jump probability P = (lambda dt) exp(-lambda dt), dt in days' seconds."""
        rate = self.jumps_per_day * self.interval_s / SECONDS_PER_DAY
        return rate * math.exp(-rate)

    def path(self, level: float, rng: np.random.Generator, n: int) -> tuple[F64, BOOL]:
        dt = self.interval_s / SECONDS_PER_YEAR
        vol = self.sigma * math.sqrt(dt)
        u = rng.random(n)
        z1 = rng.standard_normal(n)
        z2 = rng.standard_normal(n)
        jumps = u < self.p_jump
        mu_jump = -0.5 * self.jump_scale**2 * self.sigma**2
        log_returns = -0.5 * self.sigma**2 * dt + vol * z1
        log_returns = log_returns + np.where(jumps, mu_jump * dt + self.jump_scale * vol * z2, 0.0)
        return _multiply(level, log_returns), jumps


@dataclass(frozen=True, slots=True)
class StepModel:
    """Step index: every tick moves exactly +step or -step with equal odds. Works in whole pips
    so a million steps leave no floating-point dust."""

    step: float = 0.1
    pip: float = 0.1

    def path(self, level: float, rng: np.random.Generator, n: int) -> tuple[F64, BOOL]:
        step_pips = round(self.step / self.pip)
        start = round(level / self.pip)
        moves = np.where(rng.random(n) > 0.5, step_pips, -step_pips).astype(np.int64)
        pips = start + np.cumsum(moves)
        return round_to_pip(pips.astype(np.float64) * self.pip, self.pip), np.zeros(n, np.bool_)


@dataclass(frozen=True, slots=True)
class QuoteChunk:
    """A run of consecutive ticks of one index: times (epoch ms), quotes rounded to the pip, and
    which ticks were events."""

    ts: I64
    quote: F64
    events: BOOL


class IndexGenerator:
    """The tick source of one synthetic index: cadence, pip, unrounded level and random stream.

    Ticks fall on whole multiples of the interval in epoch time (a 2-second index ticks on even
    seconds). Chunks always have the same size, so the draws never depend on how they are read.
    """

    def __init__(
        self,
        model: IndexModel,
        *,
        pip: float,
        interval_ms: int,
        rng: np.random.Generator,
        start_ms: int,
        start_price: float,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        if start_price <= 0 or pip <= 0 or interval_ms <= 0 or chunk_size <= 0:
            raise ValueError("start price, pip, interval and chunk size must be positive")
        self.model = model
        self.pip = pip
        self.interval_ms = interval_ms
        self.chunk_size = chunk_size
        self._rng = rng
        self._level = float(start_price)
        self._next_ts = -(-start_ms // interval_ms) * interval_ms

    @property
    def level(self) -> float:
        """The current unrounded index level (the last tick's, or the start price)."""
        return self._level

    @property
    def next_ts(self) -> int:
        """Epoch ms of the first tick the next chunk will hold."""
        return self._next_ts

    def next_chunk(self) -> QuoteChunk:
        """The next `chunk_size` ticks."""
        n = self.chunk_size
        path, events = self.model.path(self._level, self._rng, n)
        self._level = float(path[-1])
        ts = self._next_ts + self.interval_ms * np.arange(n, dtype=np.int64)
        self._next_ts += n * self.interval_ms
        return QuoteChunk(ts, round_to_pip(path, self.pip), events)
