"""The allocator's decisions as the operator sees them: skips with reasons, intents routed to the
right wallet, state that survives a restart, and the bus flow signal -> allocation -> intent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.allocator.conftest import T0, Routing, make_allocator, ramp_bars, signal, trade
from tradeterm.allocator import Allocator, AllocatorState, Regime
from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.config.models import AllocatorConfig
from tradeterm.domain.enums import Domain, Side, TrendRegime
from tradeterm.domain.events import (
    ALLOCATION,
    ALLOCATOR_STATE,
    BAR,
    INTENT,
    REGIME,
    SIGNAL,
    TRADE_CLOSED,
    AllocatorDecision,
    OrderIntent,
)
from tradeterm.domain.ids import stable_id
from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.domain.signals import Signal


def _first_taken(
    allocator: Allocator, symbol: str = "BTCUSDT"
) -> tuple[AllocatorDecision, OrderIntent]:
    for i in range(200):
        decision, intent = allocator.on_signal(signal(symbol, i))
        if intent is not None:
            return decision, intent
    raise AssertionError("nothing taken in 200 signals")


def test_a_taken_signal_becomes_an_intent_for_its_wallet() -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock)
    for i, r in enumerate([2.0, -1.0, 3.0, -1.0]):
        allocator.on_trade_closed(trade("BTCUSDT", r, n=i))
    decision, intent = _first_taken(allocator)
    assert decision.taken and decision.arm == "ema_trend|sim:BTCUSDT"
    assert intent.wallet_id == decision.wallet_id
    assert intent.wallet_id == ("paper:crypto_spot" if intent.explore else "live:crypto_spot")
    assert intent.id == "int-" + stable_id(decision.signal.id, intent.wallet_id)
    assert intent.domain is Domain.CRYPTO_SPOT and intent.arm == decision.arm
    assert intent.win_rate == pytest.approx(0.5)
    assert intent.payoff == pytest.approx(2.5)
    assert intent.arm_trades == 4
    assert intent.ts_ms == decision.ts_ms == T0


def test_the_same_signal_gives_the_same_intent_id() -> None:
    """A restart that re-evaluates a bar must not create a second order."""
    ids = set()
    for _ in range(2):
        allocator = make_allocator(SimClock(T0))
        _, intent = _first_taken(allocator)
        ids.add(intent.id)
    assert len(ids) == 1


def test_a_busy_symbol_is_skipped_before_anything_is_routed() -> None:
    routing = Routing(open_positions={"sim:BTCUSDT": 1})
    allocator = make_allocator(SimClock(T0), routing)
    decision, intent = allocator.on_signal(signal("BTCUSDT"))
    assert intent is None and not decision.taken
    assert decision.reason == "symbol busy: 1 open position"
    assert routing.routed == []
    roomier = make_allocator(SimClock(T0), routing, max_concurrent_per_symbol=2)
    assert _first_taken(roomier)[1].signal.symbol == "BTCUSDT"


def test_unknown_markets_and_switched_off_domains_are_skipped() -> None:
    routing = Routing(off={Domain.FOREX}, markets={"sim:EURUSD": Domain.FOREX})
    allocator = make_allocator(SimClock(T0), routing)
    stray = Signal("sig-x", T0, "nowhere", "XYZ", "1m", "s", "1", Side.BUY, 1.0, 0.9, 1.3)
    decision, _ = allocator.on_signal(stray)
    assert decision.reason == "unknown market nowhere:XYZ"
    for i in range(20):
        decision, intent = allocator.on_signal(signal("EURUSD", i))
        assert intent is None and decision.reason == "domain off: forex"
    assert {domain for domain, _ in routing.routed} == {Domain.FOREX}


def test_exploration_goes_where_the_rollout_sends_explore_trades() -> None:
    routing = Routing()
    allocator = make_allocator(SimClock(T0), routing)
    allocator.set_learning(False)
    for i in range(200):
        decision, intent = allocator.on_signal(signal("BTCUSDT", i))
        if intent is not None and intent.explore:
            assert intent.wallet_id == "paper:crypto_spot"
            assert decision.reason.startswith("explore (")
            return
    raise AssertionError("no exploration in 200 signals")


def test_state_survives_a_restart_and_continues_identically() -> None:
    clock = SimClock(T0)
    allocator = make_allocator(clock, method="thompson")
    for i in range(30):
        allocator.on_trade_closed(trade("BTCUSDT" if i % 2 else "ETHUSDT", (-1) ** i * 1.5, n=i))
    allocator.set_exploration(0.3)
    allocator.set_learning(False)
    for i in range(7):
        allocator.on_signal(signal("BTCUSDT", i))
    saved = json.loads(json.dumps(allocator.export_state()))
    restored = make_allocator(clock)
    restored.import_state(saved)
    assert restored.arms() == allocator.arms()
    assert restored.exploration == pytest.approx(0.3) and restored.learning is False
    ahead = [allocator.on_signal(signal("ETHUSDT", i))[0] for i in range(50)]
    again = [restored.on_signal(signal("ETHUSDT", i))[0] for i in range(50)]
    assert again == ahead


def test_a_saved_rate_below_todays_floor_is_raised_to_it() -> None:
    allocator = make_allocator(SimClock(T0), exploration_floor=0.2, exploration=0.2)
    allocator.import_state({"exploration": 0.1, "learning": True, "arms": {}})
    assert allocator.exploration == pytest.approx(0.2)


class Recorder:
    """Records every message on the bus, in order."""

    def __init__(self, bus: Bus) -> None:
        self.seen: list[tuple[str, Any]] = []
        bus.subscribe("*", self.on_message, inline=True, name="recorder")

    def on_message(self, topic: str, message: Any) -> None:
        self.seen.append((topic, message))

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.seen]


async def test_bus_flow_signal_allocation_intent_reward_state() -> None:
    clock = SimClock(T0)
    bus = Bus()
    allocator = make_allocator(clock)
    recorder = Recorder(bus)  # first, so it sees each message before the replies it causes
    await allocator.attach(bus)
    for i in range(100):
        await bus.publish(SIGNAL, signal("BTCUSDT", i))
        if INTENT in recorder.topics():
            break
    topics = recorder.topics()
    assert topics[-3:] == [SIGNAL, ALLOCATION, INTENT]
    decision, intent = recorder.seen[-2][1], recorder.seen[-1][1]
    assert decision.taken and intent.signal is decision.signal
    await bus.publish(TRADE_CLOSED, trade("BTCUSDT", 2.0))
    topic, state = recorder.seen[-1]
    assert topic == ALLOCATOR_STATE and isinstance(state, AllocatorState)
    assert [a.arm for a in state.arms] == ["ema_trend|sim:BTCUSDT"] and state.arms[0].trades == 1


async def test_bars_of_the_regime_timeframe_update_the_regime() -> None:
    clock = SimClock(T0)
    bus = Bus()
    window = ramp_bars()
    asked: list[tuple[str, str]] = []

    def windows(key: str, timeframe: str) -> BarSeries | None:
        asked.append((key, timeframe))
        return window

    routing = Routing()
    allocator = Allocator(
        AllocatorConfig(),
        clock,
        route=routing.route,
        open_count=routing.open_count,
        domain_of=routing.domain_of,
        regime_timeframe="1m",
        windows=windows,
    )
    recorder = Recorder(bus)  # first, so it sees each message before the replies it causes
    await allocator.attach(bus)
    assert allocator.regime("sim:BTCUSDT").is_chop  # nothing seen yet
    await bus.publish(BAR, Bar("sim", "BTCUSDT", "5m", T0, 1, 2, 0.5, 1.5))
    assert asked == [] and REGIME not in recorder.topics()
    await bus.publish(BAR, Bar("sim", "BTCUSDT", "1m", T0, 1, 2, 0.5, 1.5))
    topic, regime = recorder.seen[-1]
    assert topic == REGIME and isinstance(regime, Regime)
    assert regime.key == "sim:BTCUSDT" and regime.trend is TrendRegime.TREND
    assert allocator.regime("sim:BTCUSDT") == regime
    rate, chop = allocator.exploration_for("sim:BTCUSDT")
    assert rate == pytest.approx(0.10) and not chop  # a trending market explores at the floor
