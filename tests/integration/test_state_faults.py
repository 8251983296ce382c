"""Issue 9 defects 6 and 8, issue 11 item 2: the state folder under faults, with the real daemon.

- a refused second `run --no-ui` touches nothing of the running one (socket, log);
- state is private: folder 0700, files 0600;
- a lock file or socket that is a folder, or a read-only state folder, is one line naming the
  path and the fix (exit 2), never an internal error;
- a full disk makes the node DEGRADED with the reason (status says so, logged once, no
  "--- Logging error ---" blocks), new entries wait, and it recovers when space comes back.

The read-only folder and the full disk are real file systems (a small tmpfs) where the machine
allows mounting one; elsewhere those two tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .daemon_kit import cli, start_daemon, status, wait_for, write_config


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=90)
    return proc.returncode, err


@contextlib.contextmanager
def tmpfs(where: Path, *options: str) -> Iterator[None]:
    """A real tmpfs mounted at `where` (skip the test when this machine cannot mount one)."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options) or "size=4m"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not permitted'})")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def one_user_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert res.stderr.count("\n") == 1, res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr


def test_a_refused_second_daemon_touches_nothing_of_the_first(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    first = start_daemon(config)
    sock = tmp_path / "state" / "tradeterm.sock"
    log = tmp_path / "state" / "tradeterm.log"
    try:
        wait_for(sock.exists, timeout=60)
        inode = sock.stat().st_ino
        second = cli(config, "run", "--no-ui", "--duration", "30", timeout=120)
        one_user_error(second, "already in use by tradeterm", f"pid {first.pid}")
        assert sock.exists() and sock.stat().st_ino == inode  # the holder's socket is untouched
        assert status(config) is not None  # ... and still answers
        text = log.read_text(encoding="utf-8")
        assert "node stopped" not in text and "already in use" not in text
    finally:
        code, err = stop(first)
    assert code == 0, err[-2000:]
    assert log.read_text(encoding="utf-8").count("node stopped") == 1  # the holder's own stop


def test_state_is_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    old = state / "paper.db"
    old.write_bytes(b"")  # an empty file is a fresh database to SQLite
    os.chmod(old, 0o644)  # as an older version left it
    config = write_config(tmp_path)
    res = cli(config, "run", "--no-ui", "--duration", "4", timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    seen = 0
    for path in state.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        else:
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
            seen += 1
    assert seen >= 3  # paper.db, its WAL/SHM, the log, the lock, sim-sim.db...


@pytest.mark.parametrize("name", ["tradeterm.lock", "tradeterm.sock"])
def test_a_lock_or_socket_that_is_a_folder_is_one_line(tmp_path: Path, name: str) -> None:
    config = write_config(tmp_path)
    blocker = tmp_path / "state" / name
    blocker.mkdir(parents=True)
    res = cli(config, "run", "--no-ui", "--duration", "2", timeout=120)
    one_user_error(res, str(blocker), "folder")
    assert blocker.is_dir()  # never removed
    one_user_error(cli(config, "validate-config", str(config)), str(blocker))


def test_a_read_only_state_folder_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "state"
    if os.geteuid() != 0:
        state.mkdir()
        os.chmod(state, 0o500)
        try:
            res = cli(config, "run", "--no-ui", "--duration", "2", timeout=120)
        finally:
            os.chmod(state, 0o700)
        one_user_error(res, "storage.state_dir", "not writable", "writable folder")
        return
    with tmpfs(state, "ro", "size=1m"):  # root ignores permission bits: a read-only mount
        res = cli(config, "run", "--no-ui", "--duration", "2", timeout=120)
        one_user_error(res, "storage.state_dir", "read-only file system", "writable folder")
        res = cli(config, "validate-config", str(config))
        one_user_error(res, "read-only file system")


def test_a_full_disk_degrades_then_recovers(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path)
    stderr_path = tmp_path / "daemon.err"  # a file, not a pipe: nothing may stall on stderr
    with tmpfs(state, "size=12m"), stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        filler = state / "filler"
        try:
            wait_for(lambda: (s := status(config)) and s["trading_state"] == "active", timeout=90)
            with filler.open("wb") as fh, contextlib.suppress(OSError):
                while True:  # take every byte left
                    fh.write(b"\0" * (1 << 16))
            degraded = wait_for(
                lambda: (s := status(config)) and s["storage"] and s, timeout=120, interval=0.5
            )
            assert "database or disk is full" in degraded["storage"] or (
                "No space left on device" in degraded["storage"]
            ), degraded["storage"]
            text = cli(config, "status").stdout
            assert "DEGRADED: " in text and "new entries are refused until writes work" in text
            wait_for(  # the gate refuses the next entry, and says why
                lambda: "storage DEGRADED (" in stderr_path.read_text(encoding="utf-8"),
                timeout=120,
            )
            filler.unlink()  # space again
            wait_for(lambda: (s := status(config)) and not s["storage"], timeout=120, interval=0.5)
        finally:
            with contextlib.suppress(FileNotFoundError):
                filler.unlink()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=90)
    err = stderr_path.read_text(encoding="utf-8")
    assert code == 0, err[-3000:]
    assert "--- Logging error ---" not in err and "Traceback" not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    degraded_lines = [line for line in lines if line.get("event") == "storage.degraded"]
    sources = [line["source"] for line in degraded_lines]
    assert degraded_lines and len(sources) == len(set(sources))  # once per failing file
    assert any(line.get("event") == "storage.recovered" for line in lines)
