"""`tradeterm run --no-ui` as an operator runs it: a real process on the real clock, driven through
the CLI over the control socket, stopped with SIGTERM."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from pathlib import Path

from .daemon_kit import (
    cli,
    count_running,
    read_running,
    rows,
    start_daemon,
    status,
    wait_for,
    write_config,
)


def test_the_daemon_never_imports_textual() -> None:
    code = "import sys, tradeterm.daemon, tradeterm.node, tradeterm.control; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_operator_session_over_the_control_socket(tmp_path: Path) -> None:
    config = write_config(tmp_path, confirm="always", ttl=120)
    proc = start_daemon(config)
    try:
        sock = tmp_path / "state" / "tradeterm.sock"
        wait_for(sock.exists, timeout=180)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600

        pending = wait_for(
            lambda: (s := status(config)) and len(s["pending"]) >= 2 and s["pending"], timeout=60
        )
        first, second = pending[0]["id"], pending[1]["id"]
        text = cli(config, "status").stdout
        assert f"pending {first}" in text and "stage 1/5 'crypto-paper'" in text

        approved = cli(config, "approve", first)
        assert approved.returncode in (0, 1), (
            approved.stderr
        )  # 1 = rejected as stale, with the reason
        assert first in approved.stdout
        rejected = cli(config, "reject", second, "--reason", "not now")
        assert rejected.returncode == 0 and "rejected" in rejected.stdout
        again = cli(config, "approve", second)
        assert again.returncode == 1 and "Traceback" not in again.stderr and second in again.stderr

        assert cli(config, "pause").returncode == 0
        assert json.loads(cli(config, "status", "--json").stdout)["trading_state"] == "reducing"
        assert cli(config, "resume").returncode == 0

        flat = cli(config, "flatten", "--yes")
        assert flat.returncode == 0, flat.stdout + flat.stderr
        assert "sim:" in flat.stdout or "nothing to flatten" in flat.stdout

        unknown = cli(config, "approve", "c-nope")  # a bad id is bad input: exit 2, as documented
        assert unknown.returncode == 2 and "c-nope" in unknown.stderr
        nowhere = cli(config, "stage", "set", "9")
        assert nowhere.returncode == 2 and nowhere.stderr == "no stage 9: stages are 1..5\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]

    db = tmp_path / "state" / "paper.db"
    audit = [
        (a, s, ok) for a, s, ok in rows(db, "SELECT action, source, ok FROM audit ORDER BY rowid")
    ]
    approve_ok = 1 if approved.returncode == 0 else 0  # a re-check refusal is audited not ok
    assert audit[:2] == [("approve", "cli", approve_ok), ("reject", "cli", 1)]
    assert ("flatten_all", "cli", 1) in audit and ("approve", "cli", 0) in audit
    assert audit[-2:] == [("approve", "cli", 0), ("set_stage", "cli", 0)]  # refusals audited too
    assert not (tmp_path / "state" / "tradeterm.sock").exists()  # removed on a clean stop
    # JSON log lines: one trade idea keeps its correlation id from signal to risk decision
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    by_corr: dict[str, set[str]] = {}
    for line in lines:
        if line.get("corr"):
            by_corr.setdefault(line["corr"], set()).add(line.get("event", ""))
    assert any(
        {"signal", "allocator.decision", "risk.decision", "confirmation"} <= events
        for events in by_corr.values()
    )


def test_cli_without_a_daemon_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    res = cli(config, "status")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("no tradeterm daemon is running")


def _count(db: Path, table: str) -> int:
    return count_running(db, f"SELECT COUNT(*) FROM {table}")


SESSION_TABLES = ("signals", "risk_decisions", "orders", "fills")


def _balance_changed(db: Path) -> bool:
    found = read_running(db, "SELECT json_extract(data, '$.balance') FROM wallets")
    return bool(found) and found[0][0] != 1000.0


def test_a_trading_session_in_the_log_and_the_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, confirm="never")
    db = tmp_path / "state" / "paper.db"
    proc = start_daemon(config)
    try:
        # the session runs until every table has rows and a trade has closed, however slow the
        # machine: it waits on that state, not on a fixed run time
        wait_for(
            lambda: all(_count(db, t) > 0 for t in SESSION_TABLES) and _balance_changed(db),
            timeout=180,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    for table in SESSION_TABLES:
        assert rows(db, f"SELECT COUNT(*) FROM {table}")[0][0] > 0, table
    assert rows(db, "SELECT json_extract(data, '$.balance') FROM wallets")[0][0] != 1000.0
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    fills = [e for e in events if e.get("event") == "fill"]
    assert fills and all(f["corr"].startswith("sig-") for f in fills)  # fill -> its signal
