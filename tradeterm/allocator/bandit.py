"""The bandit: what each symbol x strategy arm has earned, in R, and how much to trust it.

An arm is one strategy instance on one market (`arm_id(strategy, venue, symbol)`). Each closed
trade is a pull with reward `r_multiple` (profit in units of the risk taken at entry).

Per arm, `ArmStats` keeps:
- an EWMA of R and of R^2 with a half-life of `reward_halflife_trades` (bias-corrected by the sum
  of EWMA weights, so the first trade counts fully);
- the cumulative R and its running peak (the arm's own equity curve in R) for the drawdown;
- wins, losses and the R they made (win rate and payoff for the risk engine's sizing);
- `pulls`: the number of closed trades, time-decayed.

Value of an arm (what it is expected to earn per trade, in R):
    value = EWMA(R) - drawdown_penalty * drawdown / max(pulls, 1)
The drawdown (R below the arm's best cumulative R) is spread over the arm's trades so the penalty
has the unit of expectancy: R given back per trade of evidence. A losing arm (-0.2 R a trade)
slides steadily from its peak, so its penalty approaches 0.2 * drawdown_penalty; a winning arm's
shallow dips cost it almost nothing.

Time decay (lazy): evidence - pulls, EWMA weight, wins, losses, their R, cumulative and peak R -
is multiplied by 0.5 ** (idle days / decay_halflife_days) whenever the arm is read or rewarded.
Means (EWMA values, win rate, payoff) are unchanged by decay; the confidence in them shrinks, and
the next trade after a long pause moves the EWMA more.

Thompson sampling (default): a Normal posterior on the arm's mean R with a weak prior of mean 0,
sd `prior_sd`, worth `prior_trades` trades. With n = min(pulls, the EWMA's effective sample size
(1 + d) / (1 - d), d the per-trade EWMA decay) - the EWMA cannot know more than that many trades:
    mean  = n * value / (n + prior_trades)
    sigma = max(sd_floor, sqrt((prior_trades * prior_sd^2 + n * var) / (n + prior_trades)))
    sd    = sigma / sqrt(n + prior_trades)
A new arm draws from N(0, prior_sd / sqrt(prior_trades)): taken about half the time on exploit.

UCB1: score = value + ucb_c * sqrt(ln(total_pulls + 1) / (pulls + 1)), total over every arm.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

import numpy as np

Method = Literal["thompson", "ucb1"]
DAY_MS = 86_400_000


def evidence_decay(elapsed_ms: int, halflife_days: float) -> float:
    """The factor an arm's evidence is multiplied by after `elapsed_ms` without trades
    (numba-compatible: the vector backtester decays its arm records with it)."""
    return float(0.5 ** (elapsed_ms / DAY_MS / halflife_days))


def arm_win_rate(wins: float, losses: float) -> float:
    """Wins over counted trades (0 before any)."""
    counted = wins + losses
    return wins / counted if counted > 0 else 0.0


def arm_payoff(wins: float, losses: float, win_r: float, loss_r: float) -> float:
    """Average winning R over average losing R (0 until the arm has both)."""
    if wins <= 0 or losses <= 0 or loss_r <= 0:
        return 0.0
    return (win_r / wins) / (loss_r / losses)


@dataclass(frozen=True, slots=True)
class ArmStats:
    """What the allocator has learned about one arm, as of `as_of_ms` (decayed to that time)."""

    pulls: float = 0.0
    weight: float = 0.0
    mean_r: float = 0.0
    mean_r2: float = 0.0
    cum_r: float = 0.0
    peak_r: float = 0.0
    wins: float = 0.0
    losses: float = 0.0
    win_r: float = 0.0
    loss_r: float = 0.0
    trades: int = 0
    last_trade_ms: int = 0
    as_of_ms: int = 0

    @property
    def drawdown(self) -> float:
        """R below the arm's best cumulative R (0 at a new high)."""
        return max(0.0, self.peak_r - self.cum_r)

    @property
    def variance(self) -> float:
        """EWMA variance of R per trade."""
        return max(0.0, self.mean_r2 - self.mean_r * self.mean_r)

    @property
    def win_rate(self) -> float:
        return arm_win_rate(self.wins, self.losses)

    @property
    def payoff(self) -> float:
        """Average winning R over average losing R (0 until the arm has both)."""
        return arm_payoff(self.wins, self.losses, self.win_r, self.loss_r)

    def decayed(self, now_ms: int, halflife_days: float) -> ArmStats:
        """These stats as of `now_ms`: evidence halves every `halflife_days` without trades."""
        elapsed = now_ms - self.as_of_ms
        if elapsed <= 0 or self.pulls <= 0:
            return self if elapsed <= 0 else replace(self, as_of_ms=now_ms)
        f = evidence_decay(elapsed, halflife_days)
        return replace(
            self,
            pulls=self.pulls * f,
            weight=self.weight * f,
            cum_r=self.cum_r * f,
            peak_r=self.peak_r * f,
            wins=self.wins * f,
            losses=self.losses * f,
            win_r=self.win_r * f,
            loss_r=self.loss_r * f,
            as_of_ms=now_ms,
        )

    def with_trade(self, r: float, won: bool, ts_ms: int, ewma_decay: float) -> ArmStats:
        """These stats after one more closed trade worth `r` R (self must be decayed to ts_ms)."""
        weight = self.weight * ewma_decay + 1.0
        k = 1.0 / weight
        cum = self.cum_r + r
        return ArmStats(
            pulls=self.pulls + 1.0,
            weight=weight,
            mean_r=self.mean_r + (r - self.mean_r) * k,
            mean_r2=self.mean_r2 + (r * r - self.mean_r2) * k,
            cum_r=cum,
            peak_r=max(self.peak_r, cum),
            wins=self.wins + (1.0 if won else 0.0),
            losses=self.losses + (0.0 if won else 1.0),
            win_r=self.win_r + (r if won else 0.0),
            loss_r=self.loss_r + (0.0 if won else max(0.0, -r)),
            trades=self.trades + 1,
            last_trade_ms=ts_ms,
            as_of_ms=max(self.as_of_ms, ts_ms),
        )


@dataclass(frozen=True, slots=True)
class ArmSnapshot:
    """One arm as the console shows it: posterior mean R, evidence, win rate, payoff."""

    arm: str
    mean: float
    sd: float
    value: float
    pulls: float
    trades: int
    win_rate: float
    payoff: float
    drawdown: float
    last_update: int


def _stats_from_dict(data: dict[str, Any]) -> ArmStats:
    known = {f.name: f.type for f in fields(ArmStats)}
    values: dict[str, Any] = {}
    for name, kind in known.items():
        if name in data:
            values[name] = int(data[name]) if kind in ("int", int) else float(data[name])
    return ArmStats(**values)


class Bandit:
    """Scores arms for the allocator (Thompson draw or UCB1 index) and learns from rewards."""

    def __init__(
        self,
        method: Method = "thompson",
        *,
        reward_halflife_trades: float = 20.0,
        drawdown_penalty: float = 0.5,
        decay_halflife_days: float = 14.0,
        ucb_c: float = 1.4,
        seed: int = 11,
        prior_sd: float = 1.0,
        prior_trades: float = 2.0,
        sd_floor: float = 0.25,
    ) -> None:
        self.method: Method = method
        self.drawdown_penalty = drawdown_penalty
        self.decay_halflife_days = decay_halflife_days
        self.ucb_c = ucb_c
        self.prior_sd = prior_sd
        self.prior_trades = prior_trades
        self.sd_floor = sd_floor
        self.ewma_decay = 0.5 ** (1.0 / reward_halflife_trades)
        self.ewma_trades = (1.0 + self.ewma_decay) / (1.0 - self.ewma_decay)
        self.rng = np.random.default_rng(seed)
        self._arms: dict[str, ArmStats] = {}

    # ---- reading ---------------------------------------------------------------------------
    def stats(self, arm: str, now_ms: int) -> ArmStats:
        """The arm's stats decayed to `now_ms` (a new arm: empty stats)."""
        found = self._arms.get(arm)
        if found is None:
            return ArmStats(as_of_ms=now_ms)
        return found.decayed(now_ms, self.decay_halflife_days)

    def arm_ids(self) -> list[str]:
        return sorted(self._arms)

    def value(self, stats: ArmStats) -> float:
        """Expected R per trade: EWMA of R minus the drawdown penalty."""
        if stats.pulls <= 0:
            return 0.0
        return stats.mean_r - self.drawdown_penalty * stats.drawdown / max(stats.pulls, 1.0)

    def posterior(self, stats: ArmStats) -> tuple[float, float]:
        """Mean and sd of the Normal posterior on the arm's expected R (see module docstring)."""
        n = min(stats.pulls, self.ewma_trades)
        total = n + self.prior_trades
        mean = n * self.value(stats) / total
        blended = (self.prior_trades * self.prior_sd**2 + n * stats.variance) / total
        sigma = max(self.sd_floor, math.sqrt(blended))
        return mean, sigma / math.sqrt(total)

    def ucb_index(self, stats: ArmStats, total_pulls: float) -> float:
        bonus = self.ucb_c * math.sqrt(math.log(total_pulls + 1.0) / (stats.pulls + 1.0))
        return self.value(stats) + bonus

    def total_pulls(self, now_ms: int) -> float:
        return sum(self.stats(arm, now_ms).pulls for arm in self._arms)

    # ---- deciding --------------------------------------------------------------------------
    def score(self, arm: str, now_ms: int) -> float:
        """The arm's score in R: a Thompson draw or the UCB1 index. Positive means take it."""
        stats = self.stats(arm, now_ms)
        if self.method == "ucb1":
            return self.ucb_index(stats, self.total_pulls(now_ms))
        mean, sd = self.posterior(stats)
        return mean + sd * float(self.rng.standard_normal())

    def uniform(self) -> float:
        """A uniform draw in [0, 1) from the bandit's seeded generator (exploration coin)."""
        return float(self.rng.random())

    # ---- learning --------------------------------------------------------------------------
    def reward(self, arm: str, r: float, won: bool, ts_ms: int) -> ArmStats:
        """Learn one closed trade of `r` R on `arm`; returns the arm's new stats."""
        updated = self.stats(arm, ts_ms).with_trade(r, won, ts_ms, self.ewma_decay)
        self._arms[arm] = updated
        return updated

    def snapshot(self, arm: str, now_ms: int) -> ArmSnapshot:
        stats = self.stats(arm, now_ms)
        mean, sd = self.posterior(stats)
        return ArmSnapshot(
            arm=arm,
            mean=mean,
            sd=sd,
            value=self.value(stats),
            pulls=stats.pulls,
            trades=stats.trades,
            win_rate=stats.win_rate,
            payoff=stats.payoff,
            drawdown=stats.drawdown,
            last_update=stats.last_trade_ms,
        )

    def snapshots(self, now_ms: int) -> list[ArmSnapshot]:
        """Every known arm, best posterior mean first."""
        snaps = [self.snapshot(arm, now_ms) for arm in self._arms]
        return sorted(snaps, key=lambda s: (-s.mean, s.arm))

    # ---- persistence -----------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """JSON-safe state: every arm's stats (as of their last update) and the generator."""
        return {
            "method": self.method,
            "rng": self.rng.bit_generator.state,
            "arms": {arm: asdict(stats) for arm, stats in sorted(self._arms.items())},
        }

    def import_state(self, data: dict[str, Any]) -> None:
        """Restore from `export_state` output (unknown fields are ignored)."""
        arms = data.get("arms", {})
        self._arms = {str(arm): _stats_from_dict(dict(raw)) for arm, raw in arms.items()}
        rng_state = data.get("rng")
        if (
            isinstance(rng_state, dict)
            and rng_state.get("bit_generator") == type(self.rng.bit_generator).__name__
        ):
            self.rng.bit_generator.state = rng_state
