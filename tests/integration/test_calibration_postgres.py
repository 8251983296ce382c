"""Distributed calibration on a real PostgreSQL server (loopback, data in a temp folder, started
and stopped here): two `tradeterm calibrate` processes join one study through Optuna's RDB
storage, as workers on two hosts would; promote writes active_configs there and in research.db."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import psycopg
import pytest

from tradeterm.storage.active_configs import load_active
from tradeterm.testing.postgres import Cluster, missing_reason, start_cluster

REPO = Path(__file__).resolve().parents[2]
STUDY = "shared-breakout"
TRIALS = 8


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _tradeterm(cwd: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "tradeterm", *argv, "--config", str(REPO / "configs/default.toml")]
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_two_workers_share_one_study_and_promote_writes_both_tables(
    postgres: Cluster, tmp_path: Path
) -> None:
    run = (
        "calibrate",
        "--strategy",
        "breakout",
        "--symbol",
        "R_100",
        "--timeframe",
        "15m",
        "--days",
        "40",
        # real backtests in every trial (no quick prunes), so neither worker can finish the
        # whole study before the other has started
        "--param",
        "atr_period=14",
        "--param",
        "channel=48",
        "--walk-forward",
        "--splits",
        "2",
        "--trials",
        str(TRIALS),
        "--study",
        STUDY,
        "--storage",
        postgres.url,
        "--leverage-max",
        "3",
        "--json",
    )
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    for host in hosts:
        host.mkdir()
    workers = [_tradeterm(host, *run) for host in hosts]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out)["study"] == STUDY

    study = optuna.load_study(
        study_name=STUDY, storage=postgres.url.replace("postgresql://", "postgresql+psycopg://")
    )
    trials = study.get_trials(deepcopy=False)
    # each worker checks the count before it asks: two can pass the last check together
    assert TRIALS <= len(trials) <= TRIALS + 1
    numbers = [t.number for t in trials]
    ids = [t._trial_id for t in trials]
    assert len(set(numbers)) == len(numbers) == len(set(ids))
    assert sorted(numbers) == list(range(len(trials)))
    pids = {t.user_attrs["worker"].split(":")[1] for t in trials if "worker" in t.user_attrs}
    assert pids == {str(w.pid) for w in workers}  # trials from both workers

    promoter = _tradeterm(
        hosts[0], "promote", "--study", STUDY, "--storage", postgres.url, "--json"
    )
    out, err = promoter.communicate(timeout=120)
    assert promoter.returncode == 0, err
    promoted = json.loads(out)
    (local,) = load_active(hosts[0] / "state" / "research.db")
    with psycopg.connect(postgres.url) as conn:
        rows = conn.execute(
            "SELECT strategy, timeframe, study, trial, params, active FROM active_configs"
        ).fetchall()
        audit = conn.execute("SELECT who, action FROM calibration_audit").fetchall()
    assert len(rows) == 1
    strategy, timeframe, study_name, trial, params, active = rows[0]
    assert (strategy, timeframe, study_name, active) == ("breakout", "15m", STUDY, True)
    assert trial == local.trial == promoted["trial"]
    assert json.loads(params) == dict(local.params)
    assert [a[1] for a in audit] == ["promote"]
