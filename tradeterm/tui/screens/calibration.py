"""The calibration lab: `c` in the console.

- The studies of the calibration storage (`calibration.storage_url`, default
  `sqlite:///state/optuna.db`, the one `tradeterm calibrate` uses): name, strategy, symbols,
  trials done / pruned / liquidated, best score (never a liquidated trial).
- The trials of the study under the cursor: number, state, score, leverage, margin, key metrics
  from the trial's user attrs; a liquidated trial is flagged LIQ and never marked best.
- `n` launches a small study (strategy, symbols, timeframe, days, trials, jobs) in a child
  process (`CalibrationJob`); a thread watches it and the screen shows its progress.
- `p` promotes the study's best trial, `P` the trial under the cursor, after a y/n confirm,
  through `tradeterm.calibration.promote.promote` (the CLI's function: active_configs in
  research.db, audited in calibration_audit); the screen shows what was promoted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, ProgressBar, Select, Static

from tradeterm.config.models import TradetermConfig
from tradeterm.tui.calib_job import CalibrationJob, LaunchSpec
from tradeterm.tui.screens.lab import AskModal

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
    """The launch form: the options of `tradeterm calibrate` a small study needs."""

    DEFAULT_CSS = """
    LaunchModal { align: center middle; }
    LaunchModal > Vertical { width: 70; max-width: 100%; height: auto; max-height: 100%;
                             border: thick $accent; background: $surface; padding: 0 1; }
    LaunchModal .row { height: 1; margin-bottom: 1; }
    LaunchModal .row Label { width: 14; }
    LaunchModal .row Input, LaunchModal .row Select { width: 1fr; }
    LaunchModal #launch-error { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, strategies: list[str], strategy: str) -> None:
        super().__init__()
        self.strategies = strategies
        self.strategy = strategy

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("New calibration study (enter runs it, escape cancels)")
            yield self._row("Strategy", Select([(s, s) for s in self.strategies],
                                               value=self.strategy, allow_blank=False,
                                               id="strategy", compact=True))  # fmt: skip
            yield self._row("Symbols", Input("1HZ100V", id="symbols", compact=True))
            yield self._row("Timeframe", Input("15m", id="timeframe", compact=True))
            yield self._row("Days", Input("30", id="days", compact=True))
            yield self._row("Trials", Input("10", id="trials", compact=True))
            yield self._row("Jobs", Input("1", id="jobs", compact=True))
            yield self._row("Leverage max", Input("1", id="leverage", compact=True))
            yield Static("", id="launch-error")
            yield Button("Run study (enter)", id="go", variant="primary", compact=True)

    @staticmethod
    def _row(label: str, widget: Any) -> Horizontal:
        return Horizontal(Label(label), widget, classes="row")

    def _int(self, wid: str, low: int, what: str) -> int:
        text = self.query_one(f"#{wid}", Input).value.strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{what}: {text!r} is not a whole number") from None
        if value < low and not (wid == "jobs" and value == -1):
            raise ValueError(f"{what}: give at least {low}")
        return value

    def spec(self) -> LaunchSpec:
        """The form as a LaunchSpec (ValueError naming the bad field)."""
        symbols = tuple(
            s.strip() for s in self.query_one("#symbols", Input).value.split(",") if s.strip()
        )
        if not symbols:
            raise ValueError("Symbols: give at least one symbol")
        timeframe = self.query_one("#timeframe", Input).value.strip()
        if not timeframe:
            raise ValueError("Timeframe: give one, e.g. 15m")
        return LaunchSpec(
            strategy=str(self.query_one("#strategy", Select).value),
            symbols=symbols,
            timeframe=timeframe,
            days=self._int("days", 1, "Days"),
            trials=self._int("trials", 1, "Trials"),
            jobs=self._int("jobs", 1, "Jobs"),
            leverage_max=self._int("leverage", 1, "Leverage max"),
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


class CalibrationScreen(Screen[None]):
    """Studies, their trials, launching a study and promoting a trial (see the module text)."""

    DEFAULT_CSS = """
    CalibrationScreen #cal-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    CalibrationScreen #studies { height: 1fr; min-height: 4; }
    CalibrationScreen #trials { height: 2fr; }
    CalibrationScreen #job { height: auto; }
    CalibrationScreen #job ProgressBar { width: 40; }
    CalibrationScreen #cal-status { height: auto; max-height: 4; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "launch", "New study"),
        Binding("p", "promote_best", "Promote best"),
        Binding("P", "promote_chosen", "Promote trial"),
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
        self.trials: list[Any] = []
        self.best_number: int | None = None
        self.job: CalibrationJob | None = None
        self.job_text = ""
        self.error = ""
        self.promoted: Any = None
        self.promoted_text = ""
        self.reloaded = ""

    def compose(self) -> ComposeResult:
        yield Static("Calibration lab", id="cal-title")
        yield DataTable(id="studies", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="trials", cursor_type="row", zebra_stripes=True)
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
    def _storage(self) -> Any:
        from tradeterm.calibration.storage import open_storage

        return open_storage(self.storage_url)

    def _exists(self) -> bool:
        from tradeterm.calibration.storage import sqlite_path

        path = sqlite_path(self.storage_url)
        return path is None or path.exists()

    def refresh_studies(self) -> None:
        """Reload the study list (and the selected study's trials)."""
        import optuna

        from tradeterm.calibration.study import best_trial, is_liquidated

        rows: list[dict[str, Any]] = []
        if self._exists():
            storage = self._storage()
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
                    "done": sum(1 for t in trials if t.state.is_finished()),
                    "pruned": sum(1 for t in trials if t.state.name == "PRUNED"),
                    "liquidated": sum(1 for t in trials if is_liquidated(t)),
                    "best": best.value if best is not None else None,
                })  # fmt: skip
        self.studies = rows
        table = self.query_one("#studies", DataTable)
        table.clear()
        for r in rows:
            table.add_row(
                r["name"], r["strategy"], r["symbols"], r["timeframe"], str(r["done"]),
                str(r["pruned"]), str(r["liquidated"]), _fmt(r["best"], "{:.4g}"), key=r["name"],
            )  # fmt: skip
        if not rows:
            self.say(
                f"no studies in {self._where()} yet: n launches one (or run `tradeterm calibrate`)"
            )
            self.show_trials(None)
            return
        names = [r["name"] for r in rows]
        name = self.study_name if self.study_name in names else names[0]
        table.move_cursor(row=names.index(name))
        self.show_trials(name)

    def _where(self) -> str:
        from tradeterm.calibration.storage import redact

        return redact(self.storage_url)

    def show_trials(self, name: str | None) -> None:
        """Fill the trials table with study `name` (best first is not forced: trial order)."""
        import optuna

        from tradeterm.calibration.study import best_trial, is_liquidated

        table = self.query_one("#trials", DataTable)
        table.clear()
        self.study_name = name
        self.trials = []
        self.best_number = None
        if name is None:
            return
        study = optuna.load_study(study_name=name, storage=self._storage())
        self.trials = study.get_trials(deepcopy=False)
        best = best_trial(study)
        self.best_number = best.number if best is not None else None
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
        self.job_text = f"starting {spec.strategy} on {'+'.join(spec.symbols)} {spec.timeframe}"
        self.query_one("#job").display = True
        bar = self.query_one("#job-progress", ProgressBar)
        bar.update(total=spec.trials, progress=0)
        self.query_one("#job-text", Static).update(self.job_text)
        self._watch(self.job)

    @work(thread=True, name="calibration:study", exit_on_error=False)
    def _watch(self, job: CalibrationJob) -> None:
        for message in job.messages():
            if message[0] != "tick":
                self.app.call_from_thread(self._message, job, message)

    def _message(self, job: CalibrationJob, message: tuple[Any, ...]) -> None:
        if job is not self.job:
            return
        kind = message[0]
        text = self.query_one("#job-text", Static)
        if kind == "started":
            self.study_name = message[1]
            self.job_text = f"study {message[1]}: 0/{message[2]} trials"
        elif kind == "progress":
            done, target, best, liq, rss = message[1:]
            self.query_one("#job-progress", ProgressBar).update(total=target, progress=done)
            self.job_text = (
                f"{done}/{target} trials, {liq} liquidated, best {_fmt(best, '{:.4g}')}, "
                f"workers {rss / (1 << 20):.0f} MB"
            )
        elif kind == "done":
            self.study_name = message[1]
            self.job_text = f"finished: study {message[1]}, best trial {message[2]}"
            self.refresh_studies()
        elif kind == "error":
            self.error = str(message[1])
            self.job_text = f"failed: {message[1]}"
            self.say(self.job_text, "error")
        text.update(self.job_text)

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
