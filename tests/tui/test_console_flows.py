"""The operator's keyboard flows on the whole console, end to end: the real node on the sim venue,
real SQLite, the real bridge and screens. Each flow checks what the operator sees AND what the
node wrote (confirmation status, the audit journal with source "console", orders, positions).
Simulated time moves only when a test advances the SimClock."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import OptionList, TabbedContent, Tabs

from tests.tui.kit import (
    COMPACT,
    PAPER_STAGES,
    WIDE,
    ConsoleUnderTest,
    audit,
    audited,
    confirmation_ids,
    confirmations,
    header_text,
    paper_db,
    pending_ids,
    positions_pane,
    press,
    run_for,
    run_until,
    started,
    text,
)
from tests.tui.screens.kit import until
from tradeterm.domain.enums import ConfirmationStatus, Domain, TradingState
from tradeterm.tui.commands import CONSOLE_COMMANDS
from tradeterm.tui.panes import AllocatorPane
from tradeterm.tui.panes.confirmations import SETTLE_S
from tradeterm.tui.screens import (
    ConfirmationDetail,
    DomainsModal,
    FlattenModal,
    FlattenResultModal,
    PromoteModal,
    QuitModal,
    StageScreen,
)
from tradeterm.tui.screens.main import COMPACT_TABS, PANE_TYPES, MainScreen

Factory = Callable[..., ConsoleUnderTest]


def trading_state(app: ConsoleUnderTest) -> TradingState:
    """The risk engine's trading state right now."""
    return app.node.risk.state


# ---- confirmations ------------------------------------------------------------------------------
async def test_y_approves_the_selected_confirmation(new_console: Factory) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(pending_ids(app)))
        pane = confirmations(app)
        cid = pane.selected_id()
        assert cid is not None and cid == confirmation_ids(app)[0]
        assert pane.table.text(cid, "ttl").endswith("s")  # a live countdown, e.g. "20s"
        assert f"{len(pending_ids(app))} pending" in header_text(app)

        await press(pilot, "y")

        stored = next(c for c in paper_db(app).load_confirmations(status=None) if c.id == cid)
        assert cid not in confirmation_ids(app)
        if stored.status is ConfirmationStatus.APPROVED:
            assert app.noted(f"{cid}: approved")
            orders = paper_db(app).load_orders()
            assert stored.intent.signal.id in {o.signal_id for o in orders}
        else:  # the re-check at current prices refused it (stale, or no longer clear of its
            # costs): rejected, and the reason shown
            assert stored.status is ConfirmationStatus.REJECTED
            assert stored.reason
            assert app.noted(f"{cid}: rejected ({stored.reason}")
        assert stored.decided_by == "console"
        assert audited(app, "approve") == [("console", True)]
        assert sum(cid in note for note in app.notes) == 1  # one toast for one decision


async def test_n_rejects_and_the_row_leaves_the_pane(new_console: Factory) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(pending_ids(app)))
        cid = confirmations(app).selected_id()
        assert cid is not None

        await press(pilot, "n")

        assert cid not in confirmation_ids(app)
        assert app.noted(f"{cid}: rejected (rejected by console)")
        stored = next(c for c in paper_db(app).load_confirmations(status=None) if c.id == cid)
        assert stored.status is ConfirmationStatus.REJECTED
        assert audited(app, "reject") == [("console", True)]
        assert audited(app, "approve") == []


async def test_an_unanswered_confirmation_counts_down_then_expires(new_console: Factory) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(pending_ids(app)))
        cid = confirmation_ids(app)[0]
        pane = confirmations(app)
        row = pane.confirmation(cid)
        assert row is not None
        left_s = math.ceil((row.expires_ms - app.sim_clock.now_ms()) / 1000)
        assert pane.table.text(cid, "ttl") == f"{left_s}s"

        await run_for(pilot, 10)
        assert pane.table.text(cid, "ttl") == f"{left_s - 10}s"

        await run_for(pilot, left_s - 10 + 1)  # one second past its time to live
        assert cid not in confirmation_ids(app)
        stored = next(c for c in paper_db(app).load_confirmations(status=None) if c.id == cid)
        assert stored.status is ConfirmationStatus.EXPIRED
        assert audited(app, "approve") == [] and audited(app, "reject") == []


async def test_y_waits_a_moment_when_a_row_slides_under_the_cursor_then_acts_on_it(
    new_console: Factory,
) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: len(pending_ids(app)) >= 2)
        pane = confirmations(app)
        first, second = confirmation_ids(app)[:2]
        assert pane.selected_id() == first
        row = pane.confirmation(first)
        assert row is not None

        await run_for(pilot, (row.expires_ms - app.sim_clock.now_ms()) / 1000 + 1)
        assert first not in confirmation_ids(app) and second in confirmation_ids(app)
        assert pane.table.selected_key() == second  # highlighted now, but only just
        await press(pilot, "y")  # in the same instant: meant for `first`, approves nothing
        assert app.noted("check it and press again")
        assert audited(app, "approve") == []
        by_id = {c.id: c.status for c in paper_db(app).load_confirmations(status=None)}
        assert by_id[second] is ConfirmationStatus.PENDING

        pane.table.focus()
        await press(pilot, "enter")  # nor does enter open a neighbour's details
        assert isinstance(app.screen, MainScreen)
        assert sum("check it and press again" in note for note in app.notes) == 2

        # a moment later the highlighted row is the operator's choice: y acts on it, no arrows
        await run_for(pilot, SETTLE_S + 0.1)
        assert pane.table.selected_key() == second
        await press(pilot, "y")
        assert [a.args for a in audit(app) if a.action == "approve"] == [{"id": second}]
        assert sum(second in note for note in app.notes) == 1  # approved or refused: one toast
        by_id = {c.id: c.status for c in paper_db(app).load_confirmations(status=None)}
        assert by_id[second] is not ConfirmationStatus.PENDING
        assert second not in confirmation_ids(app)

        # moving the cursor is always a deliberate choice: n acts at once
        await run_until(pilot, lambda: len(pending_ids(app)) >= 1)
        await press(pilot, "down", "up")
        chosen = pane.selected_id()
        assert chosen == confirmation_ids(app)[0]
        await press(pilot, "n")
        assert audited(app, "reject") == [("console", True)]


async def test_enter_opens_the_details_and_y_there_approves(new_console: Factory) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(pending_ids(app)))
        pane = confirmations(app)
        cid = confirmation_ids(app)[0]
        pane.table.focus()
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmationDetail)
        shown = text(pilot)
        assert "CONFIRM ORDER" in shown and "paper:synthetics [PAPER]" in shown
        assert "expires in" in shown

        await press(pilot, "y")

        assert isinstance(app.screen, MainScreen)
        assert cid not in confirmation_ids(app)
        assert audited(app, "approve") == [("console", True)]


# ---- flatten-all --------------------------------------------------------------------------------
async def test_flatten_all_arms_only_on_flatten_cancels_and_then_closes_everything(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(app.node.portfolio.positions()))
        held = len(app.node.portfolio.positions())

        await press(pilot, "exclamation_mark")
        assert isinstance(app.screen, FlattenModal)
        shown = text(pilot)
        assert "FLATTEN EVERYTHING" in shown and "paper:synthetics [PAPER]" in shown
        assert f"close {held} position" in shown and "not armed: type FLATTEN" in shown

        await press(pilot, *"FLATTE", "enter")  # one letter short: nothing happens
        assert isinstance(app.screen, FlattenModal) and not app.screen.armed
        assert app.noted("Not armed: type FLATTEN first.")
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen)
        assert len(app.node.portfolio.positions()) == held
        assert audited(app, "flatten_all") == []

        await press(pilot, "exclamation_mark", *"FLATTEN")
        assert "ARMED: enter flattens all" in text(pilot)
        await press(pilot, "enter")

        assert isinstance(app.screen, FlattenResultModal)
        shown = text(pilot)
        assert "All flat" in shown and "by console" in shown
        assert "sim: cancelled" in shown and f"closed {held} position" in shown
        assert app.node.portfolio.positions() == []
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
        panel = positions_pane(app).panel("paper:synthetics")
        assert panel.wallet.positions == ()
        assert "no open positions" in text(pilot)
        assert audited(app, "flatten_all") == [("console", True)]


# ---- pause / resume -----------------------------------------------------------------------------
async def test_p_pauses_entries_and_p_again_resumes(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        assert "ACTIVE" in header_text(app)

        await press(pilot, "p")
        assert trading_state(app) is TradingState.REDUCING
        assert "REDUCING" in header_text(app)
        assert app.noted("paused: no new entries")

        await press(pilot, "p")
        assert trading_state(app) is TradingState.ACTIVE
        assert "ACTIVE" in header_text(app) and "REDUCING" not in header_text(app)
        assert audited(app, "pause") == [("console", True)]
        assert audited(app, "resume") == [("console", True)]


# ---- rollout stages -----------------------------------------------------------------------------
async def test_promotion_into_a_live_stage_is_refused_without_live(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "s")
        assert isinstance(app.screen, StageScreen)
        shown = text(pilot)
        assert "Gate report: stage 1 'crypto-paper' -> 2 'crypto-live'" in shown
        assert "live trading not enabled in this run" in shown and "NOT READY" in shown

        await press(pilot, "P")
        assert isinstance(app.screen, PromoteModal)
        assert (
            "Stage 2 'crypto-live' trades live and live trading is not enabled in this run: "
            "it cannot be entered." in text(pilot)
        )
        await press(pilot, "y")  # nothing to confirm
        assert isinstance(app.screen, PromoteModal)
        await press(pilot, "escape", "escape")

        assert isinstance(app.screen, MainScreen)
        assert app.node.rollout.index == 1
        assert "STAGE 1/5" in header_text(app)
        assert [c.event for c in paper_db(app).stage_history()] == ["init"]
        assert audited(app, "promote") == []


async def test_forced_promotion_to_a_paper_stage(new_console: Factory) -> None:
    app = new_console(extra={"rollout": {"stages": PAPER_STAGES}})
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        assert "STAGE 1/3" in header_text(app)
        await press(pilot, "s", "P")
        assert isinstance(app.screen, PromoteModal)
        assert "NOT READY: failing gates" in text(pilot)

        await press(pilot, "y")  # the gates failed: y needs FORCE first
        assert isinstance(app.screen, PromoteModal)
        assert app.noted("Type FORCE first")
        await press(pilot, *"FORCE")
        assert "FORCE typed: y promotes past the failed gates" in text(pilot)
        await press(pilot, "y")

        assert isinstance(app.screen, MainScreen)
        assert app.node.rollout.index == 2
        assert app.noted("stage 1 -> 2 'synth-paper-wide'")
        assert "STAGE 2/3" in header_text(app)
        change = paper_db(app).stage_history()[-1]
        assert (change.from_index, change.to_index, change.event) == (1, 2, "promote")
        assert (
            change.reason.startswith("forced past failed gates") and "by console" in change.reason
        )
        assert "trades" in change.kpis["synthetics"]
        assert audited(app, "promote") == [("console", True)]

        await run_for(pilot, 2)  # the gate report is rebuilt at most every 2 s
        await press(pilot, "s")
        assert "▶ 2 synth-paper-wide CURRENT" in text(pilot)


async def test_promotion_when_every_gate_passes_needs_only_y(new_console: Factory) -> None:
    easy = {"min_trades": 0, "min_days": 0, "min_win_rate": 0, "min_sharpe": -10}
    stages = [dict(PAPER_STAGES[0], gates={"synthetics": easy}), *PAPER_STAGES[1:]]
    app = new_console(extra={"rollout": {"stages": stages}})
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        await press(pilot, "s", "P")
        assert isinstance(app.screen, PromoteModal)
        assert "FAIL" not in text(pilot) and "FORCE" not in text(pilot)
        await press(pilot, "y")

        assert isinstance(app.screen, MainScreen)
        assert app.node.rollout.index == 2
        change = paper_db(app).stage_history()[-1]
        assert (change.from_index, change.to_index, change.event) == (1, 2, "promote")
        assert not change.reason.startswith("forced")
        assert audited(app, "promote") == [("console", True)]


# ---- allocator and domains ----------------------------------------------------------------------
async def test_exploration_keys_never_go_below_ten_percent_and_l_freezes_learning(
    new_console: Factory,
) -> None:
    app = new_console(extra={"allocator": {"exploration": 0.15}})
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        arms = app.main.query_one(AllocatorPane)
        await press(pilot, "e")
        assert app.node.allocator.exploration == 0.10
        await press(pilot, "e")
        assert app.node.allocator.exploration == 0.10  # the floor
        assert app.notes[-2:] == ["exploration 10%", "exploration 10%"]
        assert arms.view is not None and arms.view.exploration == 0.10
        await press(pilot, "E")
        assert round(app.node.allocator.exploration, 2) == 0.15
        assert "exploration 15%" in text(pilot)
        assert [ok for _, ok in audited(app, "set_exploration")] == [True, True, True]

        assert app.node.allocator.learning
        await press(pilot, "l")
        assert not app.node.allocator.learning
        assert app.noted("learning OFF (posteriors frozen)")
        assert "learning OFF" in text(pilot)
        assert audited(app, "set_learning") == [("console", True)]


async def test_domain_toggles_reach_the_node(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        assert not app.node.rollout.domain_enabled(Domain.FOREX)  # OFF at every boot
        await press(pilot, "d")
        assert isinstance(app.screen, DomainsModal)
        # no venue of this config provides forex: it reads unavailable, never ON (issue 11)
        assert "[-] forex unavailable" in text(pilot)
        assert "[x] synthetics" in text(pilot)
        synthetics = list(Domain).index(Domain.SYNTHETICS)
        await press(pilot, *["down"] * synthetics, "space")
        assert "[ ] synthetics" in text(pilot) and "(changed)" in text(pilot)
        await press(pilot, "a")

        assert isinstance(app.screen, MainScreen)
        assert not app.node.rollout.domain_enabled(Domain.SYNTHETICS)
        assert audited(app, "toggle_domain") == [("console", True)]
        entry = next(a for a in reversed(paper_db(app).load_audit()) if a.action == "toggle_domain")
        assert entry.args == {"domain": "synthetics", "enabled": False}


# ---- quit ---------------------------------------------------------------------------------------
async def test_q_asks_then_y_shuts_the_node_down_safely(
    new_console: Factory, tmp_path: Path
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(app.node.portfolio.positions()))
        held = len(app.node.portfolio.positions())
        trades = len(paper_db(app).load_trades())
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitModal)
        noun = "position stays" if held == 1 else "positions stay"
        assert f"{held} open {noun} open" in text(pilot)
        await pilot.press("y")
        deadline = time.monotonic() + 60  # the shutdown worker stops the node, then exits the app
        while app.return_code is None:
            assert time.monotonic() < deadline, "y must quit the console (within 60 s)"
            await asyncio.sleep(0.02)
        assert app.return_code == 0, "y must quit the console"
        assert not app.node.started and not app.node_running  # stopped by the quit itself

    node = app.node
    assert node.tasks == []
    assert all(s.task is None for s in node.bus.subscriptions())
    # the positions stayed open (stored, not closed by the shutdown) ...
    db = sqlite3.connect(tmp_path / "paper.db")
    assert db.execute("SELECT COUNT(*) FROM positions").fetchone()[0] == held
    assert db.execute("SELECT COUNT(*) FROM trades").fetchone()[0] == trades
    db.close()
    # ... and the state folder is free again: the next console starts on the same state
    again = new_console(clock=app.sim_clock)
    async with again.run_test(size=WIDE) as pilot:
        await started(pilot)
        assert again.node.started


async def test_a_node_that_refuses_to_start_closes_the_console_with_exit_code_2(
    new_console: Factory,
) -> None:
    app = new_console(extra={"rollout": {"initial_stage": 2}})  # trades live, live not approved
    async with app.run_test(size=COMPACT) as pilot:
        deadline = time.monotonic() + 60
        while app.return_code is None and time.monotonic() < deadline:
            await pilot.pause(0.02)
    assert app.return_code == 2, f"exit code {app.return_code} (None: still open after 60 s)"
    assert not app.node_running and not app.node.started


# ---- moving around without a mouse --------------------------------------------------------------
async def test_number_keys_bring_each_compact_tab_forward_with_focus(new_console: Factory) -> None:
    app = new_console(confirm="always")
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        tabs = app.main.query_one(TabbedContent)
        for key, (label, pane) in enumerate(COMPACT_TABS, start=1):
            assert f"{key} {label}" in text(pilot)  # the tab strip shows the key
            await press(pilot, str(key))
            assert tabs.active == f"tab-{pane}"
            focused = app.focused
            assert focused is not None, pane
            if pane in ("risk", "stages"):  # gauges and text only: the tab strip takes the keys
                assert isinstance(focused, Tabs) and tabs in focused.ancestors, (pane, focused)
            else:  # the pane's own table (or its wallet tabs): arrows move inside the pane
                assert any(isinstance(a, PANE_TYPES[pane]) for a in focused.ancestors), pane

        # back on the confirmations: the keys act on its selection
        await run_until(pilot, lambda: bool(pending_ids(app)))
        await press(pilot, "3", "1")
        cid = confirmations(app).selected_id()
        assert cid is not None
        await press(pilot, "n")
        assert cid not in confirmation_ids(app)
        assert audited(app, "reject") == [("console", True)]


async def test_number_keys_focus_panes_side_by_side_and_do_nothing_in_a_modal(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "3")
        assert app.focused is not None
        assert any(isinstance(a, PANE_TYPES["signals"]) for a in app.focused.ancestors)
        await press(pilot, "s")
        assert isinstance(app.screen, StageScreen)
        await press(pilot, "1")
        assert isinstance(app.screen, StageScreen)  # the modal keeps the keys


# ---- command palette ----------------------------------------------------------------------------
def test_every_palette_command_names_a_console_action() -> None:
    for name, action, key in CONSOLE_COMMANDS:
        method = action.split("(", 1)[0]
        assert callable(getattr(ConsoleUnderTest, f"action_{method}", None)), name
        assert key in {b.key_display or b.key for b in ConsoleUnderTest.BINDINGS}, name


async def test_ctrl_p_pause_runs_the_same_action_as_p(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "ctrl+p", *"pause")
        assert isinstance(app.screen, CommandPalette)
        results = app.screen.query_one(OptionList)
        assert await until(pilot, lambda: results.option_count > 0)  # the search is async
        assert "Pause / resume entries" in str(results.get_option_at_index(0).prompt)
        await press(pilot, "enter")
        await run_until(pilot, lambda: trading_state(app) is TradingState.REDUCING)
        assert audited(app, "pause") == [("console", True)]
        assert isinstance(app.screen, MainScreen)


async def test_refreshes_alone_never_make_the_highlighted_row_look_slid(
    new_console: Factory,
) -> None:
    """Rows arriving and prices ticking rebuild nothing under the cursor: with no row gone, y
    is never held (at 80x24, where columns are hidden to fit)."""
    app = new_console(confirm="always")
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: len(pending_ids(app)) >= 1)
        pane = confirmations(app)
        first = confirmation_ids(app)[0]
        shown = pane.table.shown_columns
        for _ in range(6):
            await run_for(pilot, 2)
            assert first in confirmation_ids(app)
            assert pane.table.selected_key() == first
            assert not pane.selection_lost
        assert len(confirmation_ids(app)) >= 1
        assert set(pane.table.shown_columns) <= set(shown)


async def test_universe_and_arms_show_one_labelled_regime_per_market(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await run_until(pilot, lambda: bool(app.bridge.build("allocator").regimes), step_s=30)
        universe = app.bridge.build("universe")
        arms = dict(app.bridge.build("allocator").regimes)
        assert universe.timeframe == app.node.allocator.regime_timeframe
        assert app.bridge.build("allocator").regime_timeframe == universe.timeframe
        for row in universe.rows:
            if row.symbol in arms:
                assert row.regime == arms[row.symbol], row
            else:
                assert row.regime == ""  # shown as "warming up"
            assert row.atr > 0 or row.bars <= 14  # an ATR as soon as 15 bars have closed
        assert f"Regime {universe.timeframe}" in text(pilot)
