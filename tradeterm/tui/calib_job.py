"""A calibration study launched from the console, run in its own process (never on the console's
event loop), like the backtest lab's `LabJob`.

    job = CalibrationJob(config, spec, storage_url=..., state_dir=...)
    job.start()
    for message in job.messages(timeout=0.2): ...  # ("progress", done, target, best, liq) | ...
    job.cancel()

The child builds the same task `tradeterm calibrate` builds (data resolved as `tradeterm
backtest` does: candle store, else the sim venue's synthetic history) and runs `run_study`
with the same storage, so the study shows up in the screen's list and in `calibrate status`.
"""

from __future__ import annotations

import os
import pickle
import queue as queue_mod
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeterm.config.models import TradetermConfig


@dataclass(frozen=True)
class LaunchSpec:
    """What the launch form asks (the CLI's options of the same names)."""

    strategy: str
    symbols: tuple[str, ...]
    timeframe: str = "15m"
    days: int | None = 30
    trials: int = 10
    jobs: int = 1
    leverage_max: int = 1
    study: str = ""
    seed: int = 42


def build_run(config: TradetermConfig, spec: LaunchSpec, storage_url: str, state_dir: str) -> Any:
    """(task, settings) for `spec`, as `tradeterm calibrate` builds them."""
    from tradeterm.calibration.data import resolve
    from tradeterm.calibration.memory import MemoryGuard
    from tradeterm.calibration.space import build_space
    from tradeterm.calibration.study import StudySettings, default_study_name
    from tradeterm.calibration.task import CalibrationTask

    data = resolve(
        list(spec.symbols), spec.timeframe, config=config, strategy=spec.strategy,
        state_dir=state_dir, days=spec.days,
    )  # fmt: skip
    space = build_space(spec.strategy, leverage_max=spec.leverage_max, margin="isolated")
    task = CalibrationTask(
        spec.strategy, spec.timeframe, data.bars, space, config=config, funding=data.funding,
        domain=data.domain, markets=data.markets,
    )  # fmt: skip
    settings = StudySettings(
        storage_url=storage_url,
        study_name=spec.study or default_study_name(task.strategy, task.symbols, task.timeframe),
        n_trials=spec.trials,
        jobs=spec.jobs,
        seed=spec.seed,
        resume=True,
        guard=MemoryGuard.from_config(config.calibration),
    )
    return task, settings


def child_main() -> None:  # pragma: no cover - runs in the child process (Pilot tests cover it)
    """Reads (config, spec, storage_url, state_dir) pickled on stdin, runs the study and writes
    pickled messages to its original stdout (anything printed goes to stderr)."""
    import logging

    import optuna

    from tradeterm.calibration.study import run_study

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    config, spec, storage_url, state_dir = pickle.load(sys.stdin.buffer)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def send(*message: Any) -> None:
        pickle.dump(message, out)
        out.flush()

    try:
        task, settings = build_run(config, spec, storage_url, state_dir)
        send("started", settings.study_name, settings.n_trials)

        def progress(p: Any) -> None:
            send("progress", p.done, p.target, p.best_value, p.liquidated, p.rss_bytes)

        report = run_study(task, settings, on_progress=progress, poll_s=0.2)
        p = report.progress
        send("progress", p.done, p.target, p.best_value, p.liquidated, report.peak_rss_bytes)
        best = report.best.number if report.best is not None else None
        send("done", report.study, best)
    except Exception as exc:  # every failure goes back as one message
        from tradeterm.errors import TradetermError

        user = isinstance(exc, TradetermError)
        send("error", str(exc) if user else f"{type(exc).__name__}: {exc}")


class CalibrationJob:
    """One study run in a child process; its messages are read by a thread into a queue."""

    def __init__(
        self, config: TradetermConfig, spec: LaunchSpec, *, storage_url: str, state_dir: str | Path
    ) -> None:
        self.config = config
        self.spec = spec
        self.storage_url = storage_url
        self.state_dir = Path(state_dir)
        self._queue: queue_mod.Queue[tuple[Any, ...]] = queue_mod.Queue()
        self._proc: subprocess.Popen[bytes] | None = None
        self.finished = False
        self.cancelled = False

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.state_dir / "calibration-worker.log", "ab")  # noqa: SIM115 - child's
        self._proc = subprocess.Popen(
            [sys.executable, "-c",
             "from tradeterm.tui.calib_job import child_main; child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, close_fds=True,
        )  # fmt: skip
        log.close()
        assert self._proc.stdin is not None
        job = (self.config, self.spec, self.storage_url, str(self.state_dir))
        self._proc.stdin.write(pickle.dumps(job))
        self._proc.stdin.close()
        threading.Thread(target=self._read, name="calibration-job-reader", daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            try:
                message = pickle.load(self._proc.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                return
            self._queue.put(message)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def messages(self, timeout: float = 0.2) -> Iterator[tuple[Any, ...]]:
        """Messages until done/error (or the child is gone); ("tick",) when nothing came."""
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
                    yield ("error", f"the calibration process exited (code {code}) early")
                    return
                yield ("tick",)
                continue
            if message[0] in ("done", "error"):
                self.finished = True
            yield message

    def cancel(self) -> None:
        """Stop the child (finished trials stay in the study; `--resume` continues it)."""
        self.cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
