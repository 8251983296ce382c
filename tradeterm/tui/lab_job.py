"""A backtest of the console's lab, run in its own process (never on the console's event loop).

    job = LabJob(config, options, state_dir=..., reports_dir=...)
    job.start()
    for message in job.messages(timeout=0.2): ...   # ("progress", what, done, total) | ...
    job.cancel()                                     # terminate; the indexed run becomes failed

The child runs `BacktestService(config).run(options)` (data, run, report folder, index: the same
entry point as `tradeterm backtest`) and sends back the outcome and the charts of the run
(`tradeterm.charts` descriptions), so the terminal picture and the exported PNGs are drawn from
one description. A child process (subprocess, pickles over its pipes; multiprocessing cannot
spawn under Textual, whose stderr has no file descriptor), not a thread: the numba work holds no
console lock, a cancel really stops it, and its CPU is measured apart from the console's.
"""

from __future__ import annotations

import os
import pickle
import queue as queue_mod
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeterm.backtest.index import RunIndex
from tradeterm.backtest.service import BacktestOptions, RunOutcome
from tradeterm.charts import Chart
from tradeterm.config.models import TradetermConfig

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

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    config, options, state_dir, reports_dir, hold = pickle.load(stdin)

    def send(*message: Any) -> None:
        pickle.dump(message, out)
        out.flush()

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
        send("error", str(exc) if _user(exc) else f"{type(exc).__name__}: {exc}")


def _user(exc: BaseException) -> bool:
    from tradeterm.errors import TradetermError

    return isinstance(exc, TradetermError)


class LabJob:
    """One backtest in a spawned process; `hold=True` keeps it waiting until `release()`
    (tests use it to act while a run is certainly in progress)."""

    def __init__(
        self,
        config: TradetermConfig,
        options: BacktestOptions,
        *,
        state_dir: str | Path,
        reports_dir: str | Path,
        hold: bool = False,
    ) -> None:
        self.config = config
        self.options = options
        self.state_dir = Path(state_dir)
        self.reports_dir = Path(reports_dir)
        self.hold = hold
        self._queue: queue_mod.Queue[tuple[Any, ...]] = queue_mod.Queue()
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.finished = False
        self.cancelled = False
        self._first_id = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        with RunIndex.open(self.state_dir) as index:
            runs = index.list(limit=1)
            self._first_id = runs[0].id + 1 if runs else 1
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.state_dir / "lab-worker.log", "ab")  # noqa: SIM115 - the child owns it
        self.started_at = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from tradeterm.tui.lab_job import child_main; child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, close_fds=True,
        )  # fmt: skip
        log.close()
        assert self._proc.stdin is not None
        job = (self.config, self.options, str(self.state_dir), str(self.reports_dir), self.hold)
        self._proc.stdin.write(pickle.dumps(job))
        self._proc.stdin.flush()
        threading.Thread(target=self._read, name="lab-job-reader", daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        while True:
            try:
                message = pickle.load(stream)
            except (EOFError, OSError, pickle.UnpicklingError):
                return
            self._queue.put(message)

    def release(self) -> None:
        """Let a held run go."""
        if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.write(b"go\n")
            self._proc.stdin.flush()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def messages(self, timeout: float = 0.2) -> Iterator[tuple[Any, ...]]:
        """Messages from the child until it is done (or gone); blocks up to `timeout` per poll
        and yields ("tick",) when nothing came, so a watcher can notice a cancel."""
        while not self.finished:
            try:
                message = self._queue.get(timeout=timeout)
            except queue_mod.Empty:
                if self.cancelled:
                    self.finished = True
                    return
                if self._proc is not None and self._proc.poll() is not None and self._queue.empty():
                    self.finished = True
                    code = self._proc.returncode
                    yield ("error", f"the backtest process exited (code {code}) without a result")
                    return
                yield ("tick",)
                continue
            if message[0] in ("done", "error"):
                self.finished = True
            yield message

    def cancel(self) -> list[int]:
        """Stop the child; runs it had indexed and not finished are marked failed. Returns
        their ids."""
        self.cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        failed: list[int] = []
        with RunIndex.open(self.state_dir) as index:
            for record in index.list():
                if record.id >= self._first_id and record.status in ("queued", "running"):
                    index.fail(record.id, CANCELLED)
                    failed.append(record.id)
        return failed
