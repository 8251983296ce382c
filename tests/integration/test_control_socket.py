"""Issue 9 defect 5 and issue 8 item 9: the control socket answers every request with one JSON
line, validates every argument against the command's schema before anything runs, audits every
change request whatever becomes of it, and writes the audit row before the action.

A real node (sim venue, SimClock) behind the real ControlServer on a unix socket in tmp; requests
are raw bytes from a real socket client, as any local process could send them."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.control_args import COMMAND_ARGS
from tradeterm.daemon import ControlCommands
from tradeterm.domain import events as ev
from tradeterm.domain.enums import Domain, TradingState
from tradeterm.errors import ControlError, UserError
from tradeterm.ipc import MAX_LINE, ControlServer, call
from tradeterm.node import Node, NodeOptions, build_node
from tradeterm.testing.node_kit import advance, busy_config

START_MS = 1_763_726_400_000  # 2025-11-21 12:00 UTC


class Served:
    def __init__(self, node: Node, server: ControlServer, path: Path) -> None:
        self.node = node
        self.server = server
        self.path = path

    async def send(self, raw: bytes, *, replies: int = 1) -> list[dict[str, Any]]:
        """Send raw bytes; read `replies` JSON lines (or until the server closes)."""
        reader, writer = await asyncio.open_unix_connection(str(self.path), limit=1 << 22)
        writer.write(raw)
        await writer.drain()
        out: list[dict[str, Any]] = []
        try:
            while len(out) < replies:
                line = await asyncio.wait_for(reader.readline(), timeout=30)
                if not line:
                    break
                out.append(json.loads(line))
        finally:
            writer.close()
        return out

    async def ask(self, cmd: Any, args: Any = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"cmd": cmd}
        if args is not None:
            payload["args"] = args
        (reply,) = await self.send((json.dumps(payload) + "\n").encode())
        return reply

    def audit(self) -> list[tuple[str, int, str, dict[str, Any]]]:
        conn = sqlite3.connect(self.node.state_dir / "paper.db")
        try:
            rows = conn.execute("SELECT action, ok, data FROM audit ORDER BY rowid").fetchall()
        finally:
            conn.close()
        return [(a, ok, json.loads(d)["result"], json.loads(d)["args"]) for a, ok, d in rows]


@pytest.fixture()
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = SimClock(START_MS)
    state = tmp_path / "state"
    node = build_node(
        busy_config(state, confirm="always"),
        clock,
        NodeOptions(metrics_server=False, paper_only=True),
    )
    control = Control(node)
    await node.start()
    path = state / "tradeterm.sock"
    server = ControlServer(path, ControlCommands(control).table())
    await server.start()
    try:
        yield Served(node, server, path)
    finally:
        await server.stop()
        await node.stop()


def test_every_served_command_has_an_argument_schema() -> None:
    table = ControlCommands.__dict__
    for name in COMMAND_ARGS:
        assert callable(table.get(name)), f"{name} has a schema but no handler"
    handlers = {n for n, v in table.items() if callable(v) and not n.startswith("_")}
    assert handlers - {"table"} == set(COMMAND_ARGS), "a handler without a schema"


async def test_malformed_requests_each_get_one_json_reply(served: Served) -> None:
    cases: list[tuple[bytes, str]] = [
        (b"not json\n", "bad request: not JSON"),
        (b"[1, 2, 3]\n", 'bad request: expected {"cmd": "name"'),
        (b'{"cmd": 5}\n', 'bad request: expected {"cmd": "name"'),
        (b'{"args": {}}\n', 'bad request: expected {"cmd": "name"'),
        (b"\xff\xfe\n", "bad request: not JSON"),
        (b'{"cmd": "' + b"x" * 20_000 + b'"}\n', "unknown command 'xxxxxxxx"),
        (b"[" * 30_000 + b"]" * 30_000 + b"\n", "bad request: JSON nested too deeply"),
        (b'{"cmd": "status", "args": ' + b"[" * 20 + b"]" * 20 + b"}\n", "nested deeper than"),
        (b'{"cmd": "status", "args": [1]}\n', "status: args must be a JSON object"),
        (b'{"cmd": "status", "args": {"x": 1}}\n', "x: unknown argument"),
    ]
    for raw, expected in cases:
        (reply,) = await served.send(raw)
        assert reply["ok"] is False and reply["kind"] == "bad_request", (raw[:40], reply)
        assert reply["error"].startswith(expected) or expected in reply["error"], reply
        assert len(reply["error"]) <= 300
    # the server is still fine
    assert (await served.ask("status"))["ok"] is True


async def test_a_line_over_the_limit_gets_a_reply_and_the_connection_closes(
    served: Served,
) -> None:
    raw = b'{"cmd": "status", "pad": "' + b"p" * (MAX_LINE + 10) + b'"}\n{"cmd": "status"}\n'
    replies = await served.send(raw, replies=2)
    assert replies == [
        {"ok": False, "error": f"bad request: a line over {MAX_LINE} bytes", "kind": "bad_request"}
    ]
    assert (await served.ask("status"))["ok"] is True


async def test_wrongly_typed_arguments_change_nothing_and_are_audited(served: Served) -> None:
    node = served.node
    learning = node.allocator.learning
    before_forex = node.rollout.domain_enabled(Domain.FOREX)
    refused = [
        ("toggle_domain", {"domain": "forex", "enabled": "false"}),
        ("toggle_domain", {"domain": "forex", "enabled": "true"}),
        ("toggle_domain", {"domain": "nope", "enabled": True}),
        ("set_learning", {"enabled": "off"}),
        ("set_learning", {"enabled": 0}),
        ("set_exploration", {"rate": "0.5"}),
        ("set_exploration", {"rate": 1e309}),
        ("set_exploration", {"rate": 7}),
        ("set_stage", {"index": "2"}),
        ("set_stage", {"index": 2.5}),
        ("approve", {"id": 5}),
        ("approve", {"id": "x" * 5000}),
        ("approve", {}),
        ("reject", {"id": "c1", "reason": None}),
        ("promote", {"force": "yes"}),
        ("pause", {"now": True}),
    ]
    for cmd, args in refused:
        reply = await served.ask(cmd, args)
        assert reply["ok"] is False and reply["kind"] == "bad_request", (cmd, args, reply)
        assert "internal error" not in reply["error"]
    assert node.allocator.learning == learning
    assert node.rollout.domain_enabled(Domain.FOREX) == before_forex
    assert node.rollout.index == 1
    audit = served.audit()
    assert [a for a, *_ in audit] == [cmd for cmd, _ in refused]
    assert all(ok == 0 and "bad arguments" in result for _, ok, result, _ in audit)
    assert audit[0][3] == {"domain": "forex", "enabled": "false"}  # the text as it came
    assert audit[-1][3] == {"now": True}  # types kept


async def test_unknown_ids_and_stages_are_bad_input_and_audited(served: Served) -> None:
    reply = await served.ask("approve", {"id": "zzz"})
    assert reply == {
        "ok": False,
        "error": "no confirmation 'zzz' (ids as `tradeterm status` shows them)",
        "kind": "bad_request",
    }
    reply = await served.ask("set_stage", {"index": 9})
    assert reply["kind"] == "bad_request" and reply["error"] == "no stage 9: stages are 1..5"
    reply = await served.ask("toggle_domain", {"domain": "crypto_spot", "enabled": True})
    assert reply["kind"] == "refused" and "crypto_spot is unavailable" in reply["error"]
    audit = served.audit()
    assert [(a, ok) for a, ok, *_ in audit] == [
        ("approve", 0),
        ("set_stage", 0),
        ("toggle_domain", 0),
    ]
    assert audit[1][3] == {"index": 9, "reason": "", "force": False}  # an int stays an int


async def test_good_requests_work_and_every_change_is_audited_once(served: Served) -> None:
    assert (await served.ask("status"))["ok"]
    assert (await served.ask("gates"))["ok"]
    assert (await served.ask("set_learning", {"enabled": False}))["ok"]
    assert served.node.allocator.learning is False
    assert (await served.ask("toggle_domain", {"domain": "forex", "enabled": False}))["ok"]
    assert (await served.ask("pause"))["ok"]
    assert (await served.ask("resume", {}))["ok"]
    assert (await served.ask("set_exploration", {"rate": 0.3}))["result"] == pytest.approx(0.3)
    audit = served.audit()
    assert [(a, ok) for a, ok, *_ in audit] == [
        ("set_learning", 1),
        ("toggle_domain", 1),
        ("pause", 1),
        ("resume", 1),
        ("set_exploration", 1),
    ]
    assert audit[0][3] == {"enabled": False} and audit[4][3] == {"rate": 0.3}


async def test_the_audit_row_is_written_before_the_action(served: Served) -> None:
    """While the stage change is being announced (inside the action), the journal already holds
    the request; afterwards the same row holds the outcome."""
    seen: list[tuple[str, str]] = []

    def during(_topic: str, _msg: Any) -> None:
        for action, _ok, result, _args in served.audit():
            seen.append((action, result))

    served.node.bus.subscribe(ev.STAGE, during, inline=True, name="test.audit-before")
    args = {"index": 3, "reason": "test", "force": True}  # forward past unmet gates: FORCE
    reply = await served.ask("set_stage", args)
    assert reply["ok"], reply
    assert ("set_stage", "requested") in seen
    assert served.audit() == [("set_stage", 1, "stage 1 -> 3 (perps-forex-paper)", args)]


async def test_an_approval_the_recheck_rejects_is_audited_as_not_ok(served: Served) -> None:
    node = served.node
    clock = node.clock
    assert isinstance(clock, SimClock)
    for _ in range(120):
        await advance(clock, 2)
        if node.execution.pending():
            break
    conf = node.execution.pending()[0]
    # the price has not moved, but trading paused meanwhile: the re-check denies the entry
    await node.risk.change_state(TradingState.REDUCING, "paused meanwhile", "test")
    reply = await served.ask("approve", {"id": conf.id})
    assert reply["ok"] is True and reply["result"]["status"] == "rejected"
    action, ok, result, args = served.audit()[-1]
    assert (action, ok, args) == ("approve", 0, {"id": conf.id})
    assert "rejected" in result


async def test_control_actions_log_no_logrecord_errors(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tradeterm"):
        await served.ask("pause")
        await served.ask("toggle_domain", {"domain": "forex", "enabled": "false"})
        await served.node.bus.drain()
    text = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "Attempt to overwrite" not in text and "KeyError" not in text
    audits = [r for r in caplog.records if getattr(r, "event", "") == ev.AUDIT]
    assert [getattr(r, "action_args", None) for r in audits] == [
        {},
        {"domain": "forex", "enabled": "false"},
    ]


async def test_a_stale_socket_is_replaced_but_a_file_never(tmp_path: Path) -> None:
    path = tmp_path / "tradeterm.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a socket file nobody listens on
    server = ControlServer(path, {})
    await server.start()
    await server.stop()
    assert not path.exists()

    path.write_text("precious")
    server = ControlServer(path, {})
    with pytest.raises(UserError, match="is a file, not a control socket; tradeterm never deletes"):
        await server.start()
    await server.stop()  # a server that never bound removes nothing
    assert path.read_text() == "precious"
    path.unlink()
    path.mkdir()
    with pytest.raises(UserError, match="is a folder, not a control socket"):
        await ControlServer(path, {}).start()
    assert path.is_dir()


def test_a_full_accept_queue_is_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "busy.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)  # never accepts
    waiting: list[socket.socket] = []
    try:
        while True:  # fill the accept queue
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            try:
                client.connect(str(path))
            except BlockingIOError:
                client.close()
                break
            waiting.append(client)
            assert len(waiting) < 1000
        with pytest.raises(ControlError, match="too busy to answer"):
            call(path, "status", timeout=0.5)
    finally:
        for client in waiting:
            client.close()
        listener.close()
