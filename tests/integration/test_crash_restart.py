"""Nothing is lost: the daemon is killed with SIGKILL at random points in 20 runs (some while it is
still starting, some mid-trading, some with confirmations pending). After every kill and every
restart: no fill is lost, no order is duplicated, positions equal the fills that made them,
pending confirmations are restored or expired, and PRAGMA integrity_check is ok."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tradeterm.storage.migrations import MIGRATIONS

from .daemon_kit import cli, count_running, read_running, rows, start_daemon, wait_for, write_config

RUNS = 20


def _check_invariants(db: Path) -> dict[str, object]:
    assert rows(db, "PRAGMA integrity_check")[0][0] == "ok"
    # every client order id is unique (primary key) and no intent produced two entry orders
    dupes = rows(
        db,
        "SELECT signal_id, wallet_id, COUNT(*) FROM orders WHERE purpose = 'entry'"
        " GROUP BY signal_id, wallet_id HAVING COUNT(*) > 1",
    )
    assert dupes == [], f"duplicated entry orders: {dupes}"
    # every fill belongs to a stored order, and each order's filled quantity equals its fills
    orphans = rows(
        db,
        "SELECT fill_id FROM fills WHERE client_order_id NOT IN (SELECT client_order_id FROM orders)",
    )
    assert orphans == []
    for coid, filled, fill_sum in rows(
        db,
        "SELECT o.client_order_id, json_extract(o.data, '$.filled_qty'),"
        " COALESCE((SELECT SUM(json_extract(f.data, '$.qty')) FROM fills f WHERE f.client_order_id = o.client_order_id), 0)"
        " FROM orders o",
    ):
        assert filled == pytest.approx(fill_sum, abs=1e-9), (
            f"order {coid}: filled {filled} != fills {fill_sum}"
        )
    # open positions equal the net of every fill on that wallet and market
    net: dict[tuple[str, str], float] = defaultdict(float)
    for wallet, venue, symbol, side, qty in rows(
        db,
        "SELECT wallet_id, json_extract(data, '$.venue'), json_extract(data, '$.symbol'),"
        " json_extract(data, '$.side'), json_extract(data, '$.qty') FROM fills",
    ):
        net[(wallet, f"{venue}:{symbol}")] += qty if side == "buy" else -qty
    positions = {
        (w, f"{v}:{s}"): (q if side == "buy" else -q)
        for w, v, s, side, q in rows(
            db,
            "SELECT wallet_id, venue, symbol, json_extract(data, '$.side'), json_extract(data, '$.qty') FROM positions",
        )
    }
    for key, qty in net.items():
        assert positions.get(key, 0.0) == pytest.approx(qty, abs=1e-9), (
            f"position {key} != net fills {qty}"
        )
    for key in positions:
        assert key in net, f"position {key} without fills"
    return {
        "fills": {r[0] for r in rows(db, "SELECT fill_id FROM fills")},
        "pending": {
            r[0]: r[1]
            for r in rows(db, "SELECT id, expires_ms FROM confirmations WHERE status = 'pending'")
        },
    }


def _ids(db: Path, sql: str) -> set[object]:
    return {r[0] for r in read_running(db, sql)}


def test_sigkill_at_random_points_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    configs = {mode: write_config(tmp_path, confirm=mode, ttl=6) for mode in ("never", "always")}
    db = tmp_path / "state" / "paper.db"
    seen_fills: set[str] = set()
    killed_with_pending = 0
    for run in range(RUNS):
        kind = ("anywhere", "pending", "mid-trade")[run % 3]
        config = configs["always" if kind == "pending" else "never"]
        proc = start_daemon(config)
        # the kill points wait on state, not on the clock, so a loaded machine still reaches them:
        # "anywhere" dies at a random moment from start-up on; "pending" once a confirmation waits
        # for the operator (TTL 6 s, so it is still pending when killed); "mid-trade" once this run
        # has traded
        try:
            if kind == "anywhere":
                time.sleep(rng.uniform(0.3, 7.0))
            elif kind == "pending":
                # a confirmation asked in this run, not one restored from the last crash
                asked = _ids(db, "SELECT id FROM confirmations")
                wait_for(
                    lambda asked=asked: (
                        _ids(db, "SELECT id FROM confirmations WHERE status = 'pending'") - asked
                    ),
                    timeout=180,
                )
                time.sleep(rng.uniform(0.0, 0.5))
            else:
                traded = count_running(db, "SELECT COUNT(*) FROM fills")
                wait_for(
                    lambda traded=traded: count_running(db, "SELECT COUNT(*) FROM fills") > traded,
                    timeout=180,
                )
                time.sleep(rng.uniform(0.0, 1.0))
        except BaseException:
            proc.kill()
            proc.communicate(timeout=30)
            raise
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        if not db.exists() or count_running(db, "PRAGMA user_version") < len(MIGRATIONS):
            continue  # killed while the first start created the schema (each step is atomic)
        state = _check_invariants(db)
        fills = state["fills"]
        assert isinstance(fills, set) and seen_fills <= fills, (
            "a fill stored before a crash disappeared"
        )
        seen_fills = fills
        killed_with_pending += bool(state["pending"])
    assert len(seen_fills) > 0, "the runs must have traded"
    assert killed_with_pending > 0, "some kills must catch confirmations pending"

    # a clean restart: restores, expires what is overdue, answers status, stops safely. What
    # was overdue when it started must not come back as pending (one that runs out after the
    # start stays listed until the next housekeeping pass: that is not a restore)
    started_ms = int(time.time() * 1000)
    proc = start_daemon(configs["never"])
    try:
        wait_for((tmp_path / "state" / "tradeterm.sock").exists, timeout=180)
        res = wait_for(
            lambda: (r := cli(configs["never"], "status", "--json")).returncode == 0 and r,
            timeout=180,
        )
        report = json.loads(res.stdout)
        for conf in report["pending"]:
            assert conf["expires_ms"] > started_ms, (
                "an overdue confirmation was restored as pending"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    state = _check_invariants(db)
    assert isinstance(state["fills"], set) and seen_fills <= state["fills"]
    expired = rows(db, "SELECT COUNT(*) FROM confirmations WHERE status = 'expired'")[0][0]
    assert expired > 0, "confirmations left pending by crashes expire after restart"
    assert (
        rows(
            db,
            "SELECT COUNT(*) FROM confirmations WHERE status = 'pending' AND expires_ms < ?",
            (started_ms,),
        )[0][0]
        == 0
    )
