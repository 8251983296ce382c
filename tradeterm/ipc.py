"""The local control socket: `tradeterm status|flatten|approve|reject|pause|resume` talk to a running
daemon over a unix socket created with mode 0600 (owner only).

Protocol: one JSON object per line. Request `{"cmd": "approve", "args": {"id": "c1a2b3"}}`;
reply `{"ok": true, "result": ...}` or `{"ok": false, "error": "one clear line"}`. The server maps
commands onto the Control facade, so the socket cannot do anything the console cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tradeterm.errors import ControlError, TradetermError, UserError

log = logging.getLogger(__name__)

MAX_LINE = 1 << 20
CommandHandler = Callable[[dict[str, Any]], Awaitable[Any]]


class ControlServer:
    """Serves control commands on a unix socket until stopped."""

    def __init__(self, path: str | Path, commands: dict[str, CommandHandler]) -> None:
        self.path = Path(path)
        self.commands = commands
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if len(str(self.path)) > 100:
            raise UserError(
                f"control.socket: path too long for a unix socket ({len(str(self.path))} > 100): {self.path}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            if _daemon_alive(self.path):
                raise UserError(
                    f"{self.path}: another tradeterm is already running on this state folder"
                )
            self.path.unlink()
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_LINE
            )
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
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
            cmd = str(request["cmd"])
            args = request.get("args") or {}
        except (ValueError, KeyError, TypeError):
            return {"ok": False, "error": 'bad request: expected {"cmd": ..., "args": {...}}'}
        handler = self.commands.get(cmd)
        if handler is None:
            return {
                "ok": False,
                "error": f"unknown command '{cmd}' (known: {', '.join(sorted(self.commands))})",
            }
        try:
            return {"ok": True, "result": await handler(args)}
        except (ControlError, UserError) as exc:
            return {"ok": False, "error": str(exc)}
        except TradetermError as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:
            log.exception("control command %s failed", cmd)
            return {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}


def _daemon_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def call(
    path: str | Path, cmd: str, args: dict[str, Any] | None = None, *, timeout: float = 30.0
) -> Any:
    """Send one command to a running daemon and return its result (blocking; for the CLI).

    UserError when no daemon is listening; ControlError with the daemon's message when it refused.
    """
    p = Path(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(p))
        except (FileNotFoundError, ConnectionRefusedError):
            raise UserError(
                f"no tradeterm daemon is running ({p} not listening); start one with `tradeterm run --no-ui`"
            ) from None
        except PermissionError:
            raise UserError(
                f"{p}: permission denied (the control socket belongs to another user)"
            ) from None
        sock.sendall((json.dumps({"cmd": cmd, "args": args or {}}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        raise ControlError("the daemon closed the connection without answering")
    reply = json.loads(data)
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "refused")))
    return reply.get("result")
