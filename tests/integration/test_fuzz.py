"""The shipped fuzz suite (issue 9, "Done when"): seeded hostile input against the real CLI, the
real config loader, the real candle importer and a real node's control socket.

For every case: exit 0 only for valid input; otherwise exit 2 with one line per problem, naming
the key (or option, or file); never `internal error` or a traceback; never a hang (every case is
bounded: in-process calls under pytest-timeout, processes with timeouts); no file outside
`state/` touched; no state file deleted. Configs the loader accepts are also started for real
(`run --no-ui`): a config `validate-config` passes must run.

`TRADETERM_FUZZ_SEED` picks another seed (printed with every failure); `TRADETERM_FUZZ_SCALE`
multiplies the number of cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tradeterm.cli import main
from tradeterm.clock import SimClock
from tradeterm.config.files import nesting_problem
from tradeterm.control import Control
from tradeterm.daemon import ControlCommands
from tradeterm.ipc import MAX_DEPTH, ControlServer
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage.db import Storage
from tradeterm.testing.node_kit import busy_config

from .fuzz_kit import (
    CHANGE_COMMANDS,
    DEFAULT_TOML,
    ConfigCase,
    cli_cases,
    config_cases,
    control_payloads,
    data_cases,
    hostile_config_files,
)

SEED = int(os.environ.get("TRADETERM_FUZZ_SEED", "20240611"))
SCALE = float(os.environ.get("TRADETERM_FUZZ_SCALE", "1"))
CONFIG_CASES = max(300, int(330 * SCALE))
CLI_CASES = int(200 * SCALE)
DATA_CASES = int(60 * SCALE)
CONTROL_CASES = int(120 * SCALE)
RUNS = 4
"""Accepted configs started for real (each a `run --no-ui` process of a few seconds)."""
START_MS = 1_763_726_400_000

# a problem line starts with what it is about: a TOML path (`risk.max_drawdown: ...`,
# `control.socket = '...'`), a file or an option (argparse names it after "error:")
PROBLEM_LINE = re.compile(
    r"^(?:--|/|\S+?: |\S+ = |\S+\.\.\. \([\d,]+ characters\)\S*: "
    r"|tradeterm[\w -]*: error: |no tradeterm daemon is running \()"
)


# ---- the sandbox -----------------------------------------------------------------------------
Snapshot = dict[str, tuple[str, int, int]]


def snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> Snapshot:
    """Every file and folder under `root`: (type, size, mtime_ns)."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir.startswith(skip):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = os.path.relpath(path, root)
            if rel.startswith(skip):
                continue
            info = path.lstat()
            kind = "dir" if path.is_dir() and not path.is_symlink() else "file"
            out[rel] = (kind, 0 if kind == "dir" else info.st_size, info.st_mtime_ns)
    return out


class Sandbox:
    """tmp/work is the working folder (config, state/), tmp/outside holds files nothing may
    touch, tmp/cases the generated inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = root / "work"
        self.state = self.work / "state"
        self.outside = root / "outside"
        self.cases = root / "cases"
        for folder in (self.work, self.outside, self.cases):
            folder.mkdir()
        self.config = self.work / "config.toml"
        self.config.write_text(DEFAULT_TOML.read_text(encoding="utf-8"), encoding="utf-8")
        Storage(self.state / "paper.db").close()  # a state folder that already holds state
        (self.state / "keep.txt").write_text("a file the user put here")
        for name in ("canary.txt", "canary.db", "x.sock", "outside.sock"):
            (self.outside / name).write_text(f"canary {name}")
        (self.work / "outside.sock").write_text("canary next to the config")
        self.state_files = sorted(p.name for p in self.state.iterdir())

    def outside_state(self) -> Snapshot:
        return snapshot(self.root, skip=("work/state", "cases"))

    def assert_state_kept(self) -> None:
        present = {p.name for p in self.state.iterdir()}
        assert set(self.state_files) <= present, (
            f"state files deleted: {set(self.state_files) - present}"
        )


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    monkeypatch.chdir(box.work)
    monkeypatch.delenv("TRADETERM_CONFIG", raising=False)
    yield box


def call(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_failure(where: str, code: int, err: str) -> list[str]:
    assert "internal error" not in err, f"{where}: {err[-800:]}"
    assert "Traceback" not in err, f"{where}: {err[-800:]}"
    lines = err.splitlines()
    if code == 2:
        assert lines, f"{where}: exit 2 without a message"
        for line in lines:
            assert len(line) <= 500, f"{where}: a {len(line)}-character line"
            assert PROBLEM_LINE.match(line), f"{where}: {line!r} names no key, option or file"
    return lines


# ---- configs ---------------------------------------------------------------------------------
def write_case(box: Sandbox, i: int, case: ConfigCase) -> Path:
    if case.raw is not None:
        path = box.cases / f"case{i}.toml"
        path.write_bytes(case.raw)
        return path
    if case.document is not None:
        path = box.cases / f"case{i}.toml"
        path.write_text(tomli_w.dumps(case.document), encoding="utf-8")
        return path
    return box.config


@pytest.mark.timeout(900)
def test_fuzz_configs(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    cases = config_cases(rng, CONFIG_CASES)
    assert len(cases) >= 300
    before = sandbox.outside_state()
    state_before = snapshot(sandbox.state)
    accepted: list[Path] = []
    outcomes = {0: 0, 2: 0}
    for i, case in enumerate(cases):
        where = f"seed {SEED} case {i} ({case.name})"
        path = write_case(sandbox, i, case)
        argv = ["validate-config", str(path), *[a for o in case.overrides for a in ("--set", o)]]
        code, out, err = call(capsys, argv)
        assert code in (0, 2), f"{where}: exit {code}: {err[-500:]}"
        outcomes[code] += 1
        lines = assert_clean_failure(where, code, err)
        if case.expect == "invalid":
            assert code == 2, f"{where}: accepted"
            assert any(line.startswith(case.names) for line in lines), f"{where}: {lines}"
        if case.expect == "valid":
            assert code == 0, f"{where}: {lines}"
        if case.secret:
            assert case.secret not in out + err, f"{where}: the secret was echoed"
        if code == 0 and (case.document is not None or case.overrides):
            accepted.append(path if not case.overrides else _with_overrides(sandbox, i, case))
    # validate-config reads; it never writes anything, anywhere
    assert sandbox.outside_state() == before
    assert snapshot(sandbox.state) == state_before
    assert outcomes[0] >= 10 and outcomes[2] >= 200, outcomes
    for path, what in hostile_config_files(sandbox.cases):
        code, _out, err = call(capsys, ["validate-config", str(path)])
        assert code == 2 and what in err and err.count("\n") == 1, (path, err)
    _run_some(sandbox, random.Random(SEED + 1), accepted)


def _with_overrides(box: Sandbox, i: int, case: ConfigCase) -> Path:
    """The accepted `--set` case as a file of its own (so `run` can be pointed at it)."""
    from tradeterm.config.loader import apply_overrides, read_toml

    doc = apply_overrides(read_toml(box.config), case.overrides)
    path = box.cases / f"case{i}-set.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


HEAVY = ("history_minutes", "window_bars", "warmup_bars", "speed", "latency_ms")


def _run_some(box: Sandbox, rng: random.Random, accepted: list[Path]) -> None:
    """Start a few accepted configs for real: each must run and stop cleanly, touch nothing
    outside its state folder (`storage.state_dir`, normally work/state) and delete nothing in
    it. The one other file it may write is the `telemetry.log_file` the config names."""
    runnable = [p for p in accepted if _inside(box, _state_dir(box, p))]
    chosen = rng.sample(runnable, min(RUNS, len(runnable)))
    before = box.outside_state()
    allowed: set[str] = set()
    for path in chosen:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
        state = _state_dir(box, path)
        if state != box.state.resolve():
            allowed |= {os.path.relpath(state, box.root), os.path.relpath(state.parent, box.root)}
        if any(_deep_get(doc, h) for h in HEAVY):
            doc = _lighten(doc)  # a valid hour of history is not what this test is about
        doc.setdefault("marketdata", {})["store_candles"] = False
        doc.setdefault("venues", {}).setdefault("sim", {})["history_minutes"] = 60
        doc["venues"]["sim"]["speed"] = 1.0
        doc["marketdata"]["warmup_bars"] = 100
        doc["marketdata"]["window_bars"] = 200
        log_file = doc.get("telemetry", {}).get("log_file", "")
        if log_file:
            target = (box.work / log_file).resolve()
            if box.root in target.parents:
                allowed |= {
                    os.path.relpath(target, box.root),
                    os.path.relpath(target.parent, box.root),
                }
        run_cfg = path.with_name(path.stem + "-run.toml")
        run_cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
        res = subprocess.run(
            [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--duration", "2",
             "--config", str(run_cfg)],
            cwd=box.work, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        where = f"seed {SEED} run of {path.name}"
        assert res.returncode == 0, f"{where}: exit {res.returncode}: {res.stderr[-1500:]}"
        assert "internal error" not in res.stderr and "Traceback" not in res.stderr, where
        box.assert_state_kept()
    after = box.outside_state()
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    stray = {k for k in changed - allowed if not any(k.startswith(a + os.sep) for a in allowed)}
    assert not stray, f"files outside the state folder changed: {sorted(stray)}"


def _state_dir(box: Sandbox, config: Path) -> Path:
    doc = tomllib.loads(config.read_text(encoding="utf-8"))
    return (box.work / doc.get("storage", {}).get("state_dir", "state")).resolve()


def _inside(box: Sandbox, path: Path) -> bool:
    return box.root.resolve() in path.parents


def _deep_get(doc: dict[str, Any], key: str) -> bool:
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if key in node:
                return True
            stack.extend(node.values())
    return False


def _lighten(doc: dict[str, Any]) -> dict[str, Any]:
    venues = doc.get("venues", {})
    for venue in venues.values() if isinstance(venues, dict) else ():
        if isinstance(venue, dict):
            venue.pop("history_minutes", None)
            venue.pop("speed", None)
            if isinstance(venue.get("fill_model"), dict):
                venue["fill_model"].pop("latency_ms", None)
    return doc


# ---- CLI arguments ----------------------------------------------------------------------------
@pytest.mark.timeout(600)
def test_fuzz_cli_arguments(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED + 2)
    data = sandbox.cases / "bars.csv"
    data.write_text(
        "ts,open,high,low,close,volume\n"
        + "".join(f"{1_708_592_100_000 + i * 300_000},10,11,9,10.5,1\n" for i in range(5))
    )
    before = sandbox.outside_state()
    cases = cli_cases(rng, sandbox.config, data, CLI_CASES)
    for i, case in enumerate(cases):
        where = f"seed {SEED} cli case {i}: {[a[:40] for a in case.argv]}"
        code, _out, err = call(capsys, case.argv)
        assert code in case.codes, f"{where}: exit {code}: {err[-300:]}"
        lines = assert_clean_failure(where, code, err)
        if case.expect == "user_error":
            assert code == 2, f"{where}: exit {code}"
            assert len(lines) == 1, f"{where}: {lines}"
            assert case.names in lines[0], f"{where}: {lines}"
    after = sandbox.outside_state()
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, sorted(changed)
    sandbox.assert_state_kept()


# ---- candle files -------------------------------------------------------------------------------
@pytest.mark.timeout(600)
def test_fuzz_data_files(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED + 3)
    before = sandbox.outside_state()
    for i, case in enumerate(data_cases(rng, DATA_CASES)):
        path = sandbox.cases / f"data{i}{case.suffix}"
        path.write_bytes(case.content)
        where = f"seed {SEED} data case {i} ({case.name})"
        code, _out, err = call(
            capsys,
            ["data", "import", str(path), "--venue", "sim", "--symbol", "R_100",
             "--timeframe", "5m", "--config", str(sandbox.config)],
        )  # fmt: skip
        assert code in (0, 2), f"{where}: exit {code}: {err[-300:]}"
        lines = assert_clean_failure(where, code, err)
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith(str(path)), f"{where}: {lines}"
        if case.expect == "valid":
            assert code == 0, f"{where}: {lines}"
        if case.expect == "invalid":
            assert code == 2, f"{where}: accepted"
    code, out, err = call(capsys, ["data", "check", "--json", "--config", str(sandbox.config)])
    assert code in (0, 1) and not json.loads(out)["series"][0]["unreadable"], err
    after = sandbox.outside_state()
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, sorted(changed)
    sandbox.assert_state_kept()


# ---- control payloads --------------------------------------------------------------------------
@pytest.fixture()
async def control_server(tmp_path: Path) -> AsyncIterator[tuple[Path, Path]]:
    state = tmp_path / "state"
    node = build_node(
        busy_config(state, confirm="always"),
        SimClock(START_MS),
        NodeOptions(metrics_server=False),
    )
    control = Control(node)
    await node.start()
    server = ControlServer(state / "tradeterm.sock", ControlCommands(control).table())
    await server.start()
    try:
        yield state / "tradeterm.sock", state / "paper.db"
    finally:
        await server.stop()
        await node.stop()


def _audited(raw: bytes) -> bool:
    """Whether the server must write an audit row for this request line."""
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    if nesting_problem(request, MAX_DEPTH) is not None or not isinstance(request, dict):
        return False
    return isinstance(request.get("cmd"), str) and request["cmd"] in CHANGE_COMMANDS


@pytest.mark.timeout(600)
async def test_fuzz_control_payloads(control_server: tuple[Path, Path]) -> None:
    import sqlite3

    path, db = control_server
    payloads = control_payloads(random.Random(SEED + 4), CONTROL_CASES)
    expected_audits = 0
    for i, raw in enumerate(payloads):
        where = f"seed {SEED} control payload {i}: {raw[:80]!r}"
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 22)
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=60)
        writer.close()
        assert line.endswith(b"\n"), f"{where}: no reply"
        reply = json.loads(line)
        assert isinstance(reply.get("ok"), bool), where
        if not reply["ok"]:
            assert reply["kind"] in ("bad_request", "refused"), f"{where}: {reply}"
            assert "\n" not in reply["error"] and len(reply["error"]) <= 300, where
        expected_audits += _audited(raw)
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert rows == expected_audits
    assert expected_audits >= 40
