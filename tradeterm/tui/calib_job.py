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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tradeterm.config.models import TradetermConfig
from tradeterm.tui.child_job import ChildJob, child_channel, failure_text

Objective = Literal["score", "calmar", "sharpe", "sortino"]
Margin = Literal["isolated", "cross", "both"]


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
    objective: Objective = "score"
    walk_forward: bool = False
    splits: int = 3
    margin: Margin = "isolated"
    data_dir: str = ""
    """A folder of *_SYMBOL_TF_*.csv files (`--data`); empty: the candle store / sim history."""

    @property
    def workers(self) -> int:
        """Worker processes the study runs on (`-1` = cores)."""
        import os

        return (os.cpu_count() or 1) if self.jobs == -1 else max(1, self.jobs)


def build_run(config: TradetermConfig, spec: LaunchSpec, storage_url: str, state_dir: str) -> Any:
    """(task, settings) for `spec`, as `tradeterm calibrate` builds them: the same data, space
    and seed priors (configs/seed_params.toml under the working folder, when present)."""
    from tradeterm.calibration.data import resolve
    from tradeterm.calibration.memory import MemoryGuard
    from tradeterm.calibration.priors import load_priors
    from tradeterm.calibration.space import build_space
    from tradeterm.calibration.study import StudySettings, default_study_name
    from tradeterm.calibration.task import CalibrationTask

    data = resolve(
        list(spec.symbols), spec.timeframe, config=config, strategy=spec.strategy,
        data_dir=spec.data_dir or None, state_dir=state_dir, days=spec.days,
    )  # fmt: skip
    space = build_space(spec.strategy, leverage_max=spec.leverage_max, margin=spec.margin)
    task = CalibrationTask(
        spec.strategy, spec.timeframe, data.bars, space, config=config, funding=data.funding,
        domain=data.domain, markets=data.markets, objective=spec.objective,
        splits=spec.splits if spec.walk_forward else 0,
    )  # fmt: skip
    settings = StudySettings(
        storage_url=storage_url,
        study_name=spec.study or default_study_name(task.strategy, task.symbols, task.timeframe),
        n_trials=spec.trials,
        jobs=spec.jobs,
        seed=spec.seed,
        resume=True,
        guard=MemoryGuard.from_config(config.calibration),
        priors=load_priors(task.strategy),  # configs/seed_params.toml, as `tradeterm calibrate`
    )
    return task, settings


def child_main() -> None:  # pragma: no cover - runs in the child process (Pilot tests cover it)
    """Reads (config, spec, storage_url, state_dir) pickled on stdin, runs the study and writes
    pickled messages to its original stdout (anything printed goes to stderr)."""
    import logging
    import sys

    import optuna

    from tradeterm.calibration.study import run_study

    (config, spec, storage_url, state_dir), send, _stdin = child_channel()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        task, settings = build_run(config, spec, storage_url, state_dir)
        send("started", settings.study_name, settings.n_trials)
        report = run_study(task, settings, on_progress=lambda p: send("progress", p), poll_s=0.2)
        send("progress", report.progress)
        best = report.best.number if report.best is not None else None
        send("done", report.study, best, report.peak_rss_bytes)
    except Exception as exc:  # every failure goes back as one message
        send("error", failure_text(exc))


class CalibrationJob(ChildJob):
    """One study run in a child process; messages: ("started", study, target),
    ("progress", Progress), ("done", study, best number, peak RSS) or ("error", text)."""

    CHILD_MODULE = "tradeterm.tui.calib_job"
    LOG_NAME = "calibration-worker.log"
    WHAT = "calibration"
    EARLY_EXIT = "early"

    def __init__(
        self, config: TradetermConfig, spec: LaunchSpec, *, storage_url: str, state_dir: str | Path
    ) -> None:
        super().__init__(state_dir=state_dir)
        self.config = config
        self.spec = spec
        self.storage_url = storage_url

    def payload(self) -> Any:
        return (self.config, self.spec, self.storage_url, str(self.state_dir))

    def cancel(self) -> None:
        """Stop the child (finished trials stay in the study; `--resume` continues it)."""
        self.stop_child()
