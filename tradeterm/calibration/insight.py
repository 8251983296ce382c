"""What a study looks like to the operator: progress with an ETA, the optimisation history, the
parameter importances, a parallel-coordinates view of the best trials, and the export of all
of it (PNG charts + a trials CSV) into `reports/{ts}_calibration_{study}/`.

Charts are `tradeterm.charts` descriptions, so the console draws them with plotext and the export
with matplotlib from the same description.

Importances use Optuna's `PedAnovaImportanceEvaluator` (PED-ANOVA): Optuna implements it with
numpy alone, while Optuna's default fANOVA evaluator and the mean-decrease-impurity one both need
scikit-learn, which this project does not install (neither is scipy). It reads the COMPLETE trials (a
liquidated trial is pruned, so it never counts) and needs a few of them; before that the chart
says so instead of guessing.
"""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from tradeterm.calibration.study import is_liquidated, ranked_trials
from tradeterm.charts import BarSet, Chart, Markers, Series, render_png

F64 = npt.NDArray[np.float64]

MIN_IMPORTANCE_TRIALS = 4
"""Complete trials before importances are computed (PED-ANOVA compares a top quantile with all)."""
PARALLEL_TOP = 10
CHART_NAMES = ("history", "importance", "parallel")
PNG_SIZE = (1200, 600)


# ---------------------------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------------------------
def duration_s(trial: FrozenTrial) -> float | None:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return max(0.0, (trial.datetime_complete - trial.datetime_start).total_seconds())


def eta_s(trials: Sequence[FrozenTrial], target: int, workers: int, now: datetime) -> float | None:
    """Seconds until `target` trials are finished: the mean duration of the finished trials
    times the trials still to run, less what the running ones have done, over the workers.
    None before any trial finished (nothing to measure); 0 when the target is reached."""
    finished = [d for t in trials if t.state.is_finished() and (d := duration_s(t)) is not None]
    done = sum(1 for t in trials if t.state.is_finished())
    if done >= target:
        return 0.0
    if not finished:
        return None
    mean = float(np.mean(finished))
    running = [t for t in trials if t.state == TrialState.RUNNING]
    started = done + len(running)
    work = max(0, target - started) * mean
    for t in running:
        begun = t.datetime_start
        elapsed = (now - _aware(begun)).total_seconds() if begun is not None else 0.0
        work += max(0.0, mean - max(0.0, elapsed))
    return work / max(1, workers)


def _aware(moment: datetime) -> datetime:
    # Optuna's storages return naive local datetimes (datetime.now()).
    return moment if moment.tzinfo is not None else moment.astimezone()


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA after the first trial"
    s = round(seconds)
    if s >= 3600:
        return f"ETA {s // 3600}h{s % 3600 // 60:02d}m"
    return f"ETA {s // 60}m{s % 60:02d}s" if s >= 60 else f"ETA {s}s"


def state_counts(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    """Trials by state (liquidated apart from the other pruned), in a fixed order."""
    counts: Counter[str] = Counter()
    for t in trials:
        counts["liquidated" if is_liquidated(t) else t.state.name.lower()] += 1
    order = ("complete", "running", "waiting", "pruned", "liquidated", "fail")
    return {k: counts[k] for k in order if counts[k]}


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------
def _a(values: Sequence[float]) -> F64:
    return np.asarray(values, dtype=np.float64)


def history_chart(trials: Sequence[FrozenTrial], study: str = "") -> Chart:
    """Each complete trial's value, the best-so-far line (never a liquidated trial), and the
    liquidated / failed / pruned trials marked on the bottom edge (they have no value)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    usable = [t for t in complete if not is_liquidated(t)]
    values = [float(t.value) for t in usable if t.value is not None]
    floor = min(values) if values else 0.0
    best_x: list[float] = []
    best_y: list[float] = []
    best = -math.inf
    for t in sorted(usable, key=lambda t: t.number):
        best = max(best, float(t.value or 0.0))
        best_x.append(float(t.number))
        best_y.append(best)
    if best_x and trials:
        last = float(max(t.number for t in trials))
        if last > best_x[-1]:
            best_x.append(last)
            best_y.append(best_y[-1])

    def edge(kind: str) -> list[float]:
        return [float(t.number) for t in trials if _kind(t) == kind]

    liq, failed, pruned = edge("liquidated"), edge("fail"), edge("pruned")
    return Chart(
        title=f"Optimisation history{f': {study}' if study else ''}",
        series=(Series("best so far", _a(best_x), _a(best_y), color="green"),) if best_x else (),
        markers=(
            Markers(
                "trial value", _a([float(t.number) for t in usable]), _a(values), "dot", "blue"
            ),
            Markers("liquidated", _a(liq), _a([floor] * len(liq)), "x", "red"),
            Markers("failed", _a(failed), _a([floor] * len(failed)), "x", "magenta"),
            Markers("pruned", _a(pruned), _a([floor] * len(pruned)), "down", "gray"),
        ),
        x_label="trial",
        y_label="value",
        x_ticks=_trial_ticks(max((t.number for t in trials), default=0)),
    )


def _trial_ticks(last: int, count: int = 8) -> tuple[tuple[float, str], ...]:
    """Whole trial numbers on the x axis (at most `count` of them)."""
    marks = np.unique(np.linspace(0, last, min(last + 1, count)).round().astype(int))
    return tuple((float(m), str(m)) for m in marks)


def _kind(trial: FrozenTrial) -> str:
    if is_liquidated(trial):
        return "liquidated"
    return trial.state.name.lower()


def importances(study: optuna.Study) -> dict[str, float]:
    """Parameter importances by PED-ANOVA (see the module text), most important first; empty
    while there are too few complete trials or nothing varies."""
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(complete) < MIN_IMPORTANCE_TRIALS:
        return {}
    varying = [name for name in _param_names(complete) if len(_distinct(complete, name)) > 1]
    if not varying:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature and small-sample warnings
        try:
            found = get_param_importances(
                study, evaluator=PedAnovaImportanceEvaluator(), params=varying, normalize=True
            )
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}
    return {k: float(v) for k, v in found.items() if math.isfinite(float(v))}


def _param_names(trials: Sequence[FrozenTrial]) -> list[str]:
    names: dict[str, None] = {}
    for t in trials:
        names.update(dict.fromkeys(t.params))
    return list(names)


def _distinct(trials: Sequence[FrozenTrial], name: str) -> set[str]:
    return {repr(t.params.get(name)) for t in trials if name in t.params}


def importance_chart(found: dict[str, float], study: str = "", complete: int = 0) -> Chart:
    title = f"Parameter importances (PED-ANOVA){f': {study}' if study else ''}"
    if not found:
        need = f"needs {MIN_IMPORTANCE_TRIALS} complete trials with varied parameters"
        return Chart(title=f"{title} - {need} (have {complete})")
    names = tuple(found)
    return Chart(
        title=title,
        categories=names,
        bars=(BarSet("importance", _a([found[n] for n in names]), "cyan"),),
        x_label="share of the objective's variation",
        horizontal=True,
    )


def _scale(value: Any, dist: Any) -> float | None:
    """A parameter's value on 0..1 of its search range (log ranges on a log axis)."""
    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        if value not in choices:
            return None
        return choices.index(value) / (len(choices) - 1) if len(choices) > 1 else 0.5
    if isinstance(dist, FloatDistribution | IntDistribution):
        lo, hi, v = float(dist.low), float(dist.high), float(value)
        if dist.log and lo > 0 and v > 0:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return 0.5 if hi <= lo else (v - lo) / (hi - lo)
    return None


def parallel_chart(study: optuna.Study, top: int = PARALLEL_TOP) -> Chart:
    """The best `top` non-liquidated trials across every searched parameter (each on 0..1 of its
    search range) and their value (0..1 of the shown values), best in green."""
    best = ranked_trials(study)[:top]
    title = f"Best {len(best)} trials across parameters: {study.study_name}"
    if not best:
        return Chart(title=f"{title} (no complete trial yet)")
    names = [n for n in _param_names(best) if len(_distinct(best, n)) > 1 or len(best) == 1]
    values = [float(t.value or 0.0) for t in best]
    lo, hi = min(values), max(values)
    series: list[Series] = []
    for rank, t in enumerate(reversed(best)):  # the best drawn last, on top
        ys = [_scale(t.params.get(n), t.distributions.get(n)) for n in names]
        ys.append(0.5 if hi <= lo else (float(t.value or 0.0) - lo) / (hi - lo))
        first = rank == len(best) - 1
        label = f"best #{t.number}" if first else ("others" if rank == 0 else "")
        series.append(
            Series(
                label,
                np.arange(len(ys), dtype=np.float64),
                _a([np.nan if y is None else y for y in ys]),
                color="green" if first else "blue",
            )
        )
    axes = (*names, "value")
    return Chart(
        title=title,
        series=tuple(series),
        x_label="parameter (each scaled to its search range)",
        y_label="0 = low, 1 = high",
        x_ticks=tuple((float(i), _short(n)) for i, n in enumerate(axes)),
    )


def _short(name: str) -> str:
    return name if len(name) <= 12 else name[:11] + "~"


@dataclass(frozen=True)
class StudyView:
    """One read of a study: its trials and the charts the screen shows."""

    name: str
    trials: list[FrozenTrial]
    best_number: int | None
    charts: dict[str, Chart] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)


def study_view(study: optuna.Study, charts: bool = True) -> StudyView:
    """Trials, best, and (with `charts`) the three charts of `study`."""
    trials = study.get_trials(deepcopy=False)
    ranked = ranked_trials(study)
    best = ranked[0].number if ranked else None
    if not charts:
        return StudyView(study.study_name, trials, best)
    found = importances(study)
    complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
    drawn = {
        "history": history_chart(trials, study.study_name),
        "importance": importance_chart(found, study.study_name, complete),
        "parallel": parallel_chart(study),
    }
    return StudyView(study.study_name, trials, best, drawn, found)


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, default=str)


def write_trials_csv(trials: Sequence[FrozenTrial], path: str | Path) -> Path:
    """Every trial: number, state (liquidated apart), value, start/complete times, duration, one
    column per parameter (`param_*`) and per user attribute (`attr_*`, JSON when not scalar)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = _param_names(trials)
    attrs: dict[str, None] = {}
    for t in trials:
        attrs.update(dict.fromkeys(t.user_attrs))
    head = ["number", "state", "value", "liquidated", "datetime_start", "datetime_complete",
            "duration_s", *(f"param_{p}" for p in params), *(f"attr_{a}" for a in attrs)]  # fmt: skip
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(head)
        for t in sorted(trials, key=lambda t: t.number):
            d = duration_s(t)
            writer.writerow([
                t.number, _kind(t), _cell(t.value), is_liquidated(t),
                t.datetime_start.isoformat() if t.datetime_start else "",
                t.datetime_complete.isoformat() if t.datetime_complete else "",
                "" if d is None else round(d, 3),
                *(_cell(t.params.get(p)) for p in params),
                *(_cell(t.user_attrs.get(a)) for a in attrs),
            ])  # fmt: skip
    return out


def export_folder(reports_dir: str | Path, study: str, now: datetime) -> Path:
    """`reports/{ts}_calibration_{study}/` (ts = UTC yyyymmdd-HHMMSS; the name made path-safe)."""
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", study).strip("_") or "study"
    ts = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(reports_dir) / f"{ts}_calibration_{safe}"


def export_study(study: optuna.Study, reports_dir: str | Path, now: datetime) -> list[Path]:
    """The three charts as PNG and trials.csv in a new report folder; the files written."""
    view = study_view(study)
    folder = export_folder(reports_dir, study.study_name, now)
    written = [
        render_png(
            view.charts[name], folder / f"{name}.png", width_px=PNG_SIZE[0], height_px=PNG_SIZE[1]
        )
        for name in CHART_NAMES
    ]
    written.append(write_trials_csv(view.trials, folder / "trials.csv"))
    return written
