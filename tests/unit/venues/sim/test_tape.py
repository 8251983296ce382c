"""The sim tick tape on a memory diet: time and price a tick, quotes and sizes derived."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeterm.config.models import ReplaySourceConfig
from tradeterm.domain.market import Tick
from tradeterm.venues.sim import index_spec
from tradeterm.venues.sim.feeds import Feed, replay_feed, synthetic_feed
from tradeterm.venues.sim.generators import decimals_of
from tradeterm.venues.sim.tape import QuoteRule, TickTape

T0 = 1_700_000_040_000  # a whole minute
HOUR = 3_600_000
SYNTHETICS = ["R_100", "1HZ100V", "CRASH500", "stpRNG", "JD50"]


def synthetic(symbol: str, *, history_ms: int = 8 * HOUR) -> Feed:
    spec = index_spec(symbol)
    assert spec is not None
    return synthetic_feed("sim", spec, seed=7, anchor_ms=T0, history_ms=history_ms, speed=1.0)


def bytes_per_tick(tape: TickTape) -> float:
    return tape.nbytes / len(tape)


def played(tape: TickTape, until_ms: int) -> list[Tick]:
    run = tape.play_until(until_ms)
    return [] if run is None else run.ticks("sim", "X")


@pytest.mark.parametrize("symbol", SYNTHETICS)
def test_synthetic_tape_keeps_sixteen_bytes_a_tick(symbol: str) -> None:
    tape = synthetic(symbol).tape
    tape.play_until(T0 - 1)  # the venue starts: eight hours of history played
    assert len(tape) >= 8 * HOUR // 2000
    assert bytes_per_tick(tape) <= 16.0
    bars = tape.bars(60_000, T0, 1000)
    assert len(bars) == 480
    assert bars.volume.tolist() == bars.ticks.astype(float).tolist()  # tick volume, as MT5 shows


def test_a_long_run_drops_old_ticks_and_stays_on_the_diet() -> None:
    tape = synthetic("1HZ100V", history_ms=4 * HOUR).tape
    tape.play_until(T0 - 1)
    held_at_start = len(tape)
    for step in range(1, 67):  # 5.5 hours on, ten minutes a step
        tape.play_until(T0 + step * 300_000)
    assert len(tape) < held_at_start + 2 * HOUR // 1000  # retention window plus trim slack
    assert bytes_per_tick(tape) <= 16.0
    assert tape.coverage_ms > T0 - 4 * HOUR  # history now starts where the tape still holds
    bars = tape.bars(60_000, T0 + 66 * 300_000, 240)
    assert len(bars) == 240 and bool((bars.ticks == 60).all())


def write_candles(path: Path, volume: np.ndarray) -> Path:
    rng = np.random.default_rng(3)
    n = volume.shape[0]
    opens = 100 + np.round(np.cumsum(rng.normal(0, 1, n)), 2)
    closes = np.round(opens + rng.normal(0, 1, n), 2)
    highs = np.maximum(opens, closes) + 0.5
    lows = np.minimum(opens, closes) - 0.5
    rows = [
        f"{T0 + 60_000 * i},{opens[i]},{highs[i]},{lows[i]},{closes[i]},{volume[i]}"
        for i in range(n)
    ]
    path.write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("volume", "bytes_each"),
    [(np.arange(1.0, 201.0), 24.0), (np.full(200, 8.0), 16.0)],
    ids=["volume varies: a size column", "constant volume: one size"],
)
def test_replay_history_keeps_the_file_volumes(
    tmp_path: Path, volume: np.ndarray, bytes_each: float
) -> None:
    path = write_candles(tmp_path / "bars.csv", volume)
    source = ReplaySourceConfig(symbol="BTCUSDT", path=str(path), timeframe="1m", speed=1.0)
    tape = replay_feed("sim", source, anchor_ms=T0 + 60 * 60_000, history_ms=HOUR).tape
    tape.play_until(T0 + 60 * 60_000 - 1)
    bars = tape.bars(60_000, T0 + 60 * 60_000, 100)
    assert bars.open_ms.tolist() == [T0 + 60_000 * i for i in range(60)]
    assert bars.volume.tolist() == volume[:60].tolist()
    assert bytes_per_tick(tape) == bytes_each
    ticks = played(tape, T0 + 61 * 60_000)
    assert [t.size for t in ticks[:4]] == [volume[60] / 4] * 4


@given(
    price=st.floats(min_value=0.5, max_value=2e6, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=4),
    pips=st.integers(min_value=1, max_value=5),
)
def test_bid_and_ask_are_the_price_less_and_plus_half_spread_on_the_pip(
    price: float, decimals: int, pips: int
) -> None:
    half_spread = pips * 10.0**-decimals
    rule = QuoteRule(half_spread, decimals)
    assert rule.bid(price) == float(np.round(price - half_spread, decimals))
    assert rule.ask(price) == float(np.round(price + half_spread, decimals))


def test_played_ticks_carry_the_quotes_of_their_prices() -> None:
    spec = index_spec("CRASH500")
    assert spec is not None
    tape = synthetic("CRASH500").tape
    tape.play_until(T0 - 1)
    ticks = played(tape, T0 + 600_000)
    assert len(ticks) == 601
    prices, pip = np.array([t.price for t in ticks]), decimals_of(spec.pip)
    assert [t.bid for t in ticks] == np.round(prices - spec.half_spread, pip).tolist()
    assert [t.ask for t in ticks] == np.round(prices + spec.half_spread, pip).tolist()
    assert {t.size for t in ticks} == {1.0}
    last = tape.last_played()
    assert last == (ticks[-1].ts_ms, ticks[-1].price, ticks[-1].bid, ticks[-1].ask)


def test_playing_step_by_step_or_at_once_gives_the_same_ticks() -> None:
    stepwise, at_once = synthetic("1HZ100V").tape, synthetic("1HZ100V").tape
    for tape in (stepwise, at_once):
        tape.play_until(T0 - 1)
    steps: list[Tick] = []
    for ms in range(T0 + 250, T0 + 600_001, 250):
        steps.extend(played(stepwise, ms))
    assert steps == played(at_once, T0 + 600_000)
    since = stepwise.played_since(T0 + 599_000)
    assert since is not None and since.ticks("sim", "X") == steps[-2:]
    assert stepwise.played_since(T0 + 600_001) is None
