"""The rollout stage machine on a real database: stages from config, operator promotion behind
gates, live only when enabled, automatic demotion on a kill switch, canaries, and restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradeterm.bus import Bus
from tradeterm.clock import SimClock
from tradeterm.config.models import RolloutConfig
from tradeterm.domain.enums import Domain, Side, WalletMode
from tradeterm.domain.events import KILL_SWITCH, STAGE, ClosedTrade, KillSwitchTripped, StageChanged
from tradeterm.errors import ConfigError, ControlError, InvalidTransition
from tradeterm.rollout import Rollout, stage_machine
from tradeterm.storage.db import Storage

DAY = 86_400_000
T0 = 1_709_251_200_000  # 2024-03-01 00:00 UTC
LIVE_REFUSAL = (
    "stage 2 'crypto-live' trades live: needs wallets.live.approved = true and --confirm"
    " (or run with --paper-only to trade it on paper)"
)


def _rollout(
    store: Storage, clock: SimClock, *, live: bool = False, initial: int = 1, **kwargs: Any
) -> Rollout:
    rollout = Rollout(
        RolloutConfig(initial_stage=initial), clock, store, live_enabled=live, **kwargs
    )
    rollout.restore()
    return rollout


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "paper.db")


def _trade(wallet: str, n: int, pnl: float, closed_ms: int) -> ClosedTrade:
    return ClosedTrade(
        f"{wallet}-t{n}",
        wallet,
        "sim",
        "BTCUSDT",
        Side.BUY,
        1.0,
        100.0,
        100.0 + pnl,
        closed_ms - 3_600_000,
        closed_ms,
        pnl,
        0.1,
        pnl / 10,
        "ema_trend",
        "ema_trend|sim:BTCUSDT",
        f"s{n}",
        "tp",
    )


def _good_record(store: Storage, wallet: str, start_ms: int, days: int = 10) -> None:
    """A wallet that clears the default gates: 3 trades a day, 2 of 3 winners, steady equity."""
    equity = 1000.0
    for day in range(days):
        for k in range(3):
            store.save_trade(
                _trade(
                    wallet,
                    day * 3 + k,
                    6.0 if k < 2 else -4.0,
                    start_ms + day * DAY + (k + 1) * 3_600_000,
                )
            )
        equity += 8.0 + (day % 3)
        store.save_equity(wallet, start_ms + day * DAY + 20 * 3_600_000, equity, equity, 0.0)


# ---- stages and routing ----------------------------------------------------------------------
def test_first_start_is_stage_one_of_the_default_five(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0))
    assert [s.name for s in rollout.stages] == [
        "crypto-paper",
        "crypto-live",
        "perps-forex-paper",
        "crypto-forex-live",
        "full",
    ]
    assert rollout.index == 1 and rollout.stage.name == "crypto-paper"
    assert store.get_meta("rollout.stage") == 1
    assert [(c.from_index, c.to_index, c.event) for c in store.stage_history()] == [(0, 1, "init")]
    assert rollout.domain_mode(Domain.CRYPTO_SPOT) == "paper"
    assert rollout.domain_mode(Domain.FOREX) == "off"
    assert not rollout.needs_live() and rollout.needs_live(2)


def test_stage_one_routes_everything_to_paper_and_nothing_to_forex(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0))
    assert rollout.route(Domain.CRYPTO_SPOT, False) == "paper:crypto_spot"
    assert rollout.route(Domain.SYNTHETICS, True) == "paper:synthetics"
    assert rollout.route(Domain.FOREX, False) is None
    assert rollout.active_wallets() == [
        (WalletMode.PAPER, Domain.SYNTHETICS),
        (WalletMode.PAPER, Domain.CRYPTO_SPOT),
    ]


def test_stage_two_trades_live_and_explores_on_paper(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0), live=True, initial=2)
    assert rollout.route(Domain.CRYPTO_SPOT, False) == "live:crypto_spot"
    assert rollout.route(Domain.CRYPTO_SPOT, True) == "paper:crypto_spot"
    assert rollout.route(Domain.CRYPTO_PERP, False) is None
    assert (WalletMode.LIVE, Domain.SYNTHETICS) in rollout.active_wallets()
    assert (WalletMode.PAPER, Domain.SYNTHETICS) in rollout.active_wallets()


def test_a_live_stage_without_live_enabled_trades_paper_and_blocks_the_start(
    store: Storage,
) -> None:
    rollout = _rollout(store, SimClock(T0), live=False, initial=2)
    assert rollout.needs_live()  # the node refuses to start on this
    assert rollout.domain_mode(Domain.CRYPTO_SPOT) == "paper"
    assert rollout.route(Domain.CRYPTO_SPOT, False) == "paper:crypto_spot"


def test_forex_and_options_boot_off_even_after_being_turned_on(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True, initial=3)
    assert rollout.domain_mode(Domain.FOREX) == "paper" and not rollout.domain_enabled(Domain.FOREX)
    assert rollout.route(Domain.FOREX, False) is None
    toggled = rollout.toggle_domain(Domain.FOREX, True, source="tui")
    assert toggled.enabled and toggled.domain is Domain.FOREX and toggled.ts_ms == T0
    assert rollout.route(Domain.FOREX, False) == "paper:forex"
    assert rollout.route(Domain.CRYPTO_PERP, False) == "paper:crypto_perp"
    restarted = _rollout(store, clock, live=True)
    assert restarted.index == 3
    assert not restarted.domain_enabled(Domain.FOREX) and not restarted.domain_enabled(
        Domain.OPTIONS
    )
    assert restarted.domain_enabled(Domain.CRYPTO_PERP)


async def test_toggle_and_publish_tells_the_bus(store: Storage) -> None:
    bus = Bus()
    seen: list[Any] = []
    bus.subscribe("domain.*", lambda _t, m: seen.append(m), inline=True)
    rollout = _rollout(store, SimClock(T0))
    await rollout.attach(bus)
    toggled = await rollout.toggle_and_publish(Domain.OPTIONS, True, source="telegram")
    assert seen == [toggled] and rollout.domain_enabled(Domain.OPTIONS)


# ---- promotion -------------------------------------------------------------------------------
def test_promotion_needs_passing_gates_unless_forced(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True)
    report = rollout.stored_gate_report()
    assert not report.ready
    with pytest.raises(ControlError, match="stage 1 'crypto-paper' gates not passed: synthetics"):
        rollout.promote(report, by="tui")
    assert rollout.index == 1
    change = rollout.promote(report, by="tui", force=True)
    assert (change.from_index, change.to_index, change.event) == (1, 2, "promote")
    assert change.reason.startswith("forced past failed gates") and change.reason.endswith("by tui")
    assert store.get_meta("rollout.stage") == 2


def test_promotion_with_passing_gates_stores_the_kpi_snapshot(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True)
    for wallet in ("paper:synthetics", "paper:crypto_spot"):
        _good_record(store, wallet, T0)
    clock.set_time(T0 + 11 * DAY)
    report = rollout.stored_gate_report()
    assert report.ready, report.text()
    change = rollout.promote(report, by="telegram")
    assert change.reason == "gates passed; by telegram" and change.ts_ms == T0 + 11 * DAY
    stored = store.stage_history()[-1]
    assert stored == change
    assert stored.kpis["crypto_spot"]["trades"] == 30.0
    assert stored.kpis["synthetics"]["win_rate"] == pytest.approx(2 / 3)


def test_a_report_for_another_stage_is_refused(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0), live=True)
    report = rollout.stored_gate_report()
    rollout.set_stage(3, by="cli", reason="skip", force=True)
    with pytest.raises(ControlError, match="report is for stage 1"):
        rollout.promote(report, by="cli", force=True)


def test_promoting_past_the_last_stage_is_an_invalid_transition(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0), live=True, initial=5)
    with pytest.raises(InvalidTransition, match="cannot apply 'promote' in state '5'"):
        rollout.promote(rollout.stored_gate_report(), by="tui", force=True)


def test_live_stages_are_refused_unless_live_is_enabled(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0), live=False)
    with pytest.raises(ControlError) as err:
        rollout.promote(rollout.stored_gate_report(), by="tui", force=True)
    assert str(err.value) == LIVE_REFUSAL
    with pytest.raises(ControlError, match="stage 4 'crypto-forex-live' trades live"):
        rollout.set_stage(4, by="tui", reason="")
    assert rollout.index == 1 and store.count("stage_transitions") == 1


def test_the_operator_can_jump_between_stages(store: Storage) -> None:
    rollout = _rollout(store, SimClock(T0), live=True)
    report = rollout.stored_gate_report()
    # forward skips the gates: refused unless they passed, or forced (and the record says so)
    with pytest.raises(ControlError, match="stage 4 is ahead of stage 1 'crypto-paper', whose"):
        rollout.set_stage(4, by="cli", reason="sandbox soak done", report=report)
    assert rollout.index == 1
    change = rollout.set_stage(4, by="cli", reason="sandbox soak done", report=report, force=True)
    assert (change.event, change.to_index, change.name) == ("set", 4, "crypto-forex-live")
    assert change.reason == "forced past failed gates; sandbox soak done; by cli"
    assert set(change.kpis) == {"synthetics", "crypto_spot"}  # what the stage left behind did
    with pytest.raises(ControlError, match="already at stage 4"):
        rollout.set_stage(4, by="cli", reason="")
    with pytest.raises(ControlError, match=r"no stage 9: stages are 1\.\.5"):
        rollout.set_stage(9, by="cli", reason="")
    assert rollout.set_stage(1, by="cli", reason="back").to_index == 1


def test_the_stage_table_allows_only_the_moves_the_rollout_makes() -> None:
    machine = stage_machine(5)
    assert sorted(machine.events_from(1)) == ["promote", "set:2", "set:3", "set:4", "set:5"]
    assert machine.next_state(3, "demote:1") == 1
    assert not machine.can(2, "demote:3") and not machine.can(5, "promote")


# ---- demotion on the kill switch -------------------------------------------------------------
def _kill(wallet: str, domain: Domain) -> KillSwitchTripped:
    return KillSwitchTripped(wallet, domain, 0.21, 0.20, True, T0 + 3 * DAY)


async def test_a_live_kill_switch_demotes_its_domain_and_stores_the_kpis(tmp_path: Path) -> None:
    clock = SimClock(T0)
    paper, live = Storage(tmp_path / "paper.db"), Storage(tmp_path / "live.db")
    rollout = _rollout(paper, clock, live=True, initial=4, live_store=live)
    live.save_trade(_trade("live:forex", 1, -50.0, T0 + DAY))
    live.save_equity("live:forex", T0 + DAY, 790.0, 790.0, 0.0)
    bus = Bus()
    published: list[StageChanged] = []
    bus.subscribe(STAGE, lambda _t, m: published.append(m), inline=True)
    await rollout.attach(bus)
    clock.set_time(T0 + 3 * DAY)
    await bus.publish(KILL_SWITCH, _kill("paper:forex", Domain.FOREX))
    assert published == [] and rollout.index == 4  # paper drawdowns do not demote
    await bus.publish(KILL_SWITCH, _kill("live:forex", Domain.FOREX))
    (change,) = published
    # the domain steps down to paper; the stage and every other domain stay where they were
    assert (change.from_index, change.to_index, change.event) == (4, 4, "demote:forex")
    assert (
        change.reason == "forex demoted to paper: kill switch: live:forex drawdown 21.0% >= 20.0%"
    )
    assert rollout.domain_mode(Domain.FOREX) == "paper"
    assert rollout.domain_mode(Domain.CRYPTO_SPOT) == "live"
    rollout.toggle_domain(Domain.FOREX, True)  # forex boots OFF; on, it routes to paper now
    assert rollout.index == 4 and rollout.route(Domain.FOREX, False) == "paper:forex"
    stored = paper.stage_history()[-1]
    assert stored == change and paper.get_meta("rollout.stage") == 4
    assert paper.get_meta("rollout.demoted") == {"forex": "paper"}
    assert stored.kpis["forex"]["trades"] == 1.0 and stored.kpis["forex"]["win_rate"] == 0.0


def test_a_demotion_is_of_that_domain_only_until_the_operator_moves_the_stage(
    store: Storage,
) -> None:
    rollout = _rollout(store, SimClock(T0), live=True, initial=4)
    assert rollout.demote_domain(Domain.OPTIONS, "kill switch") is None  # paper in stage 4
    change = rollout.demote_domain(Domain.CRYPTO_SPOT, "kill switch")
    assert change is not None and change.to_index == 4 and rollout.index == 4
    assert rollout.domain_mode(Domain.CRYPTO_SPOT) == "paper"
    assert rollout.domain_mode(Domain.SYNTHETICS) == "live"
    assert rollout.demote_domain(Domain.CRYPTO_SPOT, "again") is None
    back = rollout.set_stage(4, by="tui", reason="checked")  # the operator reinstates it
    assert back.event == "reinstate" and rollout.domain_mode(Domain.CRYPTO_SPOT) == "live"


def test_transitions_survive_a_restart(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True)
    clock.set_time(T0 + DAY)
    rollout.promote(rollout.stored_gate_report(), by="tui", force=True)
    clock.set_time(T0 + 2 * DAY)
    rollout.demote_domain(Domain.SYNTHETICS, "kill switch")
    restarted = _rollout(store, clock, live=True, initial=3)  # the stored stage wins
    assert restarted.index == 2
    assert restarted.domain_mode(Domain.SYNTHETICS) == "paper"  # the demotion survives
    assert restarted.domain_mode(Domain.CRYPTO_SPOT) == "live"
    assert restarted.history == rollout.history
    assert [c.event for c in restarted.history] == ["init", "promote", "demote:synthetics"]


def test_a_stored_stage_beyond_the_config_is_a_config_error(store: Storage) -> None:
    store.put_meta("rollout.stage", 9, T0)
    with pytest.raises(ConfigError, match="stored stage 9"):
        _rollout(store, SimClock(T0))


# ---- canary --------------------------------------------------------------------------------
def test_a_newly_live_domain_is_a_canary_for_its_days_and_trades(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True, initial=2, canary_trades=5, canary_days=7.0)
    assert rollout.is_canary("live:crypto_spot")
    assert not rollout.is_canary("paper:crypto_spot")
    for n in range(5):
        rollout.on_trade_closed(_trade("live:crypto_spot", n, 1.0, T0 + DAY + n))
    assert rollout.is_canary("live:crypto_spot")  # enough trades, only 1 day
    clock.set_time(T0 + 8 * DAY)
    assert not rollout.is_canary("live:crypto_spot")
    assert rollout.is_canary("live:synthetics")  # 8 days live but no trades yet


def test_canary_counts_are_rebuilt_from_stored_live_trades(tmp_path: Path) -> None:
    clock = SimClock(T0)
    paper, live = Storage(tmp_path / "paper.db"), Storage(tmp_path / "live.db")
    _rollout(paper, clock, live=True, initial=2, live_store=live)
    for n in range(50):
        live.save_trade(_trade("live:synthetics", n, 1.0, T0 + DAY + n))
    live.save_trade(_trade("paper:synthetics", 99, 1.0, T0 + DAY))
    clock.set_time(T0 + 8 * DAY)
    restarted = _rollout(paper, clock, live=True, live_store=live)
    assert not restarted.is_canary("live:synthetics")
    assert restarted.is_canary("live:crypto_spot")
    restarted.on_trade_closed(_trade("live:crypto_spot", 1, 1.0, T0 + 2 * DAY))
    restarted.on_trade_closed(_trade("live:crypto_spot", 1, 1.0, T0 + 2 * DAY))  # replayed
    assert restarted.canary.trades_in_spell(Domain.CRYPTO_SPOT) == 1


def test_a_demotion_and_new_promotion_starts_a_new_canary(store: Storage) -> None:
    clock = SimClock(T0)
    rollout = _rollout(store, clock, live=True, initial=2, canary_trades=1, canary_days=1.0)
    rollout.on_trade_closed(_trade("live:crypto_spot", 1, 1.0, T0 + 1))
    clock.set_time(T0 + 2 * DAY)
    assert not rollout.is_canary("live:crypto_spot")
    rollout.demote_domain(Domain.CRYPTO_SPOT, "kill switch")
    clock.set_time(T0 + 3 * DAY)
    rollout.set_stage(2, by="tui", reason="fixed")
    assert rollout.live_since(Domain.CRYPTO_SPOT) == T0 + 3 * DAY
    clock.set_time(T0 + 5 * DAY)
    assert rollout.is_canary("live:crypto_spot")  # old trades do not count for the new spell
