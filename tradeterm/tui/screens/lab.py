"""The backtest lab (`b`): launcher, progress, result view with terminal charts and PNG export.

The run goes to a `LabJob` (a spawned process running `BacktestService`), watched by a thread
worker, so the console's event loop and the node keep going while it runs. Result view keys:
1-5 pick a chart (g cycles), x exports every chart of the run as PNG into its report folder,
o shows the report path, t opens the trades table, r goes back to the launcher, escape leaves
(while a run is going, escape asks before cancelling it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
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

from tradeterm.backtest.service import BacktestOptions
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.timeframes import TIMEFRAME_MS
from tradeterm.errors import TradetermError
from tradeterm.tui.lab_job import LabJob, LabRun

SHOWN_METRICS = (
    ("final_equity", "money"), ("total_return", "pct"), ("hodl_return", "pct"), ("cagr", "pct"),
    ("volatility", "pct"), ("sharpe", "num"), ("sortino", "num"), ("max_drawdown", "pct"),
    ("max_drawdown_duration_ms", "dur"), ("calmar", "num"), ("mar", "num"),
    ("trade_count", "int"), ("win_rate", "pct"), ("profit_factor", "num"),
    ("gross_profit", "money"), ("gross_loss", "money"),
    ("expectancy", "money"), ("expectancy_r", "num"), ("exposure", "pct"),
    ("avg_hold_ms", "dur"), ("best_trade", "money"), ("worst_trade", "money"),
    ("fees_paid", "money"), ("funding_paid", "money"), ("liquidated", "bool"),
)  # fmt: skip
"""The metrics table of the result view (the issue's full list), with how to show each."""

RANGES = (("1 day", 1.0), ("3 days", 3.0), ("7 days", 7.0), ("14 days", 14.0),
          ("30 days", 30.0), ("custom dates", -1.0), ("default history", 0.0))  # fmt: skip
CHART_KEYS = ("equity", "underwater", "price", "pnl", "walkforward")
PNG_SIZE = (1200, 600)


def fmt_metric(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "dur":
        hours = float(value) / 3_600_000
        return f"{hours / 24:,.1f} d" if hours >= 48 else f"{hours:,.1f} h"
    return f"{value:,.3f}"


def parse_value(text: str) -> float | int | bool | str:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)  # type: ignore[no-any-return]
        except ValueError:
            pass
    return text.strip()


def parse_date(text: str, what: str) -> int:
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{what}: expected a date YYYY-MM-DD, got {text.strip()[:30]!r}") from None
    return int(day.timestamp() * 1000)


def strategy_universe(config: TradetermConfig, strategy: str) -> list[str]:
    """The symbols a strategy trades in the config (its domains' and its own)."""
    out: list[str] = []
    for key, sc in config.strategies.items():
        if (sc.strategy or key) != strategy:
            continue
        for domain in sc.domains:
            dc = config.domains.get(domain)
            if dc is not None:
                out.extend(dc.symbols)
        out.extend(s.split(":", 1)[-1] for s in sc.symbols)
    if not out:
        out = [s for dc in config.domains.values() for s in dc.symbols]
    return list(dict.fromkeys(out))


def strategy_params(config: TradetermConfig, strategy: str) -> dict[str, Any]:
    for key, sc in config.strategies.items():
        if (sc.strategy or key) == strategy:
            return dict(sc.params)
    return {}


class AskModal(ModalScreen[bool]):
    """A yes/no question: y or enter says yes, n or escape says no."""

    DEFAULT_CSS = """
    AskModal { align: center middle; }
    AskModal > Vertical { width: 60; max-width: 100%; height: auto; border: thick $warning;
                          background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            yield Static("y: yes   n / escape: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TradesScreen(ModalScreen[None]):
    """Every trade of the run; s sorts by the next column, S reverses, escape closes."""

    DEFAULT_CSS = """
    TradesScreen { align: center middle; }
    TradesScreen > Vertical { width: 100%; height: 100%; border: thick $accent;
                              background: $surface; }
    TradesScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort by next column"),
        Binding("S", "reverse", "Reverse"),
        Binding("escape", "close", "Close"),
    ]
    COLUMNS = ("#", "symbol", "side", "entry", "exit", "qty", "entry px", "exit px", "pnl",
               "fees", "R", "reason")  # fmt: skip

    def __init__(self, run: LabRun) -> None:
        super().__init__()
        self.run = run
        self.sort_column = -1
        self.reverse = False

    def compose(self) -> ComposeResult:
        n = len(self.run.outcome.result.trades)
        with Vertical():
            yield Static(f"trades of run {self.run.outcome.run_id} ({n})", id="trades-title")
            yield DataTable(id="trades", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def rows(self) -> list[tuple[Any, ...]]:
        out = []
        for i, t in enumerate(self.run.outcome.result.trades, start=1):
            out.append((i, t.symbol, "long" if t.side > 0 else "short", _ts(t.entry_ms),
                        _ts(t.exit_ms), t.qty, t.entry_price, t.exit_price, t.pnl, t.fees,
                        t.r_multiple, t.exit_reason))  # fmt: skip
        return out

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.COLUMNS)
        self._fill()
        table.focus()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        rows = self.rows()
        if self.sort_column >= 0:
            rows.sort(key=lambda r: r[self.sort_column], reverse=self.reverse)
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        label = self.COLUMNS[self.sort_column] if self.sort_column >= 0 else "#"
        order = "descending" if self.reverse else "ascending"
        self.query_one("#trades-title", Static).update(
            f"trades of run {self.run.outcome.run_id} ({len(rows)}), sorted by {label} {order}"
            " (s: next column, S: reverse)"
        )

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.COLUMNS)
        self.reverse = False
        self._fill()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self._fill()

    def action_close(self) -> None:
        self.dismiss(None)


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)


class LabScreen(Screen[None]):
    """The backtest lab. `config` is the console's; runs index into its state folder and
    report into its reports folder unless others are given."""

    DEFAULT_CSS = """
    LabScreen #lab-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    LabScreen #modes { height: 1fr; }
    LabScreen #launcher { height: 1fr; }
    LabScreen .row { height: auto; }
    LabScreen .row > Label { width: 14; padding: 1 1 0 0; }
    LabScreen .row > Input, LabScreen .row > Select { width: 1fr; }
    LabScreen #params-help, LabScreen #symbols-help { color: $text-muted; padding: 0 1; }
    LabScreen #form-error { color: $error; padding: 0 1; height: auto; }
    LabScreen #running { padding: 1 2; }
    LabScreen #progress-what, LabScreen #elapsed { height: auto; }
    LabScreen #result { height: 1fr; }
    LabScreen #metrics { width: 36; height: 1fr; }
    LabScreen #chart-box { width: 1fr; height: 1fr; }
    LabScreen #chart-name { height: 1; color: $text-muted; }
    LabScreen #chart { height: 1fr; }
    LabScreen #lab-status { height: auto; max-height: 3; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back"),
        Binding("ctrl+r", "run", "Run"),
        Binding("g", "next_chart", "Chart"),
        *(
            Binding(str(i), f"chart('{name}')", name, show=False)
            for i, name in enumerate(CHART_KEYS, start=1)
        ),
        Binding("x", "export", "PNG"),
        Binding("o", "report", "Report"),
        Binding("t", "trades", "Trades"),
        Binding("r", "launcher", "New run"),
        Binding("B", "browser", "Runs"),
    ]

    def __init__(
        self,
        config: TradetermConfig,
        *,
        state_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
        hold: bool = False,
        preset: BacktestOptions | None = None,
        autorun: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.state_dir = Path(state_dir or config.storage.state_dir)
        self.reports_dir = Path(reports_dir or config.storage.reports_dir)
        self.hold = hold
        self.preset = preset
        self.autorun = autorun
        self.job: LabJob | None = None
        self.run: LabRun | None = None
        self.chart_name = "equity"
        self.mode = "launcher"
        self.progress_text = ""
        self.exported: list[Path] = []
        self.error = ""
        from tradeterm.strategies.registry import default_registry

        self.registry = default_registry()
        self.strategies = self.registry.names()

    # ---- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        first = self._default_strategy()
        yield Static("Backtest lab", id="lab-title")
        with ContentSwitcher(initial="launcher", id="modes"):
            with VerticalScroll(id="launcher"):
                yield self._row("Strategy", Select([(s, s) for s in self.strategies], value=first,
                                                   allow_blank=False, id="strategy"))  # fmt: skip
                yield self._row("Parameters", Input(id="params", placeholder="name=value ..."))
                yield Static("", id="params-help")
                yield self._row("Symbols", Input(id="symbols", placeholder="comma separated"))
                yield Static("", id="symbols-help")
                tfs = [("strategy's own", "")] + [(tf, tf) for tf in TIMEFRAME_MS]
                yield self._row(
                    "Timeframe", Select(tfs, value="", allow_blank=False, id="timeframe")
                )
                yield self._row("Range", Select([(n, d) for n, d in RANGES], value=1.0,
                                                allow_blank=False, id="range"))  # fmt: skip
                yield self._row(
                    "From / to", Input(id="dates", placeholder="YYYY-MM-DD YYYY-MM-DD (custom)")
                )
                engines = [("vector (numba)", "vector"), ("event (the node)", "event"),
                           ("backtrader", "backtrader")]  # fmt: skip
                yield self._row(
                    "Engine", Select(engines, value="vector", allow_blank=False, id="engine")
                )
                yield self._row("Leverage", Input("1", id="leverage"))
                yield self._row("Margin", Select([("isolated", "isolated"), ("cross", "cross")],
                                                 value="isolated", allow_blank=False, id="margin"))  # fmt: skip
                yield Checkbox("walk-forward (5 rolling splits, IS 70%)", id="walk-forward")
                yield Static("", id="form-error")
                yield Button("Run backtest (enter)", id="run", variant="primary")
            with Vertical(id="running"):
                yield Static("", id="progress-what")
                yield ProgressBar(id="progress", show_eta=False)
                yield Static("", id="elapsed")
                yield Static("escape: cancel the run (asks first)", classes="hint")
            with Horizontal(id="result"):
                yield DataTable(id="metrics", show_header=False, cursor_type="none")
                with Vertical(id="chart-box"):
                    yield Static("", id="chart-name")
                    yield Static("", id="chart")
        yield Static("", id="lab-status")
        yield Footer()

    @staticmethod
    def _row(label: str, widget: Any) -> Horizontal:
        return Horizontal(Label(label), widget, classes="row")

    def _default_strategy(self) -> str:
        if self.preset is not None and self.preset.strategies:
            return self.preset.strategies[0]
        for key, sc in self.config.strategies.items():
            name = sc.strategy or key
            if sc.enabled and name in self.strategies:
                return name
        return self.strategies[0]

    def on_mount(self) -> None:
        self._strategy_changed(str(self.query_one("#strategy", Select).value))
        if self.preset is not None:
            self._apply_preset(self.preset)
        self.query_one("#strategy", Select).focus()
        if self.autorun:
            self.action_run()

    def _apply_preset(self, p: BacktestOptions) -> None:
        self.query_one("#params", Input).value = " ".join(f"{k}={v}" for k, v in p.params.items())
        if p.symbols:
            self.query_one("#symbols", Input).value = ",".join(p.symbols)
        if p.timeframe:
            self.query_one("#timeframe", Select).value = p.timeframe
        if p.start_ms is not None and p.end_ms is not None:
            self.query_one("#range", Select).value = -1.0
            self.query_one("#dates", Input).value = (
                f"{datetime.fromtimestamp(p.start_ms / 1000, UTC):%Y-%m-%d} "
                f"{datetime.fromtimestamp(p.end_ms / 1000, UTC):%Y-%m-%d}"
            )
        elif p.days is not None:
            self.query_one("#range", Select).value = float(p.days)
        self.query_one("#engine", Select).value = p.engine
        self.query_one("#leverage", Input).value = f"{p.leverage:g}"
        self.query_one("#margin", Select).value = p.margin
        self.query_one("#walk-forward", Checkbox).value = p.walk_forward

    # ---- launcher --------------------------------------------------------------------------
    @on(Select.Changed, "#strategy")
    def _on_strategy(self, event: Select.Changed) -> None:
        self._strategy_changed(str(event.value))

    def _strategy_changed(self, name: str) -> None:
        from tradeterm.strategies.base import param_specs

        specs = param_specs(self.registry.get(name).params_model)
        configured = strategy_params(self.config, name)
        self.query_one("#params", Input).value = " ".join(f"{k}={v}" for k, v in configured.items())
        bounds = ", ".join(
            f"{s.name} {s.default}" + (f" [{s.low}..{s.high}]" if s.low is not None else "")
            for s in specs
        )
        self.query_one("#params-help", Static).update(Text(f"defaults: {bounds}"))
        universe = strategy_universe(self.config, name)
        self.query_one("#symbols", Input).value = ",".join(universe[:1])
        self.query_one("#symbols-help", Static).update(
            Text(f"universe: {', '.join(universe)}; stored: {self._stored()}")
        )

    def _stored(self) -> str:
        from tradeterm.marketdata.store import CandleStore

        try:
            series = CandleStore(self.state_dir / "candles").series()
        except (OSError, TradetermError):
            return "none"
        names = sorted({f"{s} {tf}" for _v, s, tf in series})
        return ", ".join(names[:12]) + (" ..." if len(names) > 12 else "") if names else "none"

    @on(Input.Changed, "#params")
    def _on_params(self, _event: Input.Changed) -> None:
        try:
            self._params()
        except ValueError as exc:
            self._form_error(str(exc))
        else:
            self._form_error("")

    def _params(self) -> dict[str, float | int | bool | str]:
        from tradeterm.errors import ConfigError

        out: dict[str, float | int | bool | str] = {}
        for item in self.query_one("#params", Input).value.split():
            name, sep, value = item.partition("=")
            if not sep or not name or not value:
                raise ValueError(f"parameters: expected name=value, got {item[:40]!r}")
            out[name] = parse_value(value)
        strategy = str(self.query_one("#strategy", Select).value)
        try:
            self.registry.build_params(strategy, out)
        except ConfigError as exc:
            raise ValueError("; ".join(exc.problems) or str(exc)) from None
        return out

    def _form_error(self, text: str) -> None:
        self.error = text
        self.query_one("#form-error", Static).update(Text(text))

    def options(self) -> BacktestOptions:
        """The launcher's settings as service options; ValueError naming the field otherwise."""
        strategy = str(self.query_one("#strategy", Select).value)
        params = self._params()
        symbols = tuple(
            s.strip() for s in self.query_one("#symbols", Input).value.split(",") if s.strip()
        )
        if not symbols:
            raise ValueError("symbols: give at least one symbol")
        days = float(self.query_one("#range", Select).value)  # type: ignore[arg-type]
        start = end = None
        if days < 0:
            parts = self.query_one("#dates", Input).value.split()
            if len(parts) != 2:
                raise ValueError("from / to: give two dates, YYYY-MM-DD YYYY-MM-DD")
            start, end = parse_date(parts[0], "from"), parse_date(parts[1], "to")
            if start >= end:
                raise ValueError("from / to: the first date must be before the second")
        try:
            leverage = float(self.query_one("#leverage", Input).value)
        except ValueError:
            raise ValueError("leverage: a number from 1 to 20") from None
        if not 1.0 <= leverage <= 20.0:
            raise ValueError(f"leverage: {leverage:g} is outside 1..20")
        return BacktestOptions(
            strategies=(strategy,), symbols=symbols,
            timeframe=str(self.query_one("#timeframe", Select).value),
            start_ms=start, end_ms=end, days=days if days > 0 else None,
            engine=self.query_one("#engine", Select).value,  # type: ignore[arg-type]
            params=params, leverage=leverage,
            margin=self.query_one("#margin", Select).value,  # type: ignore[arg-type]
            walk_forward=self.query_one("#walk-forward", Checkbox).value,
        )  # fmt: skip

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    def _submit(self) -> None:
        self.action_run()

    # ---- running ---------------------------------------------------------------------------
    def action_run(self) -> None:
        if self.mode == "running":
            return
        try:
            options = self.options()
        except ValueError as exc:
            self._form_error(str(exc))
            self.say(f"not started: {exc}")
            return
        self._form_error("")
        self.start(options)

    def start(self, options: BacktestOptions) -> None:
        self.job = LabJob(self.config, options, state_dir=self.state_dir,
                          reports_dir=self.reports_dir, hold=self.hold)  # fmt: skip
        self.job.start()
        self.run = None
        self.exported = []
        self._mode("running")
        self.query_one("#progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#progress-what", Static).update(
            f"running {options.strategies[0]} on {', '.join(options.symbols)} ({options.engine})"
        )
        self._tick_timer = self.set_interval(0.5, self._tick, name="lab:elapsed")
        self._watch(self.job)

    @work(thread=True, name="lab:backtest", exit_on_error=False)
    def _watch(self, job: LabJob) -> None:
        for message in job.messages():
            if message[0] != "tick":
                self.app.call_from_thread(self._message, job, message)

    def _message(self, job: LabJob, message: tuple[Any, ...]) -> None:
        if job is not self.job or job.cancelled:
            return
        kind = message[0]
        if kind == "progress":
            _, what, done, total = message
            self.progress_text = str(what)
            self.query_one("#progress", ProgressBar).update(total=max(1, total), progress=done)
            self.query_one("#progress-what", Static).update(f"{what} ({done}/{total})")
        elif kind == "done":
            self._tick_timer.stop()
            runs: Sequence[LabRun] = message[1]
            self.show_result(runs[0])
        elif kind == "error":
            self._tick_timer.stop()
            self._mode("launcher")
            self._form_error(str(message[1]))
            self.say(f"backtest failed: {message[1]}", "error")

    def _tick(self) -> None:
        if self.job is not None and self.mode == "running":
            elapsed = time.monotonic() - self.job.started_at
            self.query_one("#elapsed", Static).update(f"elapsed {elapsed:,.1f} s")

    def cancel(self) -> None:
        job = self.job
        if job is None:
            return
        failed = job.cancel()
        self._tick_timer.stop()
        self._mode("launcher")
        marked = f" (run {', '.join(map(str, failed))} marked failed)" if failed else ""
        self.say(f"backtest cancelled{marked}", "warning")

    # ---- result ----------------------------------------------------------------------------
    def show_result(self, run: LabRun) -> None:
        self.run = run
        outcome = run.outcome
        table = self.query_one("#metrics", DataTable)
        table.clear(columns=True)
        table.add_columns("metric", "value")
        metrics = outcome.metrics.to_dict()
        for name, kind in SHOWN_METRICS:
            table.add_row(name, fmt_metric(metrics.get(name), kind))
        result = outcome.result
        self.query_one("#lab-title", Static).update(
            f"Backtest lab: run {outcome.run_id} {result.strategy} on {', '.join(result.symbols)}"
            f" {result.timeframe} ({result.engine})"
        )
        self._mode("result")
        self.chart_name = "equity"
        self.call_after_refresh(self._draw_chart)
        warn = (
            f"; {len(result.warnings)} warning(s): {result.warnings[0]}" if result.warnings else ""
        )
        self.say(f"run {outcome.run_id} finished: report {outcome.report}{warn}")

    def on_resize(self) -> None:
        if self.mode == "result":
            self.call_after_refresh(self._draw_chart)

    def _draw_chart(self) -> None:
        from tradeterm.charts import render_text

        if self.run is None:
            return
        chart = self.run.charts.get(self.chart_name)
        widget = self.query_one("#chart", Static)
        names = [f"{i}:{n}" for i, n in enumerate(CHART_KEYS, 1) if n in self.run.charts]
        self.query_one("#chart-name", Static).update(
            f"chart {self.chart_name}   {'  '.join(names)}   g: next"
        )
        if chart is None:
            widget.update(f"no {self.chart_name} chart for this run")
            return
        width, height = max(20, widget.size.width), max(6, widget.size.height)
        widget.update(Text.from_ansi(render_text(chart, width, height)))

    def action_chart(self, name: str) -> None:
        if self.run is None:
            return
        if name not in self.run.charts:
            self.say(f"this run has no {name} chart", "warning")
            return
        self.chart_name = name
        self._draw_chart()

    def action_next_chart(self) -> None:
        if self.run is None:
            return
        names = [n for n in CHART_KEYS if n in self.run.charts]
        self.chart_name = names[(names.index(self.chart_name) + 1) % len(names)]
        self._draw_chart()

    def action_export(self) -> None:
        from tradeterm.charts import render_png

        if self.run is None or self.run.outcome.report is None:
            self.say("no finished run to export", "warning")
            return
        folder = self.run.outcome.report
        self.exported = [
            render_png(chart, folder / f"{name}.png", width_px=PNG_SIZE[0], height_px=PNG_SIZE[1])
            for name, chart in self.run.charts.items()
        ]
        names = ", ".join(p.name for p in self.exported)
        self.say(f"exported {len(self.exported)} PNGs ({names}) to {folder}")

    def action_report(self) -> None:
        if self.run is None:
            self.say("no finished run yet", "warning")
            return
        self.say(f"report: {self.run.outcome.report}")

    def action_trades(self) -> None:
        if self.run is None:
            self.say("no finished run yet", "warning")
            return
        self.app.push_screen(TradesScreen(self.run))

    def action_launcher(self) -> None:
        if self.mode == "result":
            self.query_one("#lab-title", Static).update("Backtest lab")
            self._mode("launcher")

    def action_browser(self) -> None:
        from tradeterm.tui.screens.lab_browser import BrowserScreen

        self.app.push_screen(BrowserScreen(self.config, state_dir=self.state_dir,
                                           reports_dir=self.reports_dir))  # fmt: skip

    def action_leave(self) -> None:
        if self.mode == "running":

            def answered(yes: bool | None) -> None:
                if yes and self.mode == "running":
                    self.cancel()

            self.app.push_screen(AskModal("Cancel the running backtest?"), answered)
        elif self.mode == "result":
            self.action_launcher()
        else:
            self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_chart", "chart", "export", "report", "trades", "launcher"):
            return self.mode == "result"
        if action == "run":
            return self.mode == "launcher"
        return True

    # ---- helpers ---------------------------------------------------------------------------
    def _mode(self, mode: str) -> None:
        self.mode = mode
        self.query_one("#modes", ContentSwitcher).current = mode
        self.refresh_bindings()
        if mode == "launcher":
            self.query_one("#strategy", Select).focus()
        elif mode == "result":
            self.query_one("#metrics", DataTable).focus()

    def say(self, text: str, severity: str = "information") -> None:
        self.query_one("#lab-status", Static).update(Text(text))
        self.app.notify(text, severity=severity)  # type: ignore[arg-type]

    def on_unmount(self) -> None:
        if self.job is not None and self.mode == "running":
            self.job.cancel()


def options_with(options: BacktestOptions, **changes: Any) -> BacktestOptions:
    return replace(options, **changes)
