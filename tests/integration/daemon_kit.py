"""Helpers to run `tradeterm run --no-ui` as a real subprocess and talk to it like an operator."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tradeterm.config import dump_config
from tradeterm.testing.node_kit import BUSY_SYMBOLS, busy_config

REPO = Path(__file__).resolve().parents[2]


def write_config(
    tmp: Path,
    *,
    confirm: str = "never",
    ttl: float = 30,
    speed: float = 10.0,
    live: bool = False,
) -> Path:
    """A busy config written as TOML, state under tmp/state: fast 1 s indices (`speed` x more
    ticks) and every strategy on 1-second bars on a frictionless venue (1-second stops would not
    clear real costs), so a real-time run trades within seconds."""
    base = busy_config(tmp / "state")
    strategies = {
        name: {**s.model_dump(mode="json"), "timeframes": ["1s"]}
        for name, s in base.strategies.items()
    }
    cfg = busy_config(
        tmp / "state",
        confirm=confirm,
        extra={
            "strategies": strategies,
            "marketdata": {
                "timeframes": ["1s", "1m"],
                "window_bars": 1000,
                "warmup_bars": 300,
                "store_candles": False,
            },
            "venues": {
                "sim": {
                    "kind": "sim",
                    "seed": 11,
                    "speed": speed,
                    "history_minutes": 60,
                    "symbols": BUSY_SYMBOLS,
                    "fill_model": {
                        "taker_fee_rate": 0.0,
                        "maker_fee_rate": 0.0,
                        "slippage_bps": 0.0,
                    },
                }
            },
            "execution": {"confirm": confirm, "confirmation_ttl_s": ttl},
            "telemetry": {"log_format": "json", "log_level": "info"},
            # 1-second stops sit only a few spreads away: the gate's cost rules are loosened
            # here so short real-time runs trade (crash safety, the console); the shipped rules
            # are tested in test_default_config.py and test_resting_stops.py
            "risk": {
                **base.risk.model_dump(mode="json"),
                "min_stop_cost_multiple": 1.5,
                "min_reward_risk": 2.0,
            },
            **(
                {
                    "rollout": {"initial_stage": 2},  # synthetics live on the sim "live" account
                    "wallets": {"live": {"approved": True}},
                }
                if live
                else {}
            ),
        },
    )
    path = tmp / f"config-{confirm}{'-live' if live else ''}.toml"
    path.write_text(dump_config(cfg), encoding="utf-8")
    return path


def cli(
    config: Path, *args: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeterm", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=config.parent,
        input=stdin,
    )


class DaemonTimeout(subprocess.TimeoutExpired):
    """A daemon that did not end in time (killed by then); its message ends with its log."""

    def __init__(self, cmd: Any, timeout: float, log_tail: str) -> None:
        super().__init__(cmd, timeout)
        self.log_tail = log_tail

    def __str__(self) -> str:
        return f"{super().__str__()}; the end of its log:\n{self.log_tail}"


class Daemon(subprocess.Popen[str]):
    """A daemon process whose stderr (the JSON log) goes to a file, not a pipe: a pipe nobody
    reads until the end fills up (64 KiB) and stalls the daemon mid-test. `communicate` returns
    ("", the whole log) as it would have with pipes."""

    def __init__(self, args: list[str], cwd: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("w", encoding="utf-8")
        super().__init__(
            args,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def communicate(
        self, input: str | None = None, timeout: float | None = None
    ) -> tuple[str, str]:
        try:
            self.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()  # a daemon that does not stop must not outlive the test
            self.wait()
            self._log.close()
            tail = self.log_path.read_text(encoding="utf-8")[-4000:]
            raise DaemonTimeout(exc.cmd, exc.timeout, tail) from exc
        finally:
            self._log.close()
        return "", self.log_path.read_text(encoding="utf-8")


def start_daemon(config: Path, *extra: str) -> Daemon:
    n = len(list(config.parent.glob("daemon-*.err")))
    return Daemon(
        [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config), *extra],
        config.parent,
        config.parent / f"daemon-{n}.err",
    )


def node_args(config: Path, sets: list[str]) -> list[str]:
    """`tradeterm run --no-ui --confirm --config CONFIG --set S...`: a live node from a shell."""
    args = [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--confirm"]
    return args + ["--config", str(config)] + [x for s in sets for x in ("--set", s)]


def live_perp_sets(rest: str, ws: str) -> list[str]:
    """The `--set`s that point the shipped binance-futures config at a simulator and trade its
    live crypto_perp wallet (approved, rollout stage 2)."""
    return [
        f"venues.binance_futures.rest_url={rest}",
        f"venues.binance_futures.ws_url={ws}",
        "wallets.live.approved=true",
        "wallets.live.accounts.crypto_perp.venue=binance_futures",
        "wallets.live.accounts.crypto_perp.account=main",
        "rollout.initial_stage=2",
    ]


@contextmanager
def sim_server(log: Path, venue: str, *flags: str) -> Iterator[tuple[str, str]]:
    """`tradeterm sim-server VENUE --port 0 FLAGS...` as its own process, its output in `log`:
    yields the REST and WS URLs it prints first, and stops it on the way out."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradeterm", "sim-server", venue, "--port", "0", *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        lines = wait_for(
            lambda: (t := log.read_text().splitlines()) and len(t) >= 2 and t, timeout=120
        )
        assert lines[0].startswith("http://127.0.0.1:") and lines[1].startswith("ws://")
        yield lines[0], lines[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met in {timeout} s")


def status(config: Path) -> dict[str, Any] | None:
    res = cli(config, "status", "--json")
    return json.loads(res.stdout) if res.returncode == 0 else None


def rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def read_running(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read while a daemon runs: none while the database or its tables do not exist yet
    (never creates the file) or while a writer holds it."""
    if not db.exists():
        return []
    try:
        return rows(db, sql, params)
    except sqlite3.Error:
        return []


def count_running(db: Path, sql: str) -> int:
    """A COUNT(*) (or any single integer) read as `read_running` reads; 0 when unreadable."""
    found = read_running(db, sql)
    return int(found[0][0]) if found else 0


class Lines:
    """A process's stderr lines, read by a thread so a test can wait for one without blocking."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import queue
        import threading

        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        stream = proc.stderr

        def pump() -> None:
            for line in stream:
                self._queue.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, fragment: str, timeout: float = 60.0) -> str:
        import queue

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if fragment in line:
                return line
        raise TimeoutError(f"no line with {fragment!r} in {timeout} s; last: {self.seen[-5:]}")
