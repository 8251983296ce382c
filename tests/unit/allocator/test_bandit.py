"""The bandit learns which arms earn: it backs the better arm, keeps exploring at the floor, freezes
when learning is off, and forgets stale evidence with time."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.allocator.conftest import T0, make_allocator, ramp_bars, signal, trade, zigzag_bars
from tradeterm.allocator import Allocator, Bandit
from tradeterm.clock import SimClock

DAY_MS = 86_400_000
GOOD, BAD = "GOODUSDT", "BADUSDT"


def _play(
    allocator: Allocator, clock: SimClock, rounds: int, *, means: dict[str, float], seed: int = 3
) -> dict[str, list[bool]]:
    """Each round one signal per arm; a taken signal closes at once with R ~ N(mean, 1)."""
    noise = np.random.default_rng(seed)
    taken: dict[str, list[bool]] = {sym: [] for sym in means}
    for i in range(rounds):
        clock.set_time(T0 + i * 60_000)
        for sym, mean in means.items():
            decision, intent = allocator.on_signal(signal(sym, i))
            taken[sym].append(decision.taken)
            if intent is not None:
                r = float(mean + noise.standard_normal())
                allocator.on_trade_closed(trade(sym, r, n=i, closed_ms=clock.now_ms()))
    return taken


def _trend_everywhere(allocator: Allocator, *symbols: str) -> None:
    for sym in symbols:
        allocator.update_regime(f"sim:{sym}", ramp_bars())


@pytest.mark.parametrize("method", ["thompson", "ucb1"])
@pytest.mark.parametrize("seed", [3, 4])
def test_the_better_arm_gets_the_capital(method: str, seed: int) -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock, method=method, seed=seed)
    _trend_everywhere(allocator, GOOD, BAD)
    taken = _play(allocator, clock, 700, means={GOOD: 0.3, BAD: -0.2}, seed=seed)
    good_rate = float(np.mean(taken[GOOD][-300:]))
    bad_rate = float(np.mean(taken[BAD][-300:]))
    assert good_rate > 0.8
    assert bad_rate < 0.35
    assert good_rate - bad_rate > 0.55
    best, worst = allocator.arms()  # best posterior mean first
    assert best.arm == "ema_trend|sim:GOODUSDT"
    assert worst.arm == "ema_trend|sim:BADUSDT" and worst.mean < 0
    assert best.trades > 2 * worst.trades


def test_a_new_arm_is_tried_sometimes_on_its_prior() -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock)
    _trend_everywhere(allocator, "NEWUSDT")
    allocator.set_learning(False)  # stays new
    decisions = [allocator.on_signal(signal("NEWUSDT", i))[0] for i in range(400)]
    exploit = [d for d in decisions if not d.explore]
    share = sum(d.taken for d in exploit) / len(exploit)
    assert 0.35 < share < 0.65  # a draw from N(0, sd) is above zero about half the time


def _bad_arm(clock: SimClock) -> Allocator:
    allocator = make_allocator(clock)
    for i in range(60):
        allocator.on_trade_closed(trade(BAD, -1.0, n=i, closed_ms=T0))
    allocator.set_learning(False)
    return allocator


def test_the_exploration_floor_holds_for_a_losing_arm() -> None:
    clock = SimClock(T0)
    allocator = _bad_arm(clock)
    assert allocator.set_exploration(0.01) == pytest.approx(0.10)
    _trend_everywhere(allocator, BAD)
    decisions = [allocator.on_signal(signal(BAD, i))[0] for i in range(3000)]
    taken = [d for d in decisions if d.taken]
    assert all(d.explore for d in taken)
    assert 0.08 < len(taken) / len(decisions) < 0.12
    assert taken[0].reason == "explore (10%)" and taken[0].exploration_rate == pytest.approx(0.10)
    skipped = next(d for d in decisions if not d.taken)
    assert skipped.reason.startswith("score -") and skipped.reason.endswith("R <= 0")


def test_chop_raises_exploration_to_a_quarter() -> None:
    clock = SimClock(T0)
    allocator = _bad_arm(clock)
    regime = allocator.update_regime(f"sim:{BAD}", zigzag_bars())
    assert regime.is_chop
    decisions = [allocator.on_signal(signal(BAD, i))[0] for i in range(3000)]
    taken = [d for d in decisions if d.taken]
    assert 0.22 < len(taken) / len(decisions) < 0.28
    assert taken[0].reason == "explore (25% in chop)"


def test_operator_rate_above_the_chop_rate_wins() -> None:
    clock = SimClock(T0)
    allocator = _bad_arm(clock)
    assert allocator.set_exploration(0.5) == 0.5
    assert allocator.set_exploration(3.0) == 1.0
    allocator.set_exploration(0.5)
    assert allocator.exploration_for(f"sim:{BAD}") == (0.5, False)


def test_learning_off_freezes_the_posteriors() -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock)
    for i in range(10):
        allocator.on_trade_closed(trade(GOOD, 1.0, n=i))
    before = allocator.arms()
    allocator.set_learning(False)
    assert allocator.learning is False
    for i in range(10, 40):
        allocator.on_trade_closed(trade(GOOD, -2.0, n=i))
    assert allocator.arms() == before
    allocator.set_learning(True)
    allocator.on_trade_closed(trade(GOOD, -2.0, n=99))
    after = allocator.arms()[0]
    assert after.trades == 11 and after.mean < before[0].mean


def test_evidence_halves_after_a_half_life_without_trades() -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock, decay_halflife_days=14.0)
    for i in range(12):
        allocator.on_trade_closed(trade(GOOD, 1.0 if i % 3 else -1.0, n=i, closed_ms=T0))
    fresh = allocator.arms()[0]
    clock.set_time(T0 + 14 * DAY_MS)
    stale = allocator.arms()[0]
    assert fresh.pulls == pytest.approx(12.0)
    assert stale.pulls == pytest.approx(6.0)
    assert stale.win_rate == pytest.approx(fresh.win_rate)  # the record is the same, less trusted
    assert stale.sd > fresh.sd
    clock.set_time(T0 + 28 * DAY_MS)
    assert allocator.arms()[0].pulls == pytest.approx(3.0)


def test_drawdown_costs_an_arm_value() -> None:
    bandit = Bandit(drawdown_penalty=0.5)
    for i, r in enumerate([3.0, -1.0, -1.0, -1.0]):
        bandit.reward("a", r, r > 0, T0 + i)
    stats = bandit.stats("a", T0 + 10)
    assert stats.drawdown == pytest.approx(3.0)
    assert bandit.value(stats) == pytest.approx(stats.mean_r - 0.5 * 3.0 / 4)
    assert stats.win_rate == pytest.approx(0.25)
    assert stats.payoff == pytest.approx(3.0)
    unpenalised = Bandit(drawdown_penalty=0.0)
    for i, r in enumerate([3.0, -1.0, -1.0, -1.0]):
        unpenalised.reward("a", r, r > 0, T0 + i)
    assert bandit.value(stats) < unpenalised.value(unpenalised.stats("a", T0 + 10))


def test_first_trade_counts_fully_and_the_ewma_follows_recent_trades() -> None:
    bandit = Bandit(reward_halflife_trades=20.0)
    bandit.reward("a", 2.0, True, T0)
    assert bandit.stats("a", T0).mean_r == pytest.approx(2.0)
    for i in range(200):
        bandit.reward("a", -1.0, False, T0 + i)
    assert bandit.stats("a", T0).mean_r == pytest.approx(-1.0, abs=1e-2)
