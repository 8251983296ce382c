"""Trading state (node-wide and per wallet), the per-wallet drawdown kill switch and its
immediate persistence, stop changes, the recheck at confirmation and the restart re-decision,
adoption checks, the console gauges, persistence and the bus wiring."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tradeterm.bus import Bus
from tradeterm.domain.enums import Domain, RiskVerdict, Side, TradingState
from tradeterm.domain.events import (
    ALERT,
    INTENT,
    KILL_SWITCH,
    RISK_DECISION,
    TRADE_CLOSED,
    TRADING_STATE,
    WALLET,
    Alert,
    KillSwitchTripped,
    RiskDecision,
    TradingStateChanged,
)
from tradeterm.domain.positions import Position

from .kit import (
    ARM,
    WALLET_ID,
    Book,
    Canaries,
    Promised,
    closed,
    intent,
    make_engine,
    signal,
    snapshot,
    wide,
)

LIVE = "live:synthetics"


@pytest.fixture
def book() -> Book:
    b = Book()
    b.fund(1000.0)
    return b


def test_drawdown_of_15_percent_halts_that_wallet_once(book: Book) -> None:
    engine, clock = make_engine(book)
    saved: list[dict[str, Any]] = []
    engine.on_change = lambda: saved.append(engine.export_state())
    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    assert engine.on_wallet(snapshot(wallet, 860.0)) is None  # 14%: still trading
    kill = engine.on_wallet(snapshot(wallet, 850.0))
    assert isinstance(kill, KillSwitchTripped)
    assert (kill.wallet_id, kill.domain, kill.limit, kill.flatten, kill.ts_ms) == (
        WALLET_ID,
        Domain.SYNTHETICS,
        0.15,
        True,
        clock.now_ms(),
    )
    assert kill.drawdown == pytest.approx(0.15)
    # persisted at once (a crash right after the trip restarts HALTED)
    assert saved and saved[-1]["halted"] == {WALLET_ID: "kill switch: drawdown 15% >= 15%"}
    assert saved[-1]["tripped"] == [WALLET_ID]
    state = engine.state_for(WALLET_ID)
    assert (state.state, state.scope) == (TradingState.HALTED, WALLET_ID)
    assert engine.state is TradingState.ACTIVE  # the node is not halted: the wallet is
    assert engine.on_wallet(snapshot(wallet, 840.0)) is None  # tripped once, not on every tick
    denied = engine.evaluate(intent(wide()))
    assert denied.reasons == (
        "trading HALTED (paper:synthetics): kill switch: drawdown 15% >= 15%",
    )


def test_a_wallet_kill_switch_leaves_the_other_wallets_trading(book: Book) -> None:
    book.fund(1000.0, wallet_id=LIVE)
    engine, _ = make_engine(book)
    paper = book.wallet(WALLET_ID)
    assert paper is not None
    engine.on_wallet(snapshot(paper, 800.0))
    assert not engine.evaluate(intent(wide())).approved
    assert engine.evaluate(intent(wide(), wallet_id=LIVE)).approved
    assert engine.halted_wallets() == {WALLET_ID: "kill switch: drawdown 20% >= 15%"}


def test_kill_switch_flattens_only_when_configured(book: Book) -> None:
    engine, _ = make_engine(book, flatten_on_kill=False)
    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    kill = engine.on_wallet(snapshot(wallet, 800.0))
    assert kill is not None and not kill.flatten and kill.drawdown == pytest.approx(0.2)


async def test_only_the_operator_resumes_a_halted_wallet_and_that_rearms_it(book: Book) -> None:
    engine, _ = make_engine(book)
    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    engine.on_wallet(snapshot(wallet, 850.0))
    book.fund(850.0, peak=1000.0)  # the wallet as it stands after the loss
    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    changes = await engine.resume("operator")
    assert [(c.state, c.previous, c.scope) for c in changes] == [
        (TradingState.ACTIVE, TradingState.HALTED, WALLET_ID)
    ]
    assert engine.evaluate(intent(wide())).approved
    # still 15% under the old peak, but the switch now measures from the resume
    assert engine.on_wallet(snapshot(wallet, 850.0)) is None
    assert engine.gauges(WALLET_ID).drawdown == pytest.approx(0.0)
    kill = engine.on_wallet(snapshot(wallet, 722.5))  # 15% below 850
    assert kill is not None and kill.drawdown == pytest.approx(0.15)


def test_reducing_denies_entries_and_halted_denies_everything(book: Book) -> None:
    engine, _ = make_engine(book)
    pause = engine.set_state(TradingState.REDUCING, "operator pause", "tui")
    assert pause is not None and pause.previous is TradingState.ACTIVE
    assert engine.set_state(TradingState.REDUCING, "again", "tui") is None  # unchanged
    denied = engine.evaluate(intent(wide()))
    assert denied.reasons == ("trading REDUCING: no new entries (operator pause)",)
    assert denied.costs is None  # denied before it was priced
    engine.set_state(TradingState.HALTED, "reconcile: orphans", "reconcile")
    assert engine.set_state(TradingState.ACTIVE, "auto", "risk") is None  # risk may not resume
    for sig in (wide(), wide(symbol="R_50"), signal(100.0, 98.0, 106.0)):
        assert engine.evaluate(intent(sig)).reasons == ("trading HALTED: reconcile: orphans",)
    engine.set_state(TradingState.ACTIVE, "resume", "telegram")
    assert engine.evaluate(intent(wide())).approved


@pytest.mark.parametrize(
    ("side", "stop", "wider", "tighter"),
    [(Side.BUY, 98.5, 98.0, 99.0), (Side.SELL, 101.5, 102.0, 101.0)],
)
def test_a_stop_is_never_widened(
    book: Book, side: Side, stop: float, wider: float, tighter: float
) -> None:
    engine, _ = make_engine(book)
    position = Position(WALLET_ID, "sim", "R_100", side, 1.0, 100.0, 0, stop, 0.0, stop)
    word = "long" if side is Side.BUY else "short"
    assert engine.check_stop_change(position, wider) == (
        f"stop may not be widened: {stop:.2f} -> {wider:.2f} on a {word}"
    )
    assert engine.check_stop_change(position, tighter) is None


def _approved(engine: Any, sig: Any = None) -> RiskDecision:
    decision: RiskDecision = engine.evaluate(intent(sig if sig is not None else signal()))
    assert decision.approved
    return decision


def test_recheck_denies_a_stale_price(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = _approved(engine)
    book.marks["sim:R_100"] = 100.412
    stale = engine.recheck(decision)
    assert stale.verdict is RiskVerdict.DENIED
    assert stale.reasons == ("stale: price moved 41.2 bps from entry 100.00 (limit 25)",)
    assert stale.id != decision.id and stale.recheck_of == decision.id


def test_recheck_of_a_fresh_price_runs_every_rule_again(book: Book) -> None:
    promised = Promised()
    engine, _ = make_engine(book, promised=promised)
    decision = _approved(engine, signal(100.0, 98.0, 108.0))
    promised.add("sim:R_100", decision.notional, decision.id)  # its own pending confirmation
    book.marks["sim:R_100"] = 100.2  # 20 bps: fresh
    again = engine.recheck(decision)
    assert again.verdict is RiskVerdict.APPROVED and again.recheck_of == decision.id
    assert again.qty == pytest.approx(0.49)  # sized at the new price; its own promise ignored
    book.hold("R_100", 1.5, 100.0, mark=100.2)  # meanwhile the pair cap filled up
    full = engine.recheck(decision)
    assert full.verdict is RiskVerdict.DENIED
    assert full.reasons[0].startswith("pair exposure cap 15% on sim:R_100")
    engine.set_state(TradingState.HALTED, "operator halt", "tui")
    assert engine.recheck(decision).reasons == ("trading HALTED: operator halt",)


def test_recheck_without_a_price_is_stale(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = _approved(engine)
    del book.marks["sim:R_100"]
    assert engine.recheck(decision).reasons[0].startswith("stale: no current price")


def test_a_restart_redecides_under_the_restored_state(book: Book) -> None:
    engine, _ = make_engine(book)
    decision = _approved(engine)
    again = engine.redecide(decision.intent, decision.id)
    assert again.approved and again.recheck_of == decision.id and again.id != decision.id
    engine.import_state({**engine.export_state(), "state": "reducing", "state_reason": "paused"})
    assert engine.redecide(decision.intent, decision.id).reasons == (
        "trading REDUCING: no new entries (paused)",
    )


def test_adopting_a_venue_position_must_fit_the_limits(book: Book) -> None:
    engine, _ = make_engine(book)
    # a $30,000 position found at the venue cannot be adopted into a $1,000 wallet
    refusal = engine.check_adoption(WALLET_ID, "sim:R_100", Side.BUY, 300.0, 100.0)
    assert refusal == (
        "pair exposure cap on sim:R_100: adopting notional 30000.00 would make 30000.00 > "
        "limit 150.00 (equity 1000.00)"
    )
    assert engine.check_adoption(WALLET_ID, "sim:R_100", Side.BUY, 1.0, 100.0) is None
    book.hold("R_100", 1.0, 100.0)  # adoption replaces what we hold on that market
    assert engine.check_adoption(WALLET_ID, "sim:R_100", Side.BUY, 1.4, 100.0) is None
    assert engine.check_adoption(WALLET_ID, "sim:ETHSPOT", Side.SELL, 0.1, 100.0) == (
        "ETHSPOT is a spot market: shorts are not allowed"
    )


def test_gauges_show_each_figure_beside_its_limit() -> None:
    book = Book()
    book.fund(970.0, day_start=1000.0, peak=1100.0)
    book.hold("R_50", 1.0, 100.0, mark=97.0)
    engine, _ = make_engine(book, canary=Canaries(WALLET_ID))
    for n in range(3):
        engine.on_trade_closed(closed(-1.0, n=n))
    gauges = engine.gauges(WALLET_ID)
    equity = 967.0
    assert gauges.daily_loss == pytest.approx(1 - equity / 1000.0)
    assert gauges.daily_loss_cap == 0.06
    assert gauges.drawdown == pytest.approx(1 - equity / 1100.0)
    assert gauges.kill_level == 0.15 and not gauges.tripped
    assert gauges.pair_exposure == {"sim:R_50": pytest.approx(97.0 / equity)}
    assert gauges.portfolio_exposure == pytest.approx(97.0 / equity)
    assert (gauges.pair_cap, gauges.portfolio_cap) == (0.15, 0.30)
    assert ARM in gauges.cooldowns and gauges.canary
    assert gauges.state is TradingState.ACTIVE


def test_state_survives_export_and_import(book: Book) -> None:
    engine, clock = make_engine(book)
    for n in range(3):
        engine.on_trade_closed(closed(-1.0, n=n))
    engine.on_trade_closed(closed(-30.0, symbol="R_50", n=4))
    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    engine.on_wallet(snapshot(wallet, 850.0))
    saved = json.loads(json.dumps(engine.export_state()))

    restored, _ = make_engine(book, clock=clock)
    restored.import_state(saved)
    assert restored.export_state() == engine.export_state()
    assert restored.state_for(WALLET_ID).state is TradingState.HALTED
    assert restored.on_wallet(snapshot(wallet, 840.0)) is None  # already tripped
    restored.resume_wallets("operator")
    assert restored.evaluate(intent(signal())).reasons[0].startswith("cooldown: 3 losses")
    r50 = restored.evaluate(intent(wide(symbol="R_50")))
    assert r50.reasons[0].startswith("symbol loss cap: sim:R_50")


def test_no_martingale_memory_survives_a_restart(book: Book) -> None:
    engine, clock = make_engine(book)
    engine.on_trade_closed(closed(-1.0, risk=1.0))
    restored, _ = make_engine(book, clock=clock)
    restored.import_state(json.loads(json.dumps(engine.export_state())))
    # at most the $1 that lost: 0.025 units over a 40.00 stop, floored to the 0.01 lot
    assert restored.evaluate(intent(wide())).risk_amount == pytest.approx(0.8)


class Recorder:
    """Records (topic, message) for every topic it is subscribed to."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    def __call__(self, topic: str, message: Any) -> None:
        self.got.append((topic, message))

    def on(self, topic: str) -> list[Any]:
        return [m for t, m in self.got if t == topic]


async def test_attached_engine_answers_intents_and_trips_on_the_bus(book: Book) -> None:
    bus = Bus()
    engine, _ = make_engine(book)
    await engine.attach(bus)
    rec = Recorder()
    for topic in (RISK_DECISION, ALERT, TRADING_STATE, KILL_SWITCH):
        bus.subscribe(topic, rec, inline=True)

    await bus.publish(INTENT, intent(wide()))
    await bus.publish(INTENT, intent(signal(100.0, 98.0, 105.8), n=2))
    decisions = rec.on(RISK_DECISION)
    assert [d.verdict for d in decisions] == [RiskVerdict.APPROVED, RiskVerdict.DENIED]
    alerts = rec.on(ALERT)
    assert len(alerts) == 1 and alerts[0].level == "warning"
    assert "reward:risk 2.90 net of costs < 3 (gross 2.90)" in alerts[0].text

    for n in range(3):
        await bus.publish(TRADE_CLOSED, closed(-1.0, n=n))
    await bus.publish(INTENT, intent(wide(), n=3))
    assert rec.on(RISK_DECISION)[-1].reasons[0].startswith("cooldown: 3 losses")

    wallet = book.wallet(WALLET_ID)
    assert wallet is not None
    await bus.publish(WALLET, snapshot(wallet, 850.0))
    await bus.publish(WALLET, snapshot(wallet, 849.0))
    (change,) = rec.on(TRADING_STATE)
    assert isinstance(change, TradingStateChanged)
    assert (change.state, change.source, change.scope) == (
        TradingState.HALTED,
        "risk",
        WALLET_ID,
    )
    (kill,) = rec.on(KILL_SWITCH)
    assert kill.wallet_id == WALLET_ID and kill.flatten
    critical = [a for a in rec.on(ALERT) if isinstance(a, Alert) and a.level == "critical"]
    assert len(critical) == 1 and "KILL SWITCH paper:synthetics" in critical[0].text

    resumed = await engine.resume("operator")
    assert resumed and rec.on(TRADING_STATE)[-1] == resumed[-1]
