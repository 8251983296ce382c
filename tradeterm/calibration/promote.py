"""Promotion: a study's best (or a chosen) trial becomes the active config of its strategy.

Written to `active_configs` in `state/research.db` (always) and in PostgreSQL too when the study
lives there (`--storage postgresql://...`) or `calibration.postgres_dsn` is configured: the
production table, same columns. Liquidated, failed, pruned or unfinished trials are refused.
"""

from __future__ import annotations

import getpass
import json
import socket
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tradeterm.calibration.space import LEVERAGE, MARGIN
from tradeterm.calibration.storage import is_postgres, redact
from tradeterm.calibration.study import best_trial, is_liquidated
from tradeterm.errors import UserError
from tradeterm.storage.active_configs import COLUMNS, RESEARCH_DB, ActiveConfig, save_active

POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS active_configs (
    id BIGSERIAL PRIMARY KEY,
    strategy TEXT NOT NULL,
    version TEXT NOT NULL,
    symbols TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    params TEXT NOT NULL,
    leverage DOUBLE PRECISION NOT NULL,
    margin_mode TEXT NOT NULL,
    max_position_size DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    metrics TEXT NOT NULL,
    study TEXT NOT NULL,
    trial INTEGER NOT NULL,
    promoted_at BIGINT NOT NULL,
    promoted_by TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE IF NOT EXISTS calibration_audit (
    id BIGSERIAL PRIMARY KEY,
    ts_ms BIGINT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


def default_promoter() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def choose_trial(study: optuna.Study, number: int | None) -> FrozenTrial:
    """The trial to promote: `number`, or the best never-liquidated one. UserError otherwise."""
    if number is None:
        best = best_trial(study)
        if best is None:
            raise UserError(
                f"--study {study.study_name}: no finished, non-liquidated trial to promote"
            )
        return best
    found = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not found:
        raise UserError(f"--trial {number}: study '{study.study_name}' has no such trial")
    trial = found[0]
    if is_liquidated(trial):
        bar = trial.user_attrs.get("liquidation_bar")
        raise UserError(f"--trial {number}: liquidated (bar {bar}), cannot be promoted")
    if trial.state != TrialState.COMPLETE:
        raise UserError(
            f"--trial {number}: {trial.state.name.lower()}; only complete trials can be promoted"
        )
    return trial


def active_config(study: optuna.Study, trial: FrozenTrial, by: str) -> ActiveConfig:
    attrs = study.user_attrs
    values = {**attrs.get("fixed", {}), **trial.params}
    params = {k: v for k, v in values.items() if k not in (LEVERAGE, MARGIN)}
    metrics = {
        k: v
        for k, v in trial.user_attrs.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return ActiveConfig(
        strategy=str(attrs.get("strategy", "")),
        version=str(attrs.get("strategy_version", "")),
        symbols=tuple(attrs.get("symbols", ())),
        timeframe=str(attrs.get("timeframe", "")),
        params=params,
        leverage=float(values.get(LEVERAGE, 1)),
        margin_mode=str(values.get(MARGIN, "isolated")),
        max_position_size=float(attrs.get("max_position_size", 0.0)),
        score=float(trial.value or 0.0),
        metrics=metrics,
        study=study.study_name,
        trial=trial.number,
        promoted_at=int(time.time() * 1000),
        promoted_by=by,
    )


def save_postgres(dsn: str, config: ActiveConfig) -> int:
    """The same promotion into PostgreSQL's active_configs (one transaction); returns its id."""
    import psycopg

    try:
        with psycopg.connect(dsn) as conn, conn.transaction():
            conn.execute(POSTGRES_SCHEMA)
            conn.execute(
                "UPDATE active_configs SET active = FALSE WHERE strategy = %s AND timeframe = %s",
                (config.strategy, config.timeframe),
            )
            marks = ", ".join("%s" for _ in COLUMNS)
            row = conn.execute(
                f"INSERT INTO active_configs ({', '.join(COLUMNS)}) VALUES ({marks}) RETURNING id",
                config.row(),
            ).fetchone()
            new_id = int(row[0]) if row else 0
            detail = {"id": new_id, "study": config.study, "trial": config.trial}
            conn.execute(
                "INSERT INTO calibration_audit (ts_ms, who, action, detail) VALUES (%s, %s, %s, %s)",
                (config.promoted_at, config.promoted_by, "promote", json.dumps(detail)),
            )
    except psycopg.Error as exc:
        what = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UserError(f"promote: PostgreSQL {redact(dsn)!r}: {what}") from None
    return new_id


def promote(
    study: optuna.Study,
    *,
    storage_url: str,
    state_dir: str | Path,
    trial_number: int | None = None,
    postgres_dsn: str = "",
    by: str | None = None,
) -> dict[str, Any]:
    """Promote and say where it went: {"config": ActiveConfig, "sqlite": (path, id),
    "postgres": (dsn, id) or None}."""
    trial = choose_trial(study, trial_number)
    config = active_config(study, trial, by or default_promoter())
    path = Path(state_dir) / RESEARCH_DB
    sqlite_id = save_active(path, config)
    dsn = postgres_dsn or (storage_url if is_postgres(storage_url) else "")
    pg = (redact(dsn), save_postgres(dsn, config)) if dsn else None
    return {"config": config, "sqlite": (str(path), sqlite_id), "postgres": pg}
