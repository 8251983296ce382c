"""Synthetic index generators: the statistics a trader relies on, and reproducibility.

Statistical tolerances are stated per test; every generator is seeded, so each assertion is
deterministic, and the tolerances are wide enough (4 standard errors or more) that a correct
model passes for any seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeterm.venues.sim.catalog import index_spec
from tradeterm.venues.sim.generators import (
    SECONDS_PER_YEAR,
    CrashBoomModel,
    IndexGenerator,
    JumpModel,
    QuoteChunk,
    StepModel,
    folded_normal_mgf,
    symbol_rng,
)

START = 1_700_000_000_000


def ticks(symbol: str, n: int, *, seed: int = 7, start_ms: int = START) -> QuoteChunk:
    """The first `n` ticks of a catalogued index."""
    spec = index_spec(symbol)
    assert spec is not None
    gen = spec.generator(seed=seed, start_ms=start_ms)
    chunks = [gen.next_chunk() for _ in range(-(-n // gen.chunk_size))]
    return QuoteChunk(
        np.concatenate([c.ts for c in chunks])[:n],
        np.concatenate([c.quote for c in chunks])[:n],
        np.concatenate([c.events for c in chunks])[:n],
    )


@pytest.mark.parametrize(("symbol", "interval_s"), [("R_100", 2), ("1HZ100V", 1), ("R_25", 2)])
def test_volatility_index_realised_vol_matches_its_name(symbol: str, interval_s: int) -> None:
    spec = index_spec(symbol)
    assert spec is not None
    chunk = ticks(symbol, 100_000)
    r = np.diff(np.log(chunk.quote))
    realised = math.sqrt(float(np.mean(r**2)) * SECONDS_PER_YEAR / interval_s)
    # 100k returns: standard error of the estimate ~0.2 %; tolerance 5 % as specified.
    assert realised == pytest.approx(spec.sigma, rel=0.05)
    assert np.all(np.diff(chunk.ts) == interval_s * 1000)


@pytest.mark.parametrize(("symbol", "n"), [("CRASH500", 500), ("BOOM1000", 1000)])
def test_crash_boom_event_rate_direction_and_no_drift(symbol: str, n: int) -> None:
    count = 600_000
    chunk = ticks(symbol, count + 1)
    moves = np.diff(chunk.quote)
    flagged = chunk.events[1:]
    crash = symbol.startswith("CRASH")
    events_seen = (moves < 0) if crash else (moves > 0)
    # Every observed jump against the drift is an event, and every event moves the right way.
    assert np.array_equal(events_seen, flagged)
    # Binomial: expected count/N events, tolerance 4 standard deviations.
    expected = count / n
    tolerance = 4 * math.sqrt(count * (1 / n) * (1 - 1 / n))
    assert abs(int(flagged.sum()) - expected) <= tolerance
    # Ordinary ticks never move against the drift.
    assert np.all(moves[~flagged] * (1 if crash else -1) >= 0)
    # Martingale: mean simple return and mean log return within 4 standard errors of zero.
    simple = np.diff(chunk.quote) / chunk.quote[:-1]
    assert abs(simple.mean()) <= 4 * simple.std() / math.sqrt(count)
    logr = np.diff(np.log(chunk.quote))
    assert abs(logr.mean()) <= 4 * logr.std() / math.sqrt(count)


def test_crash_mean_down_tick_and_martingale_constant_match_the_notes() -> None:
    model = CrashBoomModel(1000)
    # Deriv's notes: MDT = ln(0.999)/sqrt(dt) ~ -5.619 and ordinary ticks ~ +0.005625.
    assert model.mean_event_tick == pytest.approx(-5.619, abs=1e-3)
    mut = model.t_normal * 1.1666309 / math.sqrt(1 / SECONDS_PER_YEAR)
    assert mut == pytest.approx(0.005625, rel=0.01)
    p = model.p_event
    one_tick_ahead = (1 - p) * folded_normal_mgf(model.t_normal) + p * folded_normal_mgf(
        model.t_event
    )
    assert one_tick_ahead == pytest.approx(1.0, abs=1e-12)


def test_larger_event_scale_makes_larger_crashes() -> None:
    rng_a, rng_b = symbol_rng(1, "X"), symbol_rng(1, "X")
    small, ev = CrashBoomModel(500).path(5000.0, rng_a, 200_000)
    big, _ = CrashBoomModel(500, event_scale=3.0).path(5000.0, rng_b, 200_000)
    drop_small = np.log(small[1:] / small[:-1])[ev[1:]].mean()
    drop_big = np.log(big[1:] / big[:-1])[ev[1:]].mean()
    assert drop_big == pytest.approx(3 * drop_small, rel=0.01)


def test_step_index_moves_exactly_one_tenth_with_even_odds() -> None:
    count = 200_000
    chunk = ticks("stpRNG", count + 1)
    steps = np.rint(np.diff(chunk.quote) / 0.1).astype(np.int64)
    assert set(np.unique(steps).tolist()) == {-1, 1}
    assert np.all(np.abs(np.abs(np.diff(chunk.quote)) - 0.1) < 1e-9)
    # No float drift: the last quote is exactly the start plus the net number of steps.
    assert chunk.quote[-1] == round(chunk.quote[0] + 0.1 * int(steps.sum()), 1)
    # Quotes print with one decimal, exactly.
    assert np.array_equal(np.round(chunk.quote, 1), chunk.quote)
    # p(up) = 0.5, tolerance 4 standard deviations of a binomial proportion.
    assert abs(float((steps > 0).mean()) - 0.5) <= 4 * 0.5 / math.sqrt(count)


def test_jump_index_jumps_72_times_a_day_about_30_times_a_normal_move() -> None:
    count = 2_000_000
    chunk = ticks("JD50", count + 1)
    jumps = chunk.events[1:]
    days = count / 86_400
    p = JumpModel(0.5).p_jump
    tolerance = 4 * math.sqrt(count * p * (1 - p))
    assert abs(int(jumps.sum()) - count * p) <= tolerance
    assert int(jumps.sum()) / days == pytest.approx(72, rel=0.1)
    r = np.abs(np.diff(np.log(chunk.quote)))
    ratio = np.median(r[jumps]) / np.median(r[~jumps])
    assert ratio == pytest.approx(30.0, rel=0.15)


def test_same_seed_and_start_give_identical_ticks() -> None:
    a = ticks("R_75", 10_000, seed=42)
    b = ticks("R_75", 10_000, seed=42)
    c = ticks("R_75", 10_000, seed=43)
    assert np.array_equal(a.quote, b.quote) and np.array_equal(a.ts, b.ts)
    assert not np.array_equal(a.quote, c.quote)
    # Symbols under one seed draw from different streams.
    v = ticks("1HZ75V", 1000, seed=42)
    w = ticks("1HZ50V", 1000, seed=42)
    assert not np.allclose(np.diff(np.log(v.quote)), np.diff(np.log(w.quote)))


@pytest.mark.parametrize("symbol", ["R_10", "R_50", "R_100", "1HZ25V", "CRASH1000", "JD10"])
def test_quotes_are_rounded_to_the_pip(symbol: str) -> None:
    spec = index_spec(symbol)
    assert spec is not None
    quote = ticks(symbol, 5000).quote
    pips = quote / spec.pip
    assert np.allclose(pips, np.rint(pips), atol=1e-6)
    decimals = max(0, -round(math.log10(spec.pip)))
    assert np.array_equal(np.round(quote, decimals), quote)


def test_generator_keeps_an_unrounded_level() -> None:
    spec = index_spec("R_100")
    assert spec is not None
    gen = spec.generator(seed=1, start_ms=START)
    chunk = gen.next_chunk()
    assert gen.level != chunk.quote[-1]
    assert gen.level == pytest.approx(chunk.quote[-1], abs=spec.pip / 2)


def test_ticks_fall_on_whole_seconds_of_the_cadence() -> None:
    two_second = ticks("R_100", 3, start_ms=START + 1)
    assert two_second.ts.tolist() == [START + 2000, START + 4000, START + 6000]
    one_second = ticks("1HZ100V", 2, start_ms=START + 1)
    assert one_second.ts.tolist() == [START + 1000, START + 2000]


def test_generator_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        IndexGenerator(
            StepModel(),
            pip=0.1,
            interval_ms=1000,
            rng=symbol_rng(1, "x"),
            start_ms=0,
            start_price=0,
        )
    with pytest.raises(ValueError):
        CrashBoomModel(1)
