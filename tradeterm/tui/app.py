"""The operator console: composes the main screen, binds the keys, and runs the node in-process.

Widgets never call engines: the bridge posts views down, key actions go through the Control
facade (source "console") in named workers, and any worker error becomes a notification rather
than a crash. `q` asks first and then shuts the node down safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import Notification, Notify
from textual.worker import Worker, WorkerState

from tradeterm.clock import Clock
from tradeterm.control import Control
from tradeterm.domain.enums import Domain, TradingState
from tradeterm.errors import TradetermError
from tradeterm.node import Node
from tradeterm.tui.bridge import Bridge
from tradeterm.tui.commands import ConsoleCommands
from tradeterm.tui.messages import AlertRaised, NodeFailed, NodeStarted, ViewChanged
from tradeterm.tui.panes import PositionsPane
from tradeterm.tui.screens import (
    ConfirmationDetail,
    DomainsModal,
    FlattenModal,
    FlattenResultModal,
    HelpScreen,
    PositionCloseModal,
    PositionLevelModal,
    QuitModal,
    SplashScreen,
    StageScreen,
    TradeHistoryScreen,
)
from tradeterm.tui.screens.main import COMPACT_TABS, MainScreen
from tradeterm.tui.screens.reconcile import ReconcileScreen

log = logging.getLogger(__name__)

EXPLORATION_STEP = 0.05
_CONFIRM = Binding.Group("Confirm")
_EXPLORE = Binding.Group("Explore")
_SEVERITY = {"info": "information", "warning": "warning", "error": "error", "critical": "error"}
MAX_TOASTS = 3
"""Toasts on screen at once; an older one makes room for a newer one."""
MORE_KEYS = (
    ("up / down / pgup / pgdn", "move the cursor in the focused pane (y/n act on its row)"),
    ("tab / shift+tab", "move between panes"),
    ("P (stage screen)", "promote to the next stage (its gates must pass)"),
    ("p (after a flatten)", "pause new entries too (flatten-and-pause)"),
    ("x / S / T (Positions)", "close / move stop / move target of the position under the cursor"),
    ("FLATTEN + enter (flatten screen)", "arm and run flatten-all"),
)
"""Keys that are not the app's own bindings (screens and panes), for the help screen."""


class TradetermApp(App[int]):
    """tradeterm's console. Build it with `build_console(...)` (or directly with a node for tests)."""

    TITLE = "tradeterm"
    CSS = """
    /* toasts: compact, a few at most, never over the header's trading state and clock */
    ToastRack { max-height: 60%; }
    Toast { padding: 0 1; margin-top: 0; }
    /* compact footer: every key must fit in 80 columns, with a space after each group label */
    Footer.-compact FooterLabel { margin: 0 1 0 0; }
    Footer.-compact KeyGroup { padding: 0; margin: 0; }
    Footer.-compact FooterKey.-grouped { margin: 0 1 0 0; }
    """
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "Approve", group=_CONFIRM),
        Binding("n", "reject", "Reject", group=_CONFIRM),
        Binding("enter", "details", "Details", show=False),
        Binding("exclamation_mark", "flatten", "Flatten", key_display="!"),
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("s", "stages", "Stage"),
        Binding("e", "exploration(-1)", "Exploration down", key_display="e", group=_EXPLORE),
        Binding("E", "exploration(1)", "Exploration up", key_display="E", group=_EXPLORE),
        Binding("l", "learning", "Learn"),
        Binding("d", "domains", "Domain"),
        Binding("x", "close_position", "Close the selected position", show=False),
        Binding("S", "move_level('stop')", "Move the selected position's stop", show=False),
        Binding("T", "move_level('target')", "Move the selected position's target", show=False),
        Binding("h", "history", "Trade history and equity", show=False),
        Binding("f", "slippage", "Slippage per pair (fills, fitted model)", show=False),
        Binding("c", "lab('calibration')", "Calibration lab", show=False),
        Binding("P", "promote_hint", "Promote (in the stage screen, s)", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("b", "lab('backtest')", "Backtest lab", show=False),
        Binding("B", "lab_browser", "Backtest runs", show=False),
        Binding("R", "reconcile", "Reconciliation differences", show=False),
        *(
            Binding(str(i), f"pane('{name}')", f"Go to {label}", show=False)
            for i, (label, name) in enumerate(COMPACT_TABS, start=1)
        ),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        Binding("q", "quit_prompt", "Quit"),
    ]

    def __init__(
        self,
        node: Node,
        *,
        clock: Clock,
        start_node: bool = True,
        theme: str = "dark",
        refresh_hz: float = 10.0,
        compact_width: int = 120,
    ) -> None:
        super().__init__()
        self.node = node
        self.control = Control(node)
        self.clock = clock
        self.bridge = Bridge(self.control, self.post_message, clock.now_ms)
        self.views: dict[str, Any] = {}
        self._start_node = start_node
        self._refresh_s = 1.0 / refresh_hz
        self._compact_width = compact_width
        self._theme_name = "textual-light" if theme == "light" else "textual-dark"
        self.node_running = False
        self.exit_code = 0
        self._toast_keys: dict[str, tuple[tuple[str, str, str], int]] = {}
        self._paused = False

    # ---- start-up and shutdown -----------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        return MainScreen(
            now_ms=self.clock.now_ms, compact_width=self._compact_width, views=lambda: self.views
        )

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    async def on_mount(self) -> None:
        self.theme = self._theme_name
        await self.bridge.attach(self.node.bus)
        self.set_interval(self._refresh_s, self.bridge.flush, name="bridge")
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        if self._start_node:
            self.push_screen(SplashScreen())
            self.run_worker(self._boot(), name="node:start", exit_on_error=False)

    async def _boot(self) -> None:
        try:
            await self.node.start()
        except TradetermError as exc:
            self.post_message(NodeFailed(str(exc)))
            return
        self.node_running = True
        self.post_message(NodeStarted())

    def _on_sigterm(self) -> None:
        self.run_worker(self.safe_shutdown(), name="node:stop", exit_on_error=False)

    async def safe_shutdown(self) -> None:
        """Stop the node (no new entries, working entries cancelled, state saved), then exit.
        Not `_shutdown`: that name is Textual's own teardown, which must still run after this."""
        if self.node_running:
            self.node_running = False
            await self.node.stop()
        self.exit(self.exit_code)

    async def on_unmount(self) -> None:
        if self.node_running:  # any other exit path still shuts the node down safely
            self.node_running = False
            await self.node.stop()

    # ---- toasts: coalesced and capped --------------------------------------------------------
    def _on_notify(self, event: Notify) -> None:
        """One toast per distinct message: a repeat replaces the one on screen with a count
        ("... (x3)"), and at most MAX_TOASTS are shown (the oldest make room)."""
        event.prevent_default()  # App's own handler would add the toast a second time
        new = event.notification
        key = (new.title, new.message, new.severity)
        count = 1
        for old in list(self._notifications):
            seen = self._toast_keys.get(old.identity)
            if seen is not None and seen[0] == key:
                count += seen[1]
                self._unnotify(old, refresh=False)
        if count > 1:
            new = Notification(
                f"{new.message} (x{count})", new.title, new.severity, new.timeout, new.markup
            )
        self._notifications.add(new)
        live = list(self._notifications)
        for old in live[:-MAX_TOASTS]:
            self._unnotify(old, refresh=False)
        self._toast_keys = {
            n.identity: self._toast_keys.get(n.identity, (key, count)) for n in self._notifications
        }
        self._refresh_notifications()

    @property
    def toasts(self) -> list[str]:
        """The messages of the toasts on screen now, oldest first."""
        return [n.message for n in self._notifications]

    # ---- messages from the bridge --------------------------------------------------------
    def on_view_changed(self, message: ViewChanged) -> None:
        self.views[message.pane] = message.view
        if message.pane == "header":
            paused = getattr(message.view, "trading_state", "ACTIVE") != "ACTIVE"
            if paused != self._paused:  # the footer says "p Resume" while paused
                self._paused = paused
                self.refresh_bindings()
        self.main.apply(message.pane, message.view)
        if message.pane == "stages" and isinstance(self.screen, StageScreen):
            self.screen.update_view(message.view)
        if message.pane == "header" and isinstance(self.screen, ReconcileScreen):
            self.screen.reload()  # a RECONCILE event (or the clock) refreshed the header

    def on_alert_raised(self, message: AlertRaised) -> None:
        self.notify(message.text, severity=_SEVERITY.get(message.level, "information"), timeout=6)  # type: ignore[arg-type]

    def _close_splash(self) -> None:
        if isinstance(self.screen, SplashScreen):
            self.pop_screen()

    def on_node_started(self, _message: NodeStarted) -> None:
        self._close_splash()
        mode = "LIVE enabled" if self.node.live else "paper only"
        self.notify(
            f"node started: stage {self.node.rollout.index} '{self.node.rollout.stage.name}', {mode}"
        )

    def on_node_failed(self, message: NodeFailed) -> None:
        """The node refused to start (a user error: config, live approval, state in use)."""
        self._close_splash()
        self.exit_code = 2
        self.exit(2, return_code=2, message=message.text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Errors in workers become notifications, never a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            err = event.worker.error
            text = str(err) if isinstance(err, TradetermError) else f"{type(err).__name__}: {err}"
            log.error("console worker %s failed: %s", event.worker.name, text)
            self.notify(text, title=event.worker.name, severity="error", timeout=8)

    # ---- helpers -----------------------------------------------------------------------------
    def act(
        self,
        name: str,
        call: Callable[[], Awaitable[Any]],
        done: Callable[[Any], None] | None = None,
    ) -> None:
        """Run an operator action in a named worker; its result (if any) goes to `done`."""

        async def run() -> None:
            result = await call()
            if done is not None:
                done(result)

        self.run_worker(run(), name=f"action:{name}", exit_on_error=False, group="actions")

    def _selected(self) -> str | None:
        pane = self.main.confirmations()
        selected = pane.selected_id() if pane is not None else None
        if selected is None and pane is not None and pane.selection_lost:
            log.warning(
                "console: key held, %s slid under the cursor a moment ago",
                pane.table.selected_key(),
            )
            self.notify(
                "the highlighted confirmation just changed (the one before it expired or was"
                " decided): check it and press again",
                severity="warning",
            )
        elif selected is None:
            self.notify("no confirmation selected", severity="warning")
        return selected

    def _needs_node(self) -> bool:
        if not self.node_running:
            self.notify("the node is not running", severity="warning")
        return self.node_running

    # ---- actions (every one goes through Control, source "console") -------------------------
    def action_approve(self) -> None:
        if self._needs_node() and (cid := self._selected()):
            self.bridge.own(cid)
            self.act("approve", lambda: self.control.approve(cid, source="console"), self._said)

    def action_reject(self) -> None:
        if self._needs_node() and (cid := self._selected()):
            self.bridge.own(cid)
            self.act("reject", lambda: self.control.reject(cid, source="console"), self._said)

    def _said(self, result: Any) -> None:
        status = getattr(result, "status", None)
        reason = getattr(result, "reason", "")
        if status is not None:
            word = str(status.value)
            self.notify(
                f"{result.id}: {word}{f' ({reason})' if reason else ''}",
                severity="information" if word == "approved" else "warning",
            )

    def action_details(self) -> None:
        cid = self._selected()  # says why when nothing (or a vanished one) is selected
        view = self.views.get("confirmations")
        row = next((r for r in getattr(view, "rows", ()) if r.id == cid), None)
        if row is None:
            return

        def decided(choice: str | None) -> None:
            if choice in ("approve", "reject"):
                self.bridge.own(row.id)
            if choice == "approve":
                self.act(
                    "approve", lambda: self.control.approve(row.id, source="console"), self._said
                )
            elif choice == "reject":
                self.act(
                    "reject", lambda: self.control.reject(row.id, source="console"), self._said
                )

        self.push_screen(ConfirmationDetail(row, self.clock.now_ms), decided)

    def on_confirmations_pane_selected(self, _message: Any) -> None:
        self.action_details()

    def action_flatten(self) -> None:
        if not self._needs_node():
            return
        preview = self.control.flatten_preview()

        def armed(yes: bool | None) -> None:
            if yes:
                self.act(
                    "flatten", lambda: self.control.flatten_all(source="console"), self._flattened
                )

        self.push_screen(FlattenModal(preview, self.node.config.wallets.currency), armed)

    def _flattened(self, report: Any) -> None:
        active = self.node.risk.state is TradingState.ACTIVE

        def answered(choice: str | None) -> None:
            if choice == "pause":
                self.act("pause", lambda: self.control.pause(source="console"), self._paused_now)

        self.push_screen(FlattenResultModal(report, entries_active=active), answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """p is "Pause" while entries are allowed and "Resume" while paused or halted."""
        if action == "pause":
            return not self._paused
        if action == "resume":
            return self._paused
        return True

    def action_pause(self) -> None:
        if not self._needs_node():
            return
        if self.node.risk.state is TradingState.ACTIVE:
            self.act("pause", lambda: self.control.pause(source="console"), self._paused_now)
        else:
            self.action_resume()

    def _paused_now(self, _result: object) -> None:
        self._paused = True
        self.refresh_bindings()
        self.notify("paused: no new entries (p resumes)")

    def action_resume(self) -> None:
        if not self._needs_node():
            return
        if self.node.risk.state is TradingState.ACTIVE:
            self.action_pause()
            return

        def resumed(_result: object) -> None:
            self._paused = False
            self.refresh_bindings()
            self.notify("resumed: ACTIVE")

        self.act("resume", lambda: self.control.resume(source="console"), resumed)

    # ---- one position: close, move stop, move target ---------------------------------------
    def _position(self) -> tuple[str, Any] | None:
        pane = next(iter(self.main.query(PositionsPane)), None)
        chosen = pane.selected_position() if pane is not None else None
        if chosen is None:
            self.notify(
                "no position selected: 2 goes to Positions, the arrows choose one",
                severity="warning",
            )
        return chosen

    def action_close_position(self) -> None:
        if not self._needs_node() or (chosen := self._position()) is None:
            return
        wallet_id, row = chosen
        ref = f"{wallet_id}/{row.key}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(
                    "close",
                    lambda: self.control.close_position(ref, source="console"),
                    lambda text: self.notify(str(text)),
                )

        self.push_screen(PositionCloseModal(wallet_id, row), answered)

    def action_move_level(self, level: str) -> None:
        if not self._needs_node() or (chosen := self._position()) is None:
            return
        wallet_id, row = chosen
        ref = f"{wallet_id}/{row.key}"
        move = self.control.move_stop if level == "stop" else self.control.move_target

        def moved(position: Any) -> None:
            self.notify(f"{ref}: stop {position.stop_loss:g}, target {position.take_profit:g}")

        def answered(price: float | None) -> None:
            if price is not None:
                self.act(f"move_{level}", lambda: move(ref, price, source="console"), moved)

        self.push_screen(PositionLevelModal(wallet_id, row, level), answered)

    def action_history(self) -> None:
        """h: closed trades (filterable) and each wallet's equity curve."""
        trades = self.control.closed_trades()
        self.push_screen(TradeHistoryScreen(trades, self.control.starting_balances()))

    def action_slippage(self) -> None:
        """f: recorded fill slippage and the fitted model per pair (`tradeterm slippage show`)."""
        from tradeterm.execution.slippage import slippage_report
        from tradeterm.tui.screens.slippage import SlippageScreen

        stores = self.node.stores
        books = [("paper", stores.paper)] + ([("live", stores.live)] if stores.live else [])
        costs = self.node.config.costs
        rows = slippage_report(books, self.node.config)
        self.push_screen(SlippageScreen(rows, costs.slippage, costs.min_fills))

    def action_lab(self, name: str) -> None:
        """b opens the backtest lab, c the calibration lab."""
        if name == "backtest":
            from tradeterm.tui.screens.lab import LabScreen

            self.push_screen(LabScreen(self.node.config, **self.lab_dirs))
            return
        from tradeterm.tui.screens.calibration import CalibrationScreen

        self.push_screen(CalibrationScreen(self.node.config, **self.lab_dirs))

    def action_promote_hint(self) -> None:
        self.notify("P promotes in the stage screen: press s first", severity="warning")

    def action_stages(self) -> None:
        view = self.views.get("stages") or self.bridge.build("stages")

        def chosen(choice: str | None) -> None:
            if choice in ("promote", "force"):
                force = choice == "force"
                seen = view.index  # the stage the operator confirmed on
                self.act(
                    "promote",
                    lambda: self.control.promote(source="console", force=force, from_stage=seen),
                    self._promoted,
                )

        self.push_screen(StageScreen(view), chosen)

    def _promoted(self, change: Any) -> None:
        self.notify(f"stage {change.from_index} -> {change.to_index} '{change.name}'")

    def action_exploration(self, direction: int) -> None:
        if not self._needs_node():
            return
        rate = self.node.allocator.exploration + direction * EXPLORATION_STEP
        self.act(
            "exploration",
            lambda: self.control.set_exploration(rate, source="console"),
            self._explored,
        )

    def _explored(self, applied: float) -> None:
        self.notify(f"exploration {applied:.0%}")

    def _learning_set(self, on: bool) -> None:
        self.notify(f"learning {'ON' if on else 'OFF (posteriors frozen)'}")

    def action_learning(self) -> None:
        if not self._needs_node():
            return
        enabled = not self.node.allocator.learning
        self.act(
            "learning",
            lambda: self.control.set_learning(enabled, source="console"),
            self._learning_set,
        )

    def action_domains(self) -> None:
        view = self.views.get("stages") or self.bridge.build("stages")

        def changed(changes: dict[str, bool] | None) -> None:
            for domain, enabled in (changes or {}).items():
                toggle = partial(
                    self.control.toggle_domain, Domain(domain), enabled, source="console"
                )
                self.act(f"domain:{domain}", toggle)

        self.push_screen(DomainsModal(view.domains), changed)

    def action_pane(self, name: str) -> None:
        """1-7: bring a pane forward (its tab on a small terminal) and put the keys on it."""
        if self.screen is self.main:
            self.main.jump(name)

    def action_lab_browser(self) -> None:
        from tradeterm.tui.screens.lab_browser import BrowserScreen

        self.push_screen(BrowserScreen(self.node.config, **self.lab_dirs))

    lab_dirs: ClassVar[dict[str, Any]] = {}
    """state_dir / reports_dir for the lab (tests); empty: the config's storage folders."""

    def action_reconcile(self) -> None:
        """R: reconciliation differences with adopt / close / ignore / re-run."""
        self.push_screen(ReconcileScreen(self, self.clock.now_ms))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        rows = [
            (b.key_display or b.key, b.description) for b in self.BINDINGS if isinstance(b, Binding)
        ]
        self.push_screen(HelpScreen([*rows, *MORE_KEYS]))

    def action_quit_prompt(self) -> None:
        positions = len(self.node.portfolio.positions()) if self.node_running else 0
        pending = len(self.node.execution.pending()) if self.node_running else 0
        unprotected = len(self.control.unprotected_positions()) if self.node_running else 0

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.safe_shutdown(), name="node:stop", exit_on_error=False)

        modal = QuitModal(self.control.flatten_on_shutdown, pending, positions, unprotected)
        self.push_screen(modal, answered)
