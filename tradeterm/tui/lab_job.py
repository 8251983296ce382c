"""A backtest of the console's lab, run in its own process (never on the console's event loop).

    job = LabJob(config, options, state_dir=..., reports_dir=...)
    job.start()
    for message in job.messages(timeout=0.2): ...   # ("progress", what, done, total) | ...
    job.cancel()                                     # terminate; the indexed run becomes failed

The child runs `BacktestService(config).run(options)` (data, run, report folder, index: the same
entry point as `tradeterm backtest`) and sends back the outcome and the charts of the run
(`tradeterm.charts` descriptions), so the terminal picture and the exported PNGs are drawn from
one description. The process plumbing (a subprocess with pickles over its pipes, not a thread:
the numba work holds no console lock, a cancel really stops it) is `tradeterm.tui.child_job`'s
`ChildJob`, shared with the calibration lab's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeterm.backtest.index import RunIndex
from tradeterm.backtest.service import BacktestOptions, RunOutcome
from tradeterm.charts import Chart
from tradeterm.config.models import TradetermConfig
from tradeterm.tui.child_job import ChildJob, child_channel, failure_text

CANCELLED = "cancelled by the operator in the console lab"


@dataclass(slots=True)
class LabRun:
    """What the lab shows for a finished run: the service's outcome and its charts by name."""

    outcome: RunOutcome
    charts: dict[str, Chart] = field(default_factory=dict)


def run_charts(service: Any, options: BacktestOptions, outcome: RunOutcome) -> dict[str, Chart]:
    """The charts of one run, in the order the lab switches through them."""
    from tradeterm.backtest.service import planned_levels
    from tradeterm.charts import equity_chart, price_chart, trade_pnl_histogram, underwater_chart

    result = outcome.result
    charts: dict[str, Chart] = {
        "equity": equity_chart(result),
        "underwater": underwater_chart(result),
    }
    if len(result.symbols) == 1:
        spec = next(s for s in service.plan(options) if s.strategy == result.strategy)
        symbol = result.symbols[0]
        series = spec.data.bars[symbol]
        stops, targets = planned_levels(spec, series, result)
        charts["price"] = price_chart(
            series.open_ms, series.close, result.trades, symbol, stops=stops, targets=targets
        )
    charts["pnl"] = trade_pnl_histogram(result)
    if outcome.walkforward is not None:
        from tradeterm.charts import walkforward_chart

        wf = outcome.walkforward
        charts["walkforward"] = walkforward_chart(
            [str(s.index + 1) for s in wf.splits],
            [s.is_score for s in wf.splits],
            [s.oos_score for s in wf.splits],
            metric=outcome.metric,
        )
    return charts


def child_main() -> None:  # pragma: no cover - runs in the child process (Pilot tests cover it)
    """The child: reads (config, options, state_dir, reports_dir, hold) pickled on stdin, waits for
    a go line when held, runs the service and writes pickled messages to its original stdout
    (anything the run prints goes to stderr instead)."""
    from tradeterm.backtest.service import BacktestService

    (config, options, state_dir, reports_dir, hold), send, stdin = child_channel()
    try:
        if hold:
            stdin.readline()
        send("progress", "preparing data", 0, 1)
        service = BacktestService(
            config,
            state_dir=state_dir,
            reports_dir=reports_dir,
            progress=lambda what, done, total: send("progress", what, done, total),
        )
        outcomes = service.run(options)
        send("done", [LabRun(o, run_charts(service, options, o)) for o in outcomes])
    except Exception as exc:  # every failure goes back as one message
        send("error", failure_text(exc))


class LabJob(ChildJob):
    """One backtest in a spawned process; `hold=True` keeps it waiting until `release()`
    (tests use it to act while a run is certainly in progress)."""

    CHILD_MODULE = "tradeterm.tui.lab_job"
    LOG_NAME = "lab-worker.log"
    WHAT = "backtest"
    KEEP_STDIN = True  # a held run waits for its go line

    def __init__(
        self,
        config: TradetermConfig,
        options: BacktestOptions,
        *,
        state_dir: str | Path,
        reports_dir: str | Path,
        hold: bool = False,
    ) -> None:
        super().__init__(state_dir=state_dir)
        self.config = config
        self.options = options
        self.reports_dir = Path(reports_dir)
        self.hold = hold
        self._first_id = 0

    def payload(self) -> Any:
        return (self.config, self.options, str(self.state_dir), str(self.reports_dir), self.hold)

    def start(self) -> None:
        with RunIndex.open(self.state_dir) as index:
            runs = index.list(limit=1)
            self._first_id = runs[0].id + 1 if runs else 1
        super().start()

    def release(self) -> None:
        """Let a held run go."""
        self.send_line(b"go\n")

    def cancel(self) -> list[int]:
        """Stop the child; runs it had indexed and not finished are marked failed. Returns
        their ids."""
        self.stop_child()
        failed: list[int] = []
        with RunIndex.open(self.state_dir) as index:
            for record in index.list():
                if record.id >= self._first_id and record.status in ("queued", "running"):
                    index.fail(record.id, CANCELLED)
                    failed.append(record.id)
        return failed
