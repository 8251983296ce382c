"""The Deriv acceptance commands from a shell against `tradeterm sim-server deriv`: discover,
live --confirm (and its refusals), and a SIGKILL with a contract open."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "deriv.toml"
TRADETERM = [sys.executable, "-m", "tradeterm"]


@pytest.fixture
def sim_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [
            *TRADETERM,
            "sim-server",
            "deriv",
            "--port",
            "0",
            "--speed",
            "5",
            "--history-hours",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("ws://127.0.0.1:")
    yield url
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def tradeterm(
    tmp: Path, url: str, *args: str, token: str | None = "sim-token", approved: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DERIV_API_TOKEN"}
    if token is not None:
        env["DERIV_API_TOKEN"] = token
    sets = ["--set", f"venues.deriv.endpoint={url}", "--set", f"storage.state_dir={tmp / 'state'}"]
    if approved:
        sets += ["--set", "wallets.live.approved=true"]
    return subprocess.run(
        [*TRADETERM, args[0], "--config", str(CONFIG), *sets, *args[1:]],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_discover_lists_synthetic_indices_with_multiplier_terms(
    tmp_path: Path, sim_url: str
) -> None:
    done = tradeterm(tmp_path, sim_url, "discover", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) >= 20
    for row in rows:
        assert row["multipliers"] and row["min_stake"] > 0 and row["max_stake"] > row["min_stake"]
    by_symbol = {r["symbol"]: r for r in rows}
    assert by_symbol["R_100"]["multipliers"] == [10, 20, 30, 50, 100]
    assert by_symbol["BOOM500"]["cancellation"] == []  # no deal cancellation on Crash/Boom
    stored = json.loads((tmp_path / "state" / "universe-deriv.json").read_text())
    assert stored == rows


def test_live_confirm_opens_and_closes_one_trade(tmp_path: Path, sim_url: str) -> None:
    done = tradeterm(tmp_path, sim_url, "live", "--confirm")
    assert done.returncode == 0, done.stderr
    assert "MULTUP R_100" in done.stdout and "sold for" in done.stdout
    events = [
        json.loads(line)["event"] for line in (tmp_path / "state" / "deriv-live-audit.jsonl").open()
    ]
    assert events.count("bought") == 1 and events[-1] == "closed"


@pytest.mark.parametrize(
    ("token", "approved", "confirm", "missing"),
    [
        (None, True, True, "DERIV_API_TOKEN"),
        ("tok", False, True, "wallets.live.approved"),
        ("tok", True, False, "--confirm"),
    ],
)
def test_live_explains_what_is_missing_and_exits_2(
    tmp_path: Path, sim_url: str, token: str | None, approved: bool, confirm: bool, missing: str
) -> None:
    args = ["live", "--confirm"] if confirm else ["live"]
    done = tradeterm(tmp_path, sim_url, *args, token=token, approved=approved)
    assert done.returncode == 2
    assert missing in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "deriv-live-audit.jsonl").exists()  # nothing was sent


def test_sigkill_with_a_contract_open_then_restart_finds_it(tmp_path: Path, sim_url: str) -> None:
    audit = tmp_path / "state" / "deriv-live-audit.jsonl"
    env = {**os.environ, "DERIV_API_TOKEN": "sim-token"}
    sets = [
        "--set",
        f"venues.deriv.endpoint={sim_url}",
        "--set",
        f"storage.state_dir={tmp_path / 'state'}",
        "--set",
        "wallets.live.approved=true",
    ]
    proc = subprocess.Popen(
        [*TRADETERM, "live", "--config", str(CONFIG), *sets, "--confirm", "--hold", "300"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (audit.exists() and '"open"' in audit.read_text()):
        assert proc.poll() is None, "the first run ended before its contract was open"
        assert time.monotonic() < deadline, "the contract never opened"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    opened = next(json.loads(x) for x in audit.read_text().splitlines() if '"open"' in x)
    done = tradeterm(tmp_path, sim_url, "live", "--confirm")
    assert done.returncode == 0, done.stderr
    assert f"contract {opened['contract_id']}" in done.stdout
    assert "found open from an earlier run" in done.stdout
    events = [json.loads(line) for line in audit.open()]
    assert [e["event"] for e in events].count("bought") == 1  # never bought twice
    assert (
        next(e for e in events if e["event"] == "adopted")["contract_id"] == opened["contract_id"]
    )


def test_live_confirm_passes_the_risk_engine_and_a_denial_buys_nothing(
    tmp_path: Path, sim_url: str
) -> None:
    done = tradeterm(tmp_path, sim_url, "live", "--confirm")
    assert done.returncode == 0, done.stderr
    audit = tmp_path / "state" / "deriv-live-audit.jsonl"
    gate = next(json.loads(x) for x in audit.read_text().splitlines() if '"gate"' in x)
    assert gate["verdict"].startswith(("approved", "resized"))
    audit.unlink()
    denied = tradeterm(tmp_path, sim_url, "live", "--confirm", "--set", "risk.min_reward_risk=10")
    assert denied.returncode == 1
    assert "risk engine denied" in denied.stderr
    assert '"bought"' not in audit.read_text() if audit.exists() else True


def test_discover_keeps_the_universe_fresh_while_running(tmp_path: Path, sim_url: str) -> None:
    done = tradeterm(tmp_path, sim_url, "discover", "--every", "0.2", "--count", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("synthetic indices with multipliers") == 2


def test_paper_streams_deriv_ticks_into_the_node(tmp_path: Path, sim_url: str) -> None:
    """`tradeterm paper`: the node on paper wallets, fed by the Deriv client; `status` shows the
    venue up with fresh messages, and the run ends cleanly."""
    sets = [
        "--set",
        f"venues.deriv.endpoint={sim_url}",
        "--set",
        f"storage.state_dir={tmp_path / 'state'}",
    ]
    # its log goes to a file: a pipe nobody reads while it runs would fill and stall it
    log_path = tmp_path / "paper.err"
    with log_path.open("w", encoding="utf-8") as log_file:
        paper = subprocess.Popen(
            [*TRADETERM, "paper", "--config", str(CONFIG), *sets, "--no-ui"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
    try:
        seen = ""
        deadline = time.monotonic() + 180
        while "venue deriv: up" not in seen:
            assert paper.poll() is None, log_path.read_text(encoding="utf-8")[-3000:]
            assert time.monotonic() < deadline, seen
            time.sleep(0.5)
            status = subprocess.run(
                [*TRADETERM, "status", "--config", str(CONFIG), *sets],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            seen = status.stdout
        assert "paper only" in seen and "reconnects 0" in seen
    finally:
        # it runs until stopped, as an operator's would: SIGTERM is the clean end of the run
        if paper.poll() is None:
            paper.send_signal(signal.SIGTERM)
        try:
            paper.wait(timeout=120)
        except subprocess.TimeoutExpired:
            paper.kill()  # a run that does not stop must not outlive the test
            paper.wait()
            raise
    assert paper.returncode == 0, log_path.read_text(encoding="utf-8")[-3000:]
