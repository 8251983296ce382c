"""One position from the CLI against the running daemon: `tradeterm stop` (tighten only; a
widening is refused with the risk engine's reason), `tradeterm target`, `tradeterm close` (a
reduce-only market order), bad names exit 2, and `tradeterm flatten --pause`. Every action is
in the audit journal as done by the cli."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from .daemon_kit import cli, rows, start_daemon, status, wait_for, write_config

TRIES = 8
"""Positions on 1-second bars come and go fast: an action that finds its position already
closed, or the price already through the new level, is tried on the next one."""
RACES = ("no open position", "at or through the price now", "an exit order is already working")


def _positions(config: Path) -> list[dict[str, Any]]:
    found = status(config)
    return list(found["positions"]) if found else []


def _ref(p: dict[str, Any]) -> str:
    return f"{p['wallet_id']}/{p['venue']}:{p['symbol']}"


def _act(config: Path, command: str, level: Any) -> tuple[dict[str, Any], str]:
    """Run `tradeterm COMMAND POSITION PRICE` on an open position, `level(position)` giving the
    price, until it does not lose a race with the market; (the position, stdout)."""
    for _ in range(TRIES):
        p = wait_for(lambda: (ps := _positions(config)) and ps[0], timeout=120)
        res = cli(config, command, _ref(p), f"{level(p):.6f}")
        if res.returncode == 0:
            return p, res.stdout
        assert any(race in res.stderr for race in RACES), res.stderr
    raise AssertionError(f"{command} lost the race with the market {TRIES} times")


def _audit(db: Path, action: str) -> list[tuple[str, int, dict[str, Any]]]:
    sql = "SELECT source, ok, json_extract(data, '$.args') FROM audit WHERE action = ?"
    return [(s, int(ok), json.loads(a)) for s, ok, a in rows(db, sql, (action,))]


def test_stop_target_close_and_flatten_pause_from_the_cli(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "state" / "paper.db"
    proc = start_daemon(config)
    try:
        p = wait_for(lambda: (ps := _positions(config)) and ps[0], timeout=120)
        sign = 1 if p["side"] == "buy" else -1
        wider = p["stop_loss"] - sign * abs(p["entry_price"] - p["stop_loss"])
        refused = cli(config, "stop", _ref(p), f"{wider:.6f}")
        if refused.returncode != 0 and not any(r in refused.stderr for r in RACES):
            assert refused.returncode == 1, refused.stderr
            assert "refused by the risk engine: stop may not be widened" in refused.stderr
            assert "Traceback" not in refused.stderr
            assert ("cli", 0, {"position": _ref(p), "price": float(f"{wider:.6f}")}) in _audit(
                db, "move_stop"
            )

        def tighter(q: dict[str, Any]) -> float:
            s = 1 if q["side"] == "buy" else -1
            return float(q["stop_loss"] + s * abs(q["entry_price"] - q["stop_loss"]) * 0.1)

        moved, out = _act(config, "stop", tighter)
        assert f"stop {float(f'{tighter(moved):.6f}'):g}" in out, out
        assert ("cli", 1) in [(s, ok) for s, ok, _ in _audit(db, "move_stop")]

        def further(q: dict[str, Any]) -> float:
            s = 1 if q["side"] == "buy" else -1
            return float(q["take_profit"] + s * abs(q["take_profit"] - q["entry_price"]))

        moved, out = _act(config, "target", further)
        assert f"target {float(f'{further(moved):.6f}'):g}" in out, out

        for _ in range(TRIES):
            p = wait_for(lambda: (ps := _positions(config)) and ps[0], timeout=120)
            closed = cli(config, "close", _ref(p), "--yes")
            if closed.returncode == 0:
                break
            assert any(race in closed.stderr for race in RACES), closed.stderr
        assert f"closing {p['side']}" in closed.stdout and _ref(p) in closed.stdout
        exits = rows(
            db,
            "SELECT json_extract(data, '$.reduce_only') FROM orders WHERE purpose = 'exit'"
            " AND json_extract(data, '$.reason') = 'manual'",
        )
        assert exits and all(r[0] in (1, True) for r in exits)
        assert ("cli", 1, {"position": _ref(p)}) in _audit(db, "close_position")

        bad = cli(config, "close", "NOPE:XYZ", "--yes")
        assert bad.returncode == 2 and "no open position 'NOPE:XYZ'" in bad.stderr, bad.stderr
        neg = cli(config, "stop", _ref(p), "-5")
        assert neg.returncode == 2 and "Traceback" not in neg.stderr

        flat = cli(config, "flatten", "--yes", "--pause")
        assert flat.returncode == 0, flat.stderr
        assert "paused: no new entries" in flat.stdout
        state = json.loads(cli(config, "status", "--json").stdout)["trading_state"]
        assert state == "reducing"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
