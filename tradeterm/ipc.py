"""The local control socket: `tradeterm status|flatten|approve|reject|pause|resume` talk to a running
daemon over a unix socket created with mode 0600 (owner only).

Protocol: one JSON object per line. Request `{"cmd": "approve", "args": {"id": "c1a2b3"}}`;
reply `{"ok": true, "result": ...}` or `{"ok": false, "error": "one clear line", "kind": K}` where
K is `bad_request` (the client sent something wrong: the CLI exits 2), `refused` (the node said
no: exit 1) or `internal`. The server maps commands onto the Control facade, so the socket cannot
do anything the console cannot.

Every request gets exactly one JSON reply, whatever it was: a line over `MAX_LINE` bytes, JSON
nested too deeply, not an object, an unknown command or arguments of the wrong type all get
`ok: false` with a one-line reason (a line too long also closes the connection, as the stream
cannot be resynchronised). Only a stale socket (no listener) is ever unlinked, never a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tradeterm.config.files import clip, nesting_problem
from tradeterm.errors import ControlError, TradetermError, UserError

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
"""Longest request line (a control request is a few hundred bytes)."""
MAX_DEPTH = 8
"""Deepest JSON nesting in a request (the real ones are 2 levels deep)."""
BACKLOG = 128
"""Connections queued before accept; the client retries while the queue is full."""
CommandHandler = Callable[[Any], Awaitable[Any]]

BAD_REQUEST = "bad_request"
REFUSED = "refused"
INTERNAL = "internal"


def _error(text: str, kind: str) -> dict[str, Any]:
    # 270 + the "... (N characters)" tail stays within 300 (a long list of known commands)
    return {"ok": False, "error": clip(text, 270), "kind": kind}


class ControlServer:
    """Serves control commands on a unix socket until stopped."""

    def __init__(self, path: str | Path, commands: dict[str, CommandHandler]) -> None:
        self.path = Path(path)
        self.commands = commands
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None

    def preflight(self) -> None:
        """Refuse, before the node starts, what would stop the socket from binding: a path too
        long, a live daemon on it, or something that is not a socket where it goes."""
        if len(str(self.path).encode()) > 100:
            raise UserError(
                f"control.socket: path too long for a unix socket ({len(str(self.path))} > 100):"
                f" {clip(str(self.path), 120)}"
            )
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UserError(f"{self.path}: cannot inspect ({exc.strerror or exc})") from None
        if not stat.S_ISSOCK(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a file"
            raise UserError(
                f"{self.path}: is {what}, not a control socket; tradeterm never deletes it: move "
                "it away or set control.socket to another name"
            )
        if _daemon_alive(self.path):
            raise UserError(
                f"{self.path}: another tradeterm is already running on this state folder"
            )

    async def start(self) -> None:
        self.preflight()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():  # a stale socket (preflight checked it is one, and dead)
                self.path.unlink()
        except OSError as exc:
            raise UserError(
                f"{self.path}: cannot prepare the control socket ({exc.strerror})"
            ) from None
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_LINE, backlog=BACKLOG
            )
        except OSError as exc:
            raise UserError(f"{self.path}: cannot listen ({exc.strerror or exc})") from None
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._inode = self.path.lstat().st_ino

    async def stop(self) -> None:
        """Stop serving and remove the socket this server bound (and only that one: a refused
        or never-started server leaves whatever is at the path alone)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        inode, self._inode = self._inode, None
        if inode is None:
            return
        with contextlib.suppress(OSError):
            info = self.path.lstat()
            if stat.S_ISSOCK(info.st_mode) and info.st_ino == inode:
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    reply = _error(f"bad request: a line over {MAX_LINE} bytes", BAD_REQUEST)
                    writer.write((json.dumps(reply) + "\n").encode())
                    await writer.drain()
                    break
                if not line:
                    break
                reply = await self._handle(line)
                writer.write((json.dumps(reply, default=str) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except RecursionError:
            return _error("bad request: JSON nested too deeply", BAD_REQUEST)
        except ValueError:
            return _error(
                'bad request: not JSON; expected {"cmd": ..., "args": {...}}', BAD_REQUEST
            )
        if nesting_problem(request, MAX_DEPTH) is not None:
            return _error(f"bad request: nested deeper than {MAX_DEPTH} levels", BAD_REQUEST)
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            return _error('bad request: expected {"cmd": "name", "args": {...}}', BAD_REQUEST)
        cmd = request["cmd"]
        handler = self.commands.get(cmd)
        if handler is None:
            known = ", ".join(sorted(self.commands))
            return _error(f"unknown command '{clip(cmd)}' (known: {known})", BAD_REQUEST)
        try:
            return {"ok": True, "result": await handler(request.get("args"))}
        except UserError as exc:
            return _error(str(exc), BAD_REQUEST)
        except ControlError as exc:
            return _error(str(exc), REFUSED)
        except TradetermError as exc:
            return _error(f"{type(exc).__name__}: {exc}", REFUSED)
        except Exception as exc:
            log.exception("control command %s failed", cmd)
            return _error(f"internal error: {type(exc).__name__}: {exc}", INTERNAL)


def _daemon_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _connect(sock: socket.socket, path: Path, timeout: float) -> None:
    """Connect, retrying while the daemon's accept queue is full (EAGAIN) until `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            sock.connect(str(path))
            return
        except (FileNotFoundError, ConnectionRefusedError):
            raise UserError(
                f"no tradeterm daemon is running ({path} not listening); start one with "
                "`tradeterm run --no-ui`"
            ) from None
        except PermissionError:
            raise UserError(
                f"{path}: permission denied (the control socket belongs to another user)"
            ) from None
        except (BlockingIOError, InterruptedError):
            if time.monotonic() >= deadline:
                raise ControlError(
                    f"the daemon is too busy to answer ({path}: connection queue full); try again"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        except OSError as exc:
            raise UserError(f"{path}: cannot connect ({exc.strerror or exc})") from None


def call(
    path: str | Path, cmd: str, args: dict[str, Any] | None = None, *, timeout: float = 30.0
) -> Any:
    """Send one command to a running daemon and return its result (blocking; for the CLI).

    UserError when no daemon is listening or the daemon found the request bad (an unknown id, a
    stage that does not exist: exit 2); ControlError with the daemon's message when it refused.
    """
    p = Path(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        _connect(sock, p, timeout)
        try:
            sock.sendall((json.dumps({"cmd": cmd, "args": args or {}}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise ControlError(f"the daemon did not answer within {timeout:g} s") from None
        except OSError as exc:
            raise ControlError(
                f"the connection to the daemon failed ({exc.strerror or exc})"
            ) from None
    if not data:
        raise ControlError("the daemon closed the connection without answering")
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError("the daemon sent an answer that is not JSON") from None
    if not isinstance(reply, dict):
        raise ControlError("the daemon sent an answer that is not a JSON object")
    if not reply.get("ok"):
        text = str(reply.get("error", "refused"))
        if reply.get("kind") == BAD_REQUEST:
            raise UserError(text)
        raise ControlError(text)
    return reply.get("result")
