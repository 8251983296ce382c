"""The rollout stage screen and the promotion prompt.

StageScreen shows the whole stage ladder (current stage marked, each stage's domain modes), the
current stage's gate report (every KPI against its gate, ok or FAIL), whether it is ready to
promote and whether live trading is enabled in this run. P opens PromoteModal; a confirmed
promotion closes the screen with the decision ("promote" or "force") for the app to carry out
through Control. While open, the app keeps it current with `update_view`.

PromoteModal: when every gate passed, y promotes. When some failed, they are listed and y only
works after typing FORCE. At the last stage, or when the next stage trades live without live
trading enabled, there is nothing to confirm.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tradeterm.tui.views import GateRow, StageRow, StageView

PROMOTE = "promote"
FORCE = "force"
FORCE_WORD = "FORCE"
LIVE_OFF_NOTE = "live trading not enabled in this run: stages that trade live cannot be entered"

_BOX_CSS = """
    & .title { width: 100%; content-align: center middle; text-style: bold; }
    & .section { margin-top: 1; text-style: bold; }
    & .warn { color: $warning; }
    & .hint { color: $text-muted; }
    & .ready { color: $success; text-style: bold; }
    & .not-ready { color: $error; text-style: bold; }
"""


def _stage_label(row: StageRow | None) -> str:
    return f"{row.index} '{row.name}'" if row is not None else "-"


def _stage_at(view: StageView, index: int) -> StageRow | None:
    return next((s for s in view.stages if s.index == index), None)


def trades_live(row: StageRow) -> bool:
    """True when the stage puts some domain live."""
    return any(mode == "live" for _, mode in row.domains)


def stages_content(view: StageView) -> Content:
    """The stage ladder, one stage a line: marker, number, name, CURRENT, domain modes."""
    lines: list[Content] = []
    for row in view.stages:
        modes = ", ".join(f"{domain} {mode}" for domain, mode in row.domains) or "all off"
        blocked = "  (live: not enabled)" if trades_live(row) and not view.live_enabled else ""
        marker = "▶" if row.current else " "
        head = f"{marker} {row.index} {row.name}"
        parts: list[str | tuple[str, str]] = [(head, "bold") if row.current else head]
        if row.current:
            parts.append(("  CURRENT", "$accent bold"))
        parts.append(f"  {modes}")
        if blocked:
            parts.append((blocked, "$warning"))
        lines.append(Content.assemble(*parts))
        if row.description:
            lines.append(Content.assemble((f"    {row.description}", "$text-muted")))
    return Content("\n").join(lines)


def gates_content(gates: tuple[GateRow, ...], *, failed_only: bool = False) -> Content:
    """Gate lines `domain  win rate 41.0% >= 35.0% ok`, FAIL lines in the error colour."""
    shown = [g for g in gates if not (failed_only and g.passed)]
    if not shown:
        return Content("no gates in this stage" if not gates else "every gate passed")
    width = max(len(g.domain) for g in shown) + 1
    lines = [
        Content.assemble(
            f"{g.domain:<{width}}",
            (g.text.strip(), "" if g.passed else "$error bold"),
        )
        for g in shown
    ]
    return Content("\n").join(lines)


def readiness_text(view: StageView) -> str:
    """READY / NOT READY with how many gates failed."""
    if view.ready:
        return "READY to promote: every gate passed (P to promote)"
    failed = sum(1 for g in view.gates if not g.passed)
    return f"NOT READY: {failed} of {len(view.gates)} gates FAIL (P can force past them)"


def domains_text(view: StageView) -> str:
    """This session's domain switches, as words."""
    parts = [f"{d.domain} {d.mode} {'ON' if d.enabled else 'OFF'}" for d in view.domains]
    return "Domains this session: " + (" · ".join(parts) if parts else "none")


class StageScreen(ModalScreen[str | None]):
    """The rollout stage machine, full screen. Dismisses "promote" or "force" once the operator
    confirmed a promotion in PromoteModal (the app asks Control to do it), None on escape."""

    DEFAULT_CSS = (
        """
    StageScreen {
        & > #stage-box {
            width: 100%; height: 100%; border: thick $accent; background: $surface; padding: 0 1;
        }
        & #stage-body { height: 1fr; }
    """
        + _BOX_CSS
        + "}"
    )
    AUTO_FOCUS = "#stage-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("P", "promote", "Promote"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, view: StageView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="stage-box"):
            yield Static("ROLLOUT STAGES", classes="title")
            with VerticalScroll(id="stage-body"):
                yield Static(LIVE_OFF_NOTE, id="live-note", classes="warn")
                yield Static(id="ladder")
                yield Static(id="gates-title", classes="section")
                yield Static(id="gates")
                yield Static(id="readiness", classes="section")
                yield Static(id="domains", classes="hint")
            yield Static("P (shift+p) promote · up/down scroll · escape close", classes="hint")

    def on_mount(self) -> None:
        self.update_view(self.view)

    def update_view(self, view: StageView) -> None:
        """Show a newer stage view (after a promotion, a demotion or new KPIs)."""
        self.view = view
        self.query_one("#live-note").display = not view.live_enabled
        self.query_one("#ladder", Static).update(stages_content(view))
        current = _stage_at(view, view.index)
        nxt = _stage_at(view, view.index + 1)
        target = f" -> {_stage_label(nxt)}" if nxt is not None else " (last stage)"
        title = f"Gate report: stage {_stage_label(current)}{target}"
        self.query_one("#gates-title", Static).update(Content(title))
        self.query_one("#gates", Static).update(gates_content(view.gates))
        readiness = self.query_one("#readiness", Static)
        readiness.update(readiness_text(view))
        readiness.set_class(view.ready, "ready")
        readiness.set_class(not view.ready, "not-ready")
        self.query_one("#domains", Static).update(Content(domains_text(view)))

    def action_promote(self) -> None:
        self.app.push_screen(PromoteModal(self.view), self._promote_decided)

    def _promote_decided(self, decision: str | None) -> None:
        if decision in (PROMOTE, FORCE):
            self.dismiss(decision)

    def action_close(self) -> None:
        self.dismiss(None)


def _blocked_reason(view: StageView) -> str:
    """Why there is nothing to confirm ("" when a promotion can be confirmed)."""
    nxt = _stage_at(view, view.index + 1)
    if nxt is None:
        return "Already at the last stage: there is nothing to promote to."
    if trades_live(nxt) and not view.live_enabled:
        return (
            f"Stage {_stage_label(nxt)} trades live and live trading is not enabled in this run: "
            "it cannot be entered."
        )
    return ""


class ForceInput(Input):
    """The box for the word FORCE; it leaves y and n to the prompt (FORCE has neither)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in ("y", "n") and super().check_consume_key(key, character)


class PromoteModal(ModalScreen[str | None]):
    """Confirms a promotion: dismisses "promote", "force" (past failed gates) or None."""

    DEFAULT_CSS = (
        """
    PromoteModal {
        align: center middle;
        & > #promote-box {
            width: 70%; min-width: 60; max-width: 100; height: auto; max-height: 100%;
            border: thick $warning; background: $surface; padding: 0 1;
        }
        & #promote-gates { height: auto; max-height: 40vh; }
        & #force-state.-armed { color: $error; text-style: bold reverse; }
    """
        + _BOX_CSS
        + "}"
    )
    AUTO_FOCUS = "#force"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "promote", "Promote", priority=True),
        Binding("n", "cancel", "Cancel", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, view: StageView) -> None:
        super().__init__()
        self.view = view
        self._forced = False

    @property
    def blocked(self) -> str:
        """Why nothing can be confirmed here ("" when a promotion can be)."""
        return _blocked_reason(self.view)

    @property
    def can_confirm(self) -> bool:
        """True when y would promote now (ready, or FORCE typed)."""
        return not self.blocked and (self.view.ready or self._forced)

    def compose(self) -> ComposeResult:
        view = self.view
        current = _stage_at(view, view.index)
        nxt = _stage_at(view, view.index + 1)
        with Vertical(id="promote-box"):
            yield Static("PROMOTE STAGE", classes="title")
            if nxt is None:
                yield Static(Content(f"Stage {_stage_label(current)} is the last stage."))
            else:
                move = f"Promote stage {_stage_label(current)} -> {_stage_label(nxt)}"
                yield Static(Content(move), classes="section")
            # not ready: only the failing gates, once, so the FORCE box fits on 80x24
            forcing = not self.blocked and not view.ready
            with VerticalScroll(id="promote-gates", can_focus=False):
                yield Static(gates_content(view.gates, failed_only=forcing))
            yield from self._decision_widgets()

    def _decision_widgets(self) -> ComposeResult:
        if self.blocked:
            yield Static(Content(self.blocked), classes="section warn")
            yield Static("escape / n close", classes="hint")
        elif self.view.ready:
            yield Static("READY: every gate passed. Press y to promote.", classes="section ready")
            yield Static("y promote · n / escape cancel", classes="hint")
        else:
            yield Static("NOT READY: failing gates", classes="section not-ready")
            yield ForceInput(placeholder="type FORCE to promote past failed gates", id="force")
            yield Static("y is disabled until FORCE is typed", id="force-state")
            yield Static("y promote (after FORCE) · n / escape cancel", classes="hint")

    @on(Input.Changed, "#force")
    def _force_changed(self, event: Input.Changed) -> None:
        self._forced = event.value == FORCE_WORD
        state = self.query_one("#force-state", Static)
        text = "FORCE typed: y promotes past the failed gates"
        state.update(text if self._forced else "y is disabled until FORCE is typed")
        state.set_class(self._forced, "-armed")

    @on(Input.Submitted, "#force")
    def _force_submitted(self) -> None:
        self.action_promote()

    def action_promote(self) -> None:
        if not self.can_confirm:
            if not self.blocked:
                self.notify("Type FORCE first to promote past failed gates.", severity="warning")
            return
        self.dismiss(PROMOTE if self.view.ready else FORCE)

    def action_cancel(self) -> None:
        self.dismiss(None)
