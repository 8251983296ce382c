"""The calibration lab: `c` in the console.

- The studies of the calibration storage (`calibration.storage_url`, default
  `sqlite:///state/optuna.db`, the one `tradeterm calibrate` uses): name, strategy, symbols,
  trials done / pruned / liquidated, best score (never a liquidated trial).
- The trials of the study under the cursor: number, state, score, leverage, margin, key metrics
  from the trial's user attrs; a liquidated trial is flagged LIQ and never marked best.
- `n` opens the launch form (the CLI's options: strategy, symbols, timeframe, days, data folder,
  objective, walk-forward + splits, margin, leverage max, trials, jobs, seed, study) and runs the
  study in a child process (`CalibrationJob`). A thread watches it; each time a trial finishes it
  re-reads the study off the event loop, and the screen refreshes the tables, the charts and the
  progress line (trials by state, best so far and its parameters, ETA, workers' RSS).
- `v` switches between the tables and the charts, `g` cycles the charts (optimisation history,
  PED-ANOVA parameter importances, the best trials in parallel coordinates; see
  `tradeterm.calibration.insight`); `x` exports them as PNG with a trials CSV into
  `reports/{ts}_calibration_{study}/`.
- `p` promotes the study's best trial, `P` the trial under the cursor, after a y/n confirm,
  through `tradeterm.calibration.promote.promote` (the CLI's function: active_configs in
  research.db, audited in calibration_audit); the screen shows what was promoted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)

from tradeterm.calibration.insight import CHART_NAMES, StudyView, study_view
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.timeframes import TIMEFRAME_MS
from tradeterm.tui.calib_job import CalibrationJob, LaunchSpec
from tradeterm.tui.screens.lab import AskModal

OBJECTIVES = ("score", "calmar", "sharpe", "sortino")
MARGINS = ("isolated", "cross", "both")
METRICS = (("total_return", "return", "{:+.2%}"), ("max_drawdown", "maxDD", "{:.2%}"),
           ("sharpe", "sharpe", "{:.2f}"), ("trade_count", "trades", "{:.0f}"))  # fmt: skip


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    try:
        return spec.format(float(value))
    except (TypeError, ValueError):
        return str(value)


class LaunchModal(ModalScreen[LaunchSpec | None]):
    """The launch form: the options of `tradeterm calibrate` (one message names a bad field)."""

    DEFAULT_CSS = """
    LaunchModal { align: center middle; }
    LaunchModal > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 100%;
                                   border: thick $accent; background: $surface; padding: 0 1; }
    LaunchModal .row { height: 1; }
    LaunchModal .row Label { width: 15; }
    LaunchModal .row Input, LaunchModal .row Select { width: 1fr; }
    LaunchModal .row Checkbox { width: auto; }
    LaunchModal .row #splits { width: 8; }
    LaunchModal #launch-error { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, strategies: list[str], strategy: str) -> None:
        super().__init__()
        self.strategies = strategies
        self.strategy = strategy

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("New calibration study (enter runs it, escape cancels)")
            yield self._row("Strategy", Select([(s, s) for s in self.strategies],
                                               value=self.strategy, allow_blank=False,
                                               id="strategy", compact=True))  # fmt: skip
            yield self._row("Symbols", Input("1HZ100V", id="symbols", compact=True))
            yield self._row("Timeframe", Input("15m", id="timeframe", compact=True))
            yield self._row("Days", Input("30", id="days", compact=True,
                                          placeholder="empty: all the data"))  # fmt: skip
            yield self._row("Data folder", Input("", id="data", compact=True,
                                                 placeholder="empty: candle store / sim"))  # fmt: skip
            yield self._row("Objective", Select([(o, o) for o in OBJECTIVES], value="score",
                                                allow_blank=False, id="objective",
                                                compact=True))  # fmt: skip
            yield self._row("Walk-forward", Checkbox("splits", id="walk-forward", compact=True),
                            Input("3", id="splits", compact=True))  # fmt: skip
            yield self._row("Margin", Select([(m, m) for m in MARGINS], value="isolated",
                                             allow_blank=False, id="margin",
                                             compact=True))  # fmt: skip
            yield self._row("Leverage max", Input("1", id="leverage", compact=True))
            yield self._row("Trials", Input("10", id="trials", compact=True))
            yield self._row("Jobs", Input("1", id="jobs", compact=True,
                                          placeholder="-1 = cores"))  # fmt: skip
            yield self._row("Seed", Input("42", id="seed", compact=True))
            yield self._row("Study", Input("", id="study", compact=True,
                                           placeholder="empty: strategy-symbols-tf"))  # fmt: skip
            yield Static("", id="launch-error")
            yield Button("Run study (enter)", id="go", variant="primary", compact=True)

    @staticmethod
    def _row(label: str, *widgets: Any) -> Horizontal:
        return Horizontal(Label(label), *widgets, classes="row")

    def _text(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def _int(self, wid: str, what: str, low: int, high: int | None = None) -> int:
        text = self._text(wid)
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{what}: {text!r} is not a whole number") from None
        if wid == "jobs" and value == -1:
            return value
        if value < low or (high is not None and value > high):
            more = " (or -1 = one per core)" if wid == "jobs" else ""
            span = f"{low}..{high}" if high is not None else f"at least {low}"
            raise ValueError(f"{what}: give {span}{more}")
        return value

    def spec(self) -> LaunchSpec:
        """The form as a LaunchSpec (ValueError naming the bad field)."""
        from tradeterm.calibration.space import MAX_LEVERAGE

        symbols = tuple(s.strip() for s in self._text("symbols").split(",") if s.strip())
        if not symbols:
            raise ValueError("Symbols: give at least one symbol")
        timeframe = self._text("timeframe")
        if not timeframe:
            raise ValueError("Timeframe: give one, e.g. 15m")
        if timeframe not in TIMEFRAME_MS:
            raise ValueError(f"Timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAME_MS)}")
        days = None if not self._text("days") else self._int("days", "Days", 1)
        data = self._text("data")
        if data and not Path(data).expanduser().is_dir():
            raise ValueError(f"Data folder: {data} is not a folder")
        walk = self.query_one("#walk-forward", Checkbox).value
        splits = self._int("splits", "Walk-forward splits", 1, 20) if walk else 3
        return LaunchSpec(
            strategy=str(self.query_one("#strategy", Select).value),
            symbols=symbols,
            timeframe=timeframe,
            days=days,
            trials=self._int("trials", "Trials", 1),
            jobs=self._int("jobs", "Jobs", 1),
            leverage_max=self._int("leverage", "Leverage max", 1, MAX_LEVERAGE),
            study=self._text("study"),
            seed=self._int("seed", "Seed", 0),
            objective=str(self.query_one("#objective", Select).value),  # type: ignore[arg-type]
            walk_forward=walk,
            splits=splits,
            margin=str(self.query_one("#margin", Select).value),  # type: ignore[arg-type]
            data_dir=str(Path(data).expanduser()) if data else "",
        )

    def _go(self) -> None:
        try:
            spec = self.spec()
        except ValueError as exc:
            self.query_one("#launch-error", Static).update(str(exc))
            return
        self.dismiss(spec)

    @on(Button.Pressed, "#go")
    def _pressed(self) -> None:
        self._go()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._go()

    def action_cancel(self) -> None:
        self.dismiss(None)


def study_rows(storage_url: str) -> list[dict[str, Any]]:
    """One row per study of the storage (none when its SQLite file does not exist yet)."""
    import optuna

    from tradeterm.calibration.storage import open_storage, sqlite_path
    from tradeterm.calibration.study import best_trial, is_liquidated

    path = sqlite_path(storage_url)
    if path is not None and not path.exists():
        return []
    storage = open_storage(storage_url)
    rows: list[dict[str, Any]] = []
    for summary in storage.get_all_studies():
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        best = best_trial(study)
        attrs = study.user_attrs
        rows.append({
            "name": study.study_name,
            "strategy": attrs.get("strategy", "?"),
            "symbols": "+".join(attrs.get("symbols", [])),
            "timeframe": attrs.get("timeframe", ""),
            "objective": attrs.get("objective", "score"),
            "splits": attrs.get("splits", 0),
            "done": sum(1 for t in trials if t.state.is_finished()),
            "pruned": sum(1 for t in trials if t.state.name == "PRUNED"),
            "liquidated": sum(1 for t in trials if is_liquidated(t)),
            "best": best.value if best is not None else None,
        })  # fmt: skip
    return rows


def load_view(storage_url: str, name: str) -> StudyView:
    """The trials and charts of study `name` (read from the storage)."""
    import optuna

    from tradeterm.calibration.storage import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(storage_url))
    return study_view(study)


@dataclass(frozen=True)
class Live:
    """What the watcher thread read while a study runs (applied on the event loop)."""

    progress: Any
    rows: list[dict[str, Any]] | None
    view: StudyView | None
    eta_s: float | None


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v, '{:.4g}') if isinstance(v, float) else v}"
                     for k, v in params.items())  # fmt: skip


class CalibrationScreen(Screen[None]):
    """Studies, their trials and charts, launching a study and promoting a trial (see the
    module text)."""

    DEFAULT_CSS = """
    CalibrationScreen #cal-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    CalibrationScreen #cal-body { height: 1fr; }
    CalibrationScreen #studies { height: 1fr; min-height: 4; }
    CalibrationScreen #trials { height: 2fr; }
    CalibrationScreen #chart { height: 1fr; }
    CalibrationScreen #cal-progress { height: auto; max-height: 3; padding: 0 1;
                                      background: $boost; }
    CalibrationScreen #job { height: auto; }
    CalibrationScreen #job ProgressBar { width: 40; }
    CalibrationScreen #cal-status { height: auto; max-height: 4; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "launch", "New study"),
        Binding("p", "promote_best", "Promote best"),
        Binding("P", "promote_chosen", "Promote trial"),
        Binding("v", "toggle_view", "Charts"),
        Binding("g", "next_chart", "Next chart"),
        Binding("x", "export", "Export"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "leave", "Back"),
    ]
    STUDY_COLUMNS = ("study", "strategy", "symbols", "tf", "done", "pruned", "liq", "best")
    TRIAL_COLUMNS = ("#", "state", "score", "lev", "margin", *(m[1] for m in METRICS), "")

    def __init__(
        self,
        config: TradetermConfig,
        *,
        state_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
        storage_url: str | None = None,
    ) -> None:
        super().__init__()
        from tradeterm.calibration.storage import default_url

        self.config = config
        self.state_dir = Path(state_dir or config.storage.state_dir)
        self.reports_dir = Path(reports_dir or config.storage.reports_dir)
        self.storage_url = (
            storage_url or config.calibration.storage_url or default_url(self.state_dir)
        )
        self.studies: list[dict[str, Any]] = []
        self.study_name: str | None = None
        self.view: StudyView | None = None
        self.trials: list[Any] = []
        self.best_number: int | None = None
        self.chart = CHART_NAMES[0]
        self.job: CalibrationJob | None = None
        self.job_study: str | None = None
        self.live: Live | None = None
        self.live_updates = 0
        self.job_text = ""
        self.progress_text = ""
        self.error = ""
        self.exported: list[Path] = []
        self.promoted: Any = None
        self.promoted_text = ""
        self.reloaded = ""

    def compose(self) -> ComposeResult:
        yield Static("Calibration lab", id="cal-title")
        with ContentSwitcher(initial="tables", id="cal-body"):
            with Vertical(id="tables"):
                yield DataTable(id="studies", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="trials", cursor_type="row", zebra_stripes=True)
            yield Static("", id="chart")
        yield Static("", id="cal-progress")
        with Horizontal(id="job"):
            yield ProgressBar(id="job-progress", show_eta=False)
            yield Static("", id="job-text")
        yield Static("", id="cal-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#studies", DataTable).add_columns(*self.STUDY_COLUMNS)
        self.query_one("#trials", DataTable).add_columns(*self.TRIAL_COLUMNS)
        self.query_one("#job").display = False
        self.refresh_studies()
        self.query_one("#studies", DataTable).focus()

    # ---- data ------------------------------------------------------------------------------
    def refresh_studies(self) -> None:
        """Reload the study list (and the selected study's trials and charts)."""
        self._fill_studies(study_rows(self.storage_url))
        if not self.studies:
            self.say(
                f"no studies in {self._where()} yet: n launches one (or run `tradeterm calibrate`)"
            )
            self.show_trials(None)
            return
        names = [str(r["name"]) for r in self.studies]
        name = self.study_name if self.study_name in names else names[0]
        assert name is not None
        self._cursor_to(name)
        self.show_trials(name)

    def _fill_studies(self, rows: list[dict[str, Any]]) -> None:
        self.studies = rows
        table = self.query_one("#studies", DataTable)
        with self.prevent(DataTable.RowHighlighted):
            table.clear()
            for r in rows:
                table.add_row(
                    r["name"], r["strategy"], r["symbols"], r["timeframe"], str(r["done"]),
                    str(r["pruned"]), str(r["liquidated"]), _fmt(r["best"], "{:.4g}"),
                    key=r["name"],
                )  # fmt: skip
            if self.study_name is not None:
                self._cursor_to(self.study_name)

    def _cursor_to(self, name: str) -> None:
        names = [r["name"] for r in self.studies]
        if name in names:
            with self.prevent(DataTable.RowHighlighted):
                self.query_one("#studies", DataTable).move_cursor(row=names.index(name))

    def _where(self) -> str:
        from tradeterm.calibration.storage import redact

        return redact(self.storage_url)

    def show_trials(self, name: str | None) -> None:
        """Show study `name`: its trials (in trial order), charts and progress line."""
        self.study_name = name
        self._apply_view(load_view(self.storage_url, name) if name is not None else None)

    def _apply_view(self, view: StudyView | None) -> None:
        from tradeterm.calibration.study import is_liquidated

        self.view = view
        self.trials = list(view.trials) if view is not None else []
        self.best_number = view.best_number if view is not None else None
        table = self.query_one("#trials", DataTable)
        row = table.cursor_row
        table.clear()
        for t in self.trials:
            attrs = t.user_attrs
            state = "LIQ" if is_liquidated(t) else t.state.name.lower()
            lev = attrs.get("leverage", t.params.get("leverage"))
            margin = attrs.get("margin_mode", t.params.get("margin_mode", "-"))
            mark = "* best" if t.number == self.best_number else ""
            if is_liquidated(t):
                mark = f"liquidated at bar {attrs.get('liquidation_bar', '?')}"
            table.add_row(
                str(t.number), state, _fmt(t.value, "{:.4g}"), _fmt(lev, "{:g}x"), str(margin),
                *(_fmt(attrs.get(k), spec) for k, _label, spec in METRICS), mark, key=str(t.number),
            )  # fmt: skip
        if self.trials and 0 < row < len(self.trials):
            table.move_cursor(row=row)
        self._show_progress()
        self._draw_chart()

    @on(DataTable.RowHighlighted, "#studies")
    def _study_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = str(event.row_key.value) if event.row_key is not None else None
        if name is not None and name != self.study_name:
            self.show_trials(name)

    def chosen_trial(self) -> int | None:
        table = self.query_one("#trials", DataTable)
        if not self.trials or table.row_count == 0:
            return None
        return int(self.trials[table.cursor_row].number)

    # ---- progress --------------------------------------------------------------------------
    def _running_here(self) -> bool:
        return self.job is not None and not self.job.finished and self.job_study == self.study_name

    def _show_progress(self) -> None:
        """The progress line: the running study's live numbers, else the selected study's."""
        from tradeterm.calibration.insight import fmt_eta, state_counts

        if self.job is not None and not self.job.finished and self.live is not None:
            p = self.live.progress
            counts = state_counts(self.live.view.trials) if self.live.view else {}
            states = ", ".join(f"{k} {v}" for k, v in counts.items())
            best = (
                f"best {p.best_value:.4g} (#{p.best_number}): {_params_text(p.best_params)}"
                if p.best_value is not None else "no best yet"
            )  # fmt: skip
            text = (
                f"{p.study}: {p.done}/{p.target} trials [{states}] · {fmt_eta(self.live.eta_s)}"
                f" · workers {p.rss_bytes / (1 << 20):.0f} MB RSS\n{best}"
            )
        elif self.view is not None:
            counts = state_counts(self.view.trials)
            states = ", ".join(f"{k} {v}" for k, v in counts.items())
            best_t = next((t for t in self.trials if t.number == self.best_number), None)
            best = (
                f"best {best_t.value:.4g} (#{best_t.number}): {_params_text(best_t.params)}"
                if best_t is not None and best_t.value is not None
                else "no promotable trial (none complete and never liquidated)"
            )
            row = next((r for r in self.studies if r["name"] == self.view.name), {})
            how = str(row.get("objective", "score"))
            if row.get("splits"):
                how += f", walk-forward {row['splits']} splits"
            text = f"{self.view.name} ({how}): {len(self.trials)} trials [{states}]\n{best}"
        else:
            text = ""
        self.progress_text = text
        self.query_one("#cal-progress", Static).update(text)

    # ---- charts ----------------------------------------------------------------------------
    def action_toggle_view(self) -> None:
        body = self.query_one("#cal-body", ContentSwitcher)
        body.current = "chart" if body.current == "tables" else "tables"
        if body.current == "chart":
            self._draw_chart()
        else:
            self.query_one("#studies", DataTable).focus()

    def action_next_chart(self) -> None:
        body = self.query_one("#cal-body", ContentSwitcher)
        if body.current == "chart":
            self.chart = CHART_NAMES[(CHART_NAMES.index(self.chart) + 1) % len(CHART_NAMES)]
        body.current = "chart"
        self._draw_chart()

    def on_resize(self) -> None:
        self._draw_chart()

    def _draw_chart(self) -> None:
        from tradeterm.charts import render_text

        if self.query_one("#cal-body", ContentSwitcher).current != "chart":
            return
        widget = self.query_one("#chart", Static)
        if self.view is None or self.chart not in self.view.charts:
            widget.update("no study selected: n launches one")
            return
        width = max(20, widget.size.width or self.size.width)
        height = max(6, widget.size.height or self.size.height - 8)
        chart = self.view.charts[self.chart]
        widget.update(Text.from_ansi(render_text(chart, width, height)))

    # ---- export ----------------------------------------------------------------------------
    def action_export(self) -> None:
        if self.study_name is None:
            self.say("no study selected: nothing to export", "warning")
            return
        self.say(f"exporting {self.study_name} ...")
        self._export(self.study_name)

    @work(thread=True, name="calibration:export", exit_on_error=False)
    def _export(self, name: str) -> None:
        from tradeterm.calibration.insight import export_study
        from tradeterm.calibration.study import load
        from tradeterm.errors import TradetermError

        try:
            files = export_study(load(self.storage_url, name), self.reports_dir, datetime.now(UTC))
        except (TradetermError, OSError) as exc:
            self.app.call_from_thread(self.say, f"export failed: {exc}", "error")
            return
        self.app.call_from_thread(self._exported, files)

    def _exported(self, files: list[Path]) -> None:
        self.exported = files
        folder = files[0].parent
        pngs = sum(1 for f in files if f.suffix == ".png")
        self.say(f"exported {pngs} PNG charts and trials.csv to {folder}")
        self.app.notify(f"calibration charts + trials.csv in {folder}", title="exported")

    # ---- promotion -------------------------------------------------------------------------
    def action_promote_best(self) -> None:
        self._ask_promote(None)

    def action_promote_chosen(self) -> None:
        number = self.chosen_trial()
        if number is None:
            self.say("no trial under the cursor", "warning")
            return
        self._ask_promote(number)

    def _ask_promote(self, number: int | None) -> None:
        if self.study_name is None:
            self.say("no study selected: n launches one", "warning")
            return
        name = self.study_name
        what = f"trial {number}" if number is not None else f"the best trial ({self.best_number})"
        question = (
            f"Promote {what} of study {name} into active_configs (research.db, audited)? "
            "A running node picks it up at start or on reload."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.promote(name, number)
            else:
                self.say("promotion cancelled: nothing written")

        self.app.push_screen(AskModal(question), answered)

    def promote(self, name: str, number: int | None) -> None:
        """Promote through the CLI's function (audited in calibration_audit)."""
        from tradeterm.calibration.promote import default_promoter, promote
        from tradeterm.calibration.study import load
        from tradeterm.errors import TradetermError

        try:
            done = promote(
                load(self.storage_url, name),
                storage_url=self.storage_url,
                state_dir=self.state_dir,
                trial_number=number,
                postgres_dsn=self.config.calibration.postgres_dsn,
                by=f"{default_promoter()} (console)",
            )
        except TradetermError as exc:
            self.say(f"not promoted: {exc}", "error")
            return
        c = done["config"]
        self.promoted = c
        params = ", ".join(f"{k}={v}" for k, v in c.params.items())
        where = done["sqlite"][0] + (f" and {done['postgres'][0]}" if done["postgres"] else "")
        self.promoted_text = (
            f"promoted {c.study} trial {c.trial}: {c.strategy} {c.timeframe} score {c.score:.4g}, "
            f"leverage {c.leverage:g}x {c.margin_mode}; {params} -> {where}"
        )
        self.say(self.promoted_text)
        self._reload_node()

    def _reload_node(self) -> None:
        """Have the console's node trade the promoted config (the audited `reload` control)."""
        control = getattr(self.app, "control", None)
        act = getattr(self.app, "act", None)
        if control is None or act is None:
            return
        from tradeterm.errors import TradetermError

        async def reload() -> str:
            try:
                changed = await control.reload_active_configs(source="console")
            except TradetermError as exc:
                return f"node not reloaded: {exc}"
            return "node reloaded: " + (", ".join(changed) or "no runner changed")

        def done(text: str) -> None:
            self.reloaded = text
            self.say(f"{self.promoted_text}\n{text}")

        act("reload", reload, done)

    # ---- launching -------------------------------------------------------------------------
    def action_launch(self) -> None:
        if self.job is not None and self.job.alive():
            self.say("a study is already running here", "warning")
            return
        from tradeterm.strategies.registry import default_registry

        names = default_registry().names()
        first = next(
            ((sc.strategy or k) for k, sc in self.config.strategies.items()
             if sc.enabled and (sc.strategy or k) in names),
            names[0],
        )  # fmt: skip

        def chosen(spec: LaunchSpec | None) -> None:
            if spec is not None:
                self.start(spec)

        self.app.push_screen(LaunchModal(names, first), chosen)

    def start(self, spec: LaunchSpec) -> None:
        self.job = CalibrationJob(
            self.config, spec, storage_url=self.storage_url, state_dir=self.state_dir
        )
        self.job.start()
        self.error = ""
        self.live = None
        self.live_updates = 0
        self.job_study = None
        self.job_text = f"starting {spec.strategy} on {'+'.join(spec.symbols)} {spec.timeframe}"
        self.query_one("#job").display = True
        bar = self.query_one("#job-progress", ProgressBar)
        bar.update(total=spec.trials, progress=0)
        self.query_one("#job-text", Static).update(self.job_text)
        self._watch(self.job)

    @work(thread=True, name="calibration:study", exit_on_error=False)
    def _watch(self, job: CalibrationJob) -> None:
        """Off the event loop: the child's messages, and on each progress that changed the
        trials, a fresh read of the study (rows, trials, charts, ETA) for the screen."""
        from tradeterm.calibration.insight import eta_s

        seen: tuple[Any, ...] | None = None
        last: StudyView | None = None
        study = ""
        for received in job.messages():
            message = received
            if message[0] == "tick":
                continue
            if message[0] == "started":
                study = str(message[1])
            if message[0] == "progress" and study:
                p = message[1]
                key = (tuple(sorted(p.by_state.items())), p.best_number)
                view: StudyView | None = None
                rows: list[dict[str, Any]] | None = None
                if key != seen:
                    try:
                        view = load_view(job.storage_url, study)
                        rows = study_rows(job.storage_url)
                    except Exception:  # a busy storage: keep the last picture, try again
                        view, rows = None, None
                    else:
                        seen, last = key, view
                # the ETA counts down between trials too (the running trials' elapsed time)
                eta = (
                    eta_s(last.trials, p.target, job.spec.workers, datetime.now(UTC))
                    if last is not None else None
                )  # fmt: skip
                live = Live(p, rows, view, eta)
                message = ("live", live)
            self.app.call_from_thread(self._message, job, message)

    def _message(self, job: CalibrationJob, message: tuple[Any, ...]) -> None:
        if job is not self.job:
            return
        kind = message[0]
        text = self.query_one("#job-text", Static)
        if kind == "started":
            self.study_name = self.job_study = str(message[1])
            self.job_text = f"study {message[1]}: 0/{message[2]} trials"
        elif kind == "live":
            self._live(message[1])
        elif kind == "done":
            self.study_name = message[1]
            mb = message[3] / (1 << 20)
            self.job_text = (
                f"finished: study {message[1]}, best trial {message[2]}, peak workers {mb:.0f} MB"
            )
            self.refresh_studies()
        elif kind == "error":
            self.error = str(message[1])
            self.job_text = f"failed: {message[1]}"
            self.say(self.job_text, "error")
        text.update(self.job_text)

    def _live(self, live: Live) -> None:
        """A progress report of the running study: bar, line, and (when the trials changed)
        the tables and charts."""
        p = live.progress
        self.query_one("#job-progress", ProgressBar).update(total=p.target, progress=p.done)
        best = _fmt(p.best_value, "{:.4g}")
        self.job_text = f"{p.done}/{p.target} trials, {p.liquidated} liquidated, best {best}"
        if live.view is None:
            if self.live is not None:
                self.live = replace(self.live, progress=p, eta_s=live.eta_s)
            self._show_progress()
            return
        self.live = live
        self.live_updates += 1
        if live.rows is not None:
            self._fill_studies(live.rows)
        name = live.view.name
        if self.study_name in (None, name):
            self.study_name = name
            self._cursor_to(name)
            self._apply_view(live.view)
        else:
            self._show_progress()

    # ---- misc ------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.refresh_studies()

    def action_leave(self) -> None:
        self.app.pop_screen()

    def say(self, text: str, severity: str = "information") -> None:
        status = self.query_one("#cal-status", Static)
        status.update(text)
        status.set_class(severity == "error", "error")

    def on_unmount(self) -> None:
        if self.job is not None and self.job.alive():
            self.job.cancel()
