"""Helpers to run `tradeterm run --no-ui` as a real subprocess and talk to it like an operator."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tradeterm.config import dump_config
from tradeterm.testing.node_kit import BUSY_SYMBOLS, busy_config

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp: Path, *, confirm: str = "never", ttl: float = 30, speed: float = 4.0) -> Path:
    """A busy config written as TOML, state under tmp/state: fast 1 s indices (`speed` x more
    ticks) and every strategy on 1-second bars, so a real-time run trades within seconds."""
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
                }
            },
            "execution": {"confirm": confirm, "confirmation_ttl_s": ttl},
            "telemetry": {"log_format": "json", "log_level": "info"},
        },
    )
    path = tmp / f"config-{confirm}.toml"
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


def start_daemon(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config), *extra],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


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
