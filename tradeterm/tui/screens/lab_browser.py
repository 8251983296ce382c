"""The backtest run browser (`B`, or B inside the lab): every indexed run, newest first.

Keys: / filters by strategy or symbol words, enter opens a run's details (metrics only on
request), delete removes one after a confirm, D removes every run after typing DELETE, r re-runs
a run with the same settings in the lab, space marks a run and c compares the two marked runs
(metrics A, B, B - A, and both realised equity curves on one chart).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static

from tradeterm.backtest.index import RunIndex, RunRecord
from tradeterm.backtest.service import BacktestOptions
from tradeterm.config.models import TradetermConfig
from tradeterm.tui.screens.lab import SHOWN_METRICS, AskModal, fmt_metric


def _day(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def params_summary(params: Any, limit: int = 30) -> str:
    text = " ".join(f"{k}={v}" for k, v in dict(params).items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def realised_curve(record: RunRecord) -> tuple[list[float], list[float]]:
    """Equity from the run's closed trades (trades.json of its report): the starting cash, then
    one point at each exit. Empty when the report folder is gone."""
    folder = Path(record.report_path) if record.report_path else None
    if folder is None or not (folder / "trades.json").is_file():
        return [], []
    trades = json.loads((folder / "trades.json").read_text(encoding="utf-8"))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    cash = float(run.get("initial_cash", 0.0))
    xs = [float(record.start_ms or 0)]
    ys = [cash]
    for trade in sorted(trades, key=lambda t: t["exit_ms"]):
        cash += float(trade["pnl"])
        xs.append(float(trade["exit_ms"]))
        ys.append(cash)
    return xs, ys


def rerun_options(record: RunRecord) -> BacktestOptions:
    """The options that repeat `record`: same strategy, symbols, timeframe, range, engine and
    parameters (grid lists are not repeated)."""
    params = {k: v for k, v in dict(record.params).items() if not k.startswith("grid.")}
    return BacktestOptions(
        strategies=(record.strategy,), symbols=tuple(record.symbols), timeframe=record.timeframe,
        start_ms=record.start_ms, end_ms=record.end_ms + 1 if record.end_ms is not None else None,
        engine=record.engine,  # type: ignore[arg-type]
        params=params, walk_forward=record.kind == "walkforward",
    )  # fmt: skip


class TypeToConfirm(ModalScreen[bool]):
    """Asks to type a word (DELETE) and press enter; escape gives up."""

    DEFAULT_CSS = """
    TypeToConfirm { align: center middle; }
    TypeToConfirm > Vertical { width: 64; max-width: 100%; height: auto; border: thick $error;
                               background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Cancel")]

    def __init__(self, question: str, word: str) -> None:
        super().__init__()
        self.question = question
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Static(f"type {self.word} and press enter (escape: cancel)")
            yield Input(id="word")
            yield Static("", id="word-error")

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#word-error", Static).update(
                f"that is not {self.word}: nothing deleted"
            )

    def action_give_up(self) -> None:
        self.dismiss(False)


class RunDetails(ModalScreen[None]):
    """One run: its settings, every metric, warnings/error and the report folder."""

    DEFAULT_CSS = """
    RunDetails { align: center middle; }
    RunDetails > VerticalScroll { width: 100%; height: 100%; border: thick $accent;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, record: RunRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        r = self.record
        lines = [
            f"run {r.id} ({r.kind}, {r.status}): {r.strategy} on {', '.join(r.symbols)} "
            f"{r.timeframe}, {r.engine}",
            f"range {_day(r.start_ms)} .. {_day(r.end_ms)}",
            f"parameters: {params_summary(r.params, 400) or 'defaults'}",
        ]
        metrics = self._metrics()
        lines += [
            f"{name:<26}{fmt_metric(metrics.get(name), kind):>16}" for name, kind in SHOWN_METRICS
        ]
        for warning in metrics.get("warnings", []) or []:
            lines.append(f"warning: {warning}")
        if r.error:
            lines.append(f"error: {r.error}")
        lines.append(f"report: {r.report_path or 'none'}")
        with VerticalScroll():
            yield Static(Text("\n".join(lines)), id="details")
        yield Footer()

    def _metrics(self) -> dict[str, Any]:
        folder = Path(self.record.report_path) if self.record.report_path else None
        if folder is not None and (folder / "metrics.json").is_file():
            data: dict[str, Any] = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            return data
        return dict(self.record.metrics)

    def action_close(self) -> None:
        self.dismiss(None)


class CompareScreen(ModalScreen[None]):
    """Two runs side by side: metrics A, B, B - A, and both realised equity curves."""

    DEFAULT_CSS = """
    CompareScreen { align: center middle; }
    CompareScreen > Horizontal { width: 100%; height: 100%; border: thick $accent;
                                 background: $surface; }
    CompareScreen #compare-metrics { width: 58; height: 1fr; }
    CompareScreen #compare-chart { width: 1fr; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, a: RunRecord, b: RunRecord) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DataTable(id="compare-metrics", cursor_type="row")
            yield Static("", id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("metric", f"A run {self.a.id}", f"B run {self.b.id}", "B - A")
        ma, mb = dict(self.a.metrics), dict(self.b.metrics)
        for name, kind in SHOWN_METRICS:
            va, vb = ma.get(name), mb.get(name)
            if va is None and vb is None:
                continue
            diff = (
                (vb - va)
                if isinstance(va, int | float)
                and isinstance(vb, int | float)
                and not isinstance(va, bool)
                else None
            )
            table.add_row(name, fmt_metric(va, kind), fmt_metric(vb, kind), fmt_metric(diff, kind))
        table.focus()
        self.call_after_refresh(self._draw)

    def chart(self) -> Any:
        from tradeterm.charts import Chart, Series

        series = []
        for label, record, color in (("A", self.a, "blue"), ("B", self.b, "orange")):
            xs, ys = realised_curve(record)
            series.append(
                Series(
                    f"{label}: run {record.id} {record.strategy}",
                    np.asarray(xs),
                    np.asarray(ys),
                    color=color,
                )
            )
        return Chart(title="realised equity (closed trades)", series=tuple(series), x_is_time=True)

    def _draw(self) -> None:
        from tradeterm.charts import render_text

        widget = self.query_one("#compare-chart", Static)
        width, height = max(20, widget.size.width), max(6, widget.size.height)
        widget.update(Text.from_ansi(render_text(self.chart(), width, height)))

    def action_close(self) -> None:
        self.dismiss(None)


class BrowserScreen(Screen[None]):
    """Past runs of `state_dir/research.db`, newest first."""

    DEFAULT_CSS = """
    BrowserScreen #browser-title { height: 1; background: $accent; padding: 0 1; }
    BrowserScreen #filter { display: none; }
    BrowserScreen #filter.-shown { display: block; }
    BrowserScreen #runs { height: 1fr; }
    BrowserScreen #browser-status { height: auto; max-height: 3; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back"),
        Binding("enter", "details", "Details"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("delete", "delete", "Delete", key_display="del"),
        Binding("D", "delete_all", "Delete all"),
        Binding("r", "rerun", "Re-run"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
    ]
    COLUMNS = ("id", "status", "strategy", "symbols", "tf", "range", "engine", "params",
               "return", "max DD", "sharpe", "trades")  # fmt: skip

    def __init__(
        self,
        config: TradetermConfig,
        *,
        state_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.state_dir = Path(state_dir or config.storage.state_dir)
        self.reports_dir = Path(reports_dir or config.storage.reports_dir)
        self.records: list[RunRecord] = []
        self.shown: list[RunRecord] = []
        self.marked: list[int] = []
        self.filter_text = ""

    def compose(self) -> ComposeResult:
        yield Static("Backtest runs (newest first)", id="browser-title")
        yield Input(id="filter", placeholder="filter: strategy or symbol words, enter to apply")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="browser-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        self.reload()
        self.query_one(DataTable).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        with RunIndex.open(self.state_dir) as index:
            self.records = index.list()
        words = self.filter_text.lower().split()

        def keep(r: RunRecord) -> bool:
            hay = " ".join([r.strategy, *r.symbols]).lower()
            return all(w in hay for w in words)

        self.shown = [r for r in self.records if keep(r)]
        self.marked = [i for i in self.marked if any(r.id == i for r in self.records)]
        table = self.query_one(DataTable)
        table.clear()
        for r in self.shown:
            m = dict(r.metrics)
            mark = "*" if r.id in self.marked else ""
            table.add_row(
                f"{mark}{r.id}", r.status, r.strategy, ",".join(r.symbols), r.timeframe,
                f"{_day(r.start_ms)}..{_day(r.end_ms)}", r.engine, params_summary(r.params),
                fmt_metric(m.get("total_return"), "pct"), fmt_metric(m.get("max_drawdown"), "pct"),
                fmt_metric(m.get("sharpe"), "num"), fmt_metric(m.get("trade_count"), "int"),
                key=str(r.id),
            )  # fmt: skip
        flt = f", filter '{self.filter_text}'" if self.filter_text else ""
        self.query_one("#browser-title", Static).update(
            f"Backtest runs (newest first): {len(self.shown)} of {len(self.records)}{flt}"
        )

    def selected(self) -> RunRecord | None:
        table = self.query_one(DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def say(self, text: str, severity: str = "information") -> None:
        self.query_one("#browser-status", Static).update(Text(text))
        self.app.notify(text, severity=severity)  # type: ignore[arg-type]

    def _need(self) -> RunRecord | None:
        record = self.selected()
        if record is None:
            self.say("no run selected", "warning")
        return record

    # ---- actions ---------------------------------------------------------------------------
    def action_details(self) -> None:
        if (record := self._need()) is not None:
            self.app.push_screen(RunDetails(record))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filtered(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        if not self.filter_text:
            event.input.remove_class("-shown")
        self.reload()
        self.query_one(DataTable).focus()

    def action_delete(self) -> None:
        record = self._need()
        if record is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove([record.id])

        self.app.push_screen(
            AskModal(f"Delete run {record.id} ({record.strategy}) and its report folder?"), answered
        )

    def action_delete_all(self) -> None:
        count = len(self.records)

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(None)
            else:
                self.say("delete all: cancelled, nothing deleted")

        self.app.push_screen(
            TypeToConfirm(f"Delete ALL {count} runs and their report folders?", "DELETE"), answered
        )

    def _remove(self, ids: list[int] | None) -> None:
        with RunIndex.open(self.state_dir) as index:
            records = index.delete_all() if ids is None else [index.delete(i) for i in ids]
        for record in records:
            if record.report_path and Path(record.report_path).is_dir():
                shutil.rmtree(record.report_path, ignore_errors=True)
        self.reload()
        self.say(f"deleted {len(records)} run(s)")

    def action_rerun(self) -> None:
        from tradeterm.tui.screens.lab import LabScreen

        record = self._need()
        if record is None:
            return
        lab = LabScreen(self.config, state_dir=self.state_dir, reports_dir=self.reports_dir,
                        preset=rerun_options(record), autorun=True)  # fmt: skip
        self.app.push_screen(lab)

    def action_mark(self) -> None:
        record = self._need()
        if record is None:
            return
        if record.id in self.marked:
            self.marked.remove(record.id)
        else:
            self.marked = [*self.marked[-1:], record.id]
        row = self.query_one(DataTable).cursor_row
        self.reload()
        self.query_one(DataTable).move_cursor(row=row)
        self.say(f"marked: {', '.join(map(str, self.marked)) or 'none'} (c compares two)")

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.say("mark two runs with space, then c", "warning")
            return
        by_id = {r.id: r for r in self.records}
        a, b = (by_id[i] for i in sorted(self.marked))
        self.app.push_screen(CompareScreen(a, b))

    def action_leave(self) -> None:
        if self.query_one("#filter", Input).has_focus:
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)
