"""The stage pane: the rollout ladder, how the current stage scores against its gates, and
which domains are switched on.

The current stage is marked twice, "▶" and "(current)", so it reads without colour; each stage
lists its domains with their mode ("synthetics=live"). Gate rows say ok or FAIL in words, and a
verdict line says "READY for promotion" or "NOT READY: 3 gates failing". Domain toggles read
"forex OFF" or "synthetics on (paper)".
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive

from tradeterm.tui.panes.table import ViewPane
from tradeterm.tui.panes.textblock import TextBlock
from tradeterm.tui.views import DomainRow, GateRow, StageRow, StageView

CURRENT_MARK = "▶"


def stage_line(stage: StageRow) -> Content:
    """One rung of the ladder: marker, number, name, "(current)", and its domains' modes."""
    domains = " ".join(f"{domain}={mode}" for domain, mode in stage.domains)
    if stage.current:
        return Content.assemble(
            (f"{CURRENT_MARK} {stage.index} {stage.name} (current)", "bold $text-accent"),
            f"  {domains}" if domains else "",
        )
    return Content.assemble(f"  {stage.index} {stage.name}", (f"  {domains}", "$text-muted"))


def gate_line(gate: GateRow) -> Content:
    """One KPI gate of the current stage, ending in the word ok or FAIL."""
    word = "ok" if gate.passed else "FAIL"
    text = (
        gate.text
        or f"{gate.kpi} {gate.value:g} {'<=' if gate.at_most else '>='} {gate.threshold:g}"
    )
    if text.split(" ")[-1] in ("ok", "FAIL"):
        text = text.rsplit(" ", 1)[0]
    if gate.domain and not text.startswith(gate.domain):
        text = f"{gate.domain}: {text}"
    style = "$text-success" if gate.passed else "bold $text-error"
    return Content.assemble(f"  {text} ", (word, style))


def readiness_line(view: StageView) -> Content:
    """READY for promotion, or NOT READY with the number of failing gates."""
    failing = sum(not g.passed for g in view.gates)
    if view.ready:
        return Content.styled("READY for promotion", "bold $text-success")
    if failing:
        plural = "gate" if failing == 1 else "gates"
        return Content.styled(f"NOT READY: {failing} {plural} failing", "bold $text-warning")
    return Content.styled("NOT READY", "bold $text-warning")


def domain_word(domain: DomainRow) -> Content:
    """A domain toggle: "forex OFF", "synthetics on (paper)" or "crypto_spot unavailable"."""
    if not domain.available:
        return Content.assemble(f"{domain.domain} ", ("unavailable", "$text-muted"))
    if not domain.enabled:
        return Content.assemble(f"{domain.domain} ", ("OFF", "$text-muted"))
    style = "bold $text-error" if domain.mode.lower() == "live" else "$text-success"
    return Content.assemble(f"{domain.domain} ", ("on", style), f" ({domain.mode})")


def stage_text(view: StageView) -> Content:
    """Everything the stage pane says, as lines."""
    lines: list[Content] = [Content.styled("Stages", "bold")]
    for stage in view.stages:
        lines.append(stage_line(stage))
        if stage.current and stage.description:
            lines.append(Content.styled(f"    {stage.description}", "$text-muted"))
    current = next((s for s in view.stages if s.current), None)
    title = f"Gates of stage {current.index} {current.name}" if current else "Gates"
    lines.append(Content.styled(title, "bold"))
    if view.gates:
        lines.extend(gate_line(gate) for gate in view.gates)
    else:
        lines.append(Content.styled("  no gates", "$text-muted"))
    lines.append(readiness_line(view))
    if view.domains:
        lines.append(Content.styled("Domains", "bold"))
        lines.append(Content("  ").join(domain_word(d) for d in view.domains))
    live = "live trading enabled" if view.live_enabled else "live trading disabled (paper only)"
    lines.append(Content.styled(live, "bold $text-error" if view.live_enabled else "$text-muted"))
    return Content("\n").join(lines)


class StagePane(ViewPane):
    """Rollout stages, the current stage's KPI gates and readiness, and domain toggles."""

    DEFAULT_CSS = """
    StagePane {
        height: 1fr;
        overflow-y: auto;
        padding: 0 1;
    }
    StagePane > #stage-text {
        height: auto;
    }
    """

    view: reactive[StageView | None] = reactive(None, always_update=True)

    def compose(self) -> ComposeResult:
        yield TextBlock("waiting for rollout state…", id="stage-text")

    @property
    def text(self) -> TextBlock:
        """The pane's text (what the operator reads)."""
        return self.query_one("#stage-text", TextBlock)

    def show_view(self) -> None:
        if self.view is not None:
            self.text.show(stage_text(self.view))
