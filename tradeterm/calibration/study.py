"""The study runner: create or join an Optuna study, run J workers against its storage, report.

- Sampler: TPE, seeded (worker i uses seed + i), so a one-worker run can be repeated exactly.
- Pruner: the median rule over walk-forward splits (a trial whose running out-of-sample score
  falls below the median of earlier trials at the same split stops early).
- Workers: `jobs` processes (numba work is CPU-bound; `-1` = one per core) sharing the storage;
  one job runs in a thread of this process. Each worker asks for a trial, checks the memory guard
  first, evaluates it and tells the result. A worker stops when the study has `n_trials` trials,
  when the timeout passes, when the memory guard gives up, or when asked to stop (Ctrl-C: the
  running trials finish, the study stays resumable).
- Best trial: the best COMPLETE trial that was never liquidated (`best_trial`); liquidated trials
  are pruned and also filtered here, so no query path can return one.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tradeterm.calibration.memory import MemoryGuard, total_rss
from tradeterm.calibration.space import LEVERAGE, MARGIN, default_values
from tradeterm.calibration.storage import is_postgres, open_storage, redact
from tradeterm.calibration.task import CalibrationTask, evaluate
from tradeterm.errors import UserError
from tradeterm.strategies.registry import get_strategy

log = logging.getLogger(__name__)
PRUNER_STARTUP_TRIALS = 5


@dataclass(frozen=True)
class StudySettings:
    """How a study is run (the task says what is evaluated)."""

    storage_url: str
    study_name: str
    n_trials: int
    jobs: int = 1
    timeout_s: float | None = None
    seed: int | None = None
    resume: bool = False
    guard: MemoryGuard = field(default_factory=MemoryGuard)
    priors: tuple[tuple[str, dict[str, Any]], ...] = ()
    """(label, values) enqueued after the defaults as the first trials of a new study."""

    @property
    def workers(self) -> int:
        if self.jobs == -1:
            return os.cpu_count() or 1
        if self.jobs < 1:
            raise UserError(f"--jobs {self.jobs}: give a positive number of workers or -1 (cores)")
        return self.jobs


@dataclass(frozen=True)
class Progress:
    """A snapshot of a study for the progress line and `calibrate status`."""

    study: str
    by_state: dict[str, int]
    target: int
    best_value: float | None
    best_number: int | None
    best_params: dict[str, Any]
    workers_seen: int
    liquidated: int
    rss_bytes: int = 0

    @property
    def done(self) -> int:
        return sum(v for k, v in self.by_state.items() if k not in ("RUNNING", "WAITING"))


@dataclass(frozen=True)
class StudyReport:
    """What a finished `run_study` returns."""

    study: str
    storage: str
    progress: Progress
    best: FrozenTrial | None
    top: list[FrozenTrial]
    peak_rss_bytes: int
    memory_stops: int
    interrupted: bool


def default_study_name(strategy: str, symbols: tuple[str, ...], timeframe: str) -> str:
    return f"{strategy}-{'+'.join(symbols)}-{timeframe}"


def pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=0)


def is_liquidated(trial: FrozenTrial) -> bool:
    return bool(trial.user_attrs.get("liquidated", False))


def ranked_trials(study: optuna.Study) -> list[FrozenTrial]:
    """COMPLETE, never-liquidated trials, best first (ties: the earlier trial)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    usable = [t for t in done if t.value is not None and not is_liquidated(t)]
    return sorted(usable, key=lambda t: (-float(t.value or 0.0), t.number))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best trial that may be promoted (never a liquidated one)."""
    ranked = ranked_trials(study)
    return ranked[0] if ranked else None


def progress(study: optuna.Study, target: int, rss: int = 0) -> Progress:
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name for t in trials)
    best = best_trial(study)
    workers = {t.user_attrs.get("worker") for t in trials if t.user_attrs.get("worker")}
    return Progress(
        study=study.study_name,
        by_state=dict(states),
        target=target,
        best_value=float(best.value) if best is not None and best.value is not None else None,
        best_number=best.number if best is not None else None,
        best_params=dict(best.params) if best is not None else {},
        workers_seen=len(workers),
        liquidated=sum(1 for t in trials if is_liquidated(t)),
        rss_bytes=rss,
    )


# ---------------------------------------------------------------------------------------------
# creating / joining the study
# ---------------------------------------------------------------------------------------------
def _study_attrs(task: CalibrationTask) -> dict[str, Any]:
    first = task.bars[task.symbols[0]]
    return {
        "strategy": task.strategy,
        "strategy_version": get_strategy(task.strategy).version,
        "symbols": list(task.symbols),
        "timeframe": task.timeframe,
        "domain": task.domain.value,
        "objective": task.objective,
        "splits": task.splits,
        "start_ms": int(first.open_ms[0]) if len(first) else 0,
        "end_ms": int(first.open_ms[-1]) if len(first) else 0,
        "bars": len(first),
        "max_position_size": task.config.risk.position_size,
        "dimensions": task.space.names(),
        "fixed": {k: v for k, v in task.space.fixed.items()},
    }


def prepare_study(task: CalibrationTask, settings: StudySettings) -> optuna.Study:
    """Create the study, or join it (always on PostgreSQL; on SQLite with --resume or while it
    has no trials). A new study gets the strategy's defaults enqueued as its first trial."""
    storage = open_storage(settings.storage_url)
    existing = {s.study_name: s for s in storage.get_all_studies()}
    if settings.study_name in existing:
        have = existing[settings.study_name]
        if have.user_attrs.get("strategy") not in (None, task.strategy):
            raise UserError(
                f"--study {settings.study_name}: it calibrates "
                f"{have.user_attrs.get('strategy')!r}, not {task.strategy!r}; choose another name"
            )
        shared = is_postgres(settings.storage_url)
        count = len(storage.get_all_trials(have._study_id, deepcopy=False))
        if count and not settings.resume and not shared:
            raise UserError(
                f"--study {settings.study_name}: already has {count} trials in "
                f"{redact(settings.storage_url)}; pass --resume to continue it or another --study"
            )
    study = optuna.create_study(
        study_name=settings.study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=_sampler(settings, 0),
        pruner=pruner(),
    )
    if not study.user_attrs:
        for key, value in _study_attrs(task).items():
            study.set_user_attr(key, value)
    if not study.get_trials(deepcopy=False):
        defaults = default_values(task.strategy)
        for label, values in (("defaults", {}), *settings.priors):
            merged = {**defaults, LEVERAGE: 1, MARGIN: "isolated", **values}
            prior = {n: merged[n] for n in task.space.names() if n in merged}
            study.enqueue_trial(prior, user_attrs={"prior": label}, skip_if_exists=True)
    return study


def _sampler(settings: StudySettings, worker: int) -> optuna.samplers.BaseSampler:
    """TPE seeded with seed + worker. On a shared (PostgreSQL) study the same command runs on
    several hosts with the same worker numbers, so the process id is mixed in too: hosts must
    not propose the same points (a distributed run is not repeatable anyway)."""
    if settings.seed is None:
        return optuna.samplers.TPESampler()
    seed = settings.seed + worker
    if is_postgres(settings.storage_url):
        seed += os.getpid() * 1000
    return optuna.samplers.TPESampler(seed=seed % 2**32)


# ---------------------------------------------------------------------------------------------
# one worker
# ---------------------------------------------------------------------------------------------
@dataclass
class WorkerOutcome:
    trials: int = 0
    memory_stop: bool = False


def _started(study: optuna.Study) -> int:
    """Trials taken by a worker (enqueued priors still WAITING are not)."""
    taken = tuple(s for s in TrialState if s != TrialState.WAITING)
    return len(study.get_trials(deepcopy=False, states=taken))


def _one_trial(study: optuna.Study, task: CalibrationTask, worker: str) -> None:
    trial = study.ask()
    trial.set_user_attr("worker", worker)
    try:
        value = evaluate(trial, task)
    except optuna.TrialPruned as exc:
        trial.set_user_attr("pruned_reason", str(exc)[:300])
        study.tell(trial, state=TrialState.PRUNED)
    except Exception as exc:
        log.warning("calibration: trial %d failed: %s", trial.number, exc)
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:300])
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)


def work(
    task: CalibrationTask,
    settings: StudySettings,
    index: int,
    stop: Any = None,
) -> WorkerOutcome:
    """Run trials until the study has enough, the timeout passes, memory runs out or `stop`."""
    stop = stop or threading.Event()
    storage = open_storage(settings.storage_url)
    study = optuna.load_study(
        study_name=settings.study_name,
        storage=storage,
        sampler=_sampler(settings, index),
        pruner=pruner(),
    )
    name = f"{socket.gethostname()}:{os.getpid()}:{index}"
    deadline = time.monotonic() + settings.timeout_s if settings.timeout_s else None
    outcome = WorkerOutcome()
    while not stop.is_set():
        if _started(study) >= settings.n_trials:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if not settings.guard.wait(stop, worker=f"worker {index}"):
            outcome.memory_stop = not stop.is_set()
            break
        _one_trial(study, task, name)
        outcome.trials += 1
    return outcome


def _process_main(
    task: CalibrationTask, settings: StudySettings, index: int, stop: Any, results: Any
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; running trials finish
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    outcome = work(task, settings, index, stop)
    results.put((index, outcome.trials, outcome.memory_stop))


# ---------------------------------------------------------------------------------------------
# the runner
# ---------------------------------------------------------------------------------------------
ProgressSink = Callable[[Progress], None]


def _watch(
    study: optuna.Study,
    settings: StudySettings,
    alive: Callable[[], bool],
    pids: Callable[[], list[int]],
    stop: Any,
    on_progress: ProgressSink | None,
    poll_s: float,
) -> tuple[int, bool]:
    peak = 0
    interrupted = False
    while alive():
        try:
            time.sleep(poll_s)
            rss = total_rss(pids())
            peak = max(peak, rss)
            if on_progress is not None and alive():
                on_progress(progress(study, settings.n_trials, rss))
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            log.warning("calibration: stopping after the running trials (Ctrl-C again: wait)")
    return peak, interrupted


def run_study(
    task: CalibrationTask,
    settings: StudySettings,
    on_progress: ProgressSink | None = None,
    poll_s: float = 1.0,
) -> StudyReport:
    """Create or join the study, run the workers, and report the best non-liquidated trial."""
    study = prepare_study(task, settings)
    workers = settings.workers
    memory_stops = 0
    if workers == 1:
        stop: Any = threading.Event()
        result: list[WorkerOutcome] = []
        thread = threading.Thread(
            target=lambda: result.append(work(task, settings, 0, stop)),
            name="calibration-worker-0",
            daemon=True,
        )
        thread.start()
        peak, interrupted = _watch(
            study, settings, thread.is_alive, lambda: [os.getpid()], stop, on_progress, poll_s
        )
        thread.join()
        memory_stops = sum(1 for r in result if r.memory_stop)
    else:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        results = ctx.Queue()
        procs = [
            ctx.Process(
                target=_process_main,
                args=(task, settings, i, stop, results),
                name=f"calibration-worker-{i}",
            )
            for i in range(workers)
        ]
        for p in procs:
            p.start()
        peak, interrupted = _watch(
            study,
            settings,
            lambda: any(p.is_alive() for p in procs),
            lambda: [p.pid for p in procs if p.pid is not None],
            stop,
            on_progress,
            poll_s,
        )
        for p in procs:
            p.join()
        while not results.empty():
            _index, _trials, memory_stop = results.get()
            memory_stops += int(memory_stop)
    final = progress(study, settings.n_trials, peak)
    ranked = ranked_trials(study)
    return StudyReport(
        study=settings.study_name,
        storage=redact(settings.storage_url),
        progress=final,
        best=ranked[0] if ranked else None,
        top=ranked[:10],
        peak_rss_bytes=peak,
        memory_stops=memory_stops,
        interrupted=interrupted,
    )


def load(storage_url: str, study_name: str) -> optuna.Study:
    """An existing study (UserError naming the known ones otherwise)."""
    storage = open_storage(storage_url)
    names = [s.study_name for s in storage.get_all_studies()]
    if study_name not in names:
        known = ", ".join(names) or "none"
        raise UserError(
            f"--study {study_name}: no such study in {redact(storage_url)} (studies there: {known})"
        )
    return optuna.load_study(study_name=study_name, storage=storage)
