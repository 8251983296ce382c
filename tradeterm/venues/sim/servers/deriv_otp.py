"""The New API's REST one-time-password call, for the Deriv simulator's "new" dialect.

`POST /trading/v1/options/accounts/{account}/otp` with `Authorization: Bearer <token>` answers
`{"data": {"url": "<ws url>?otp=<one-time password>"}}`; a missing or refused token gets 401 with
the New API's error shape. Each password opens one connection once (the simulator checks).
A deliberately small HTTP/1.1 responder on asyncio streams: one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Callable

OTP_PATH = re.compile(r"^/trading/v1/options/accounts/([A-Za-z0-9_-]+)/otp$")


class OtpService:
    """Issues single-use passwords for `ws_url`; `take(otp)` spends one."""

    def __init__(self, ws_url: Callable[[], str], *, refuse_tokens: bool = False) -> None:
        self._ws_url = ws_url
        self.refuse_tokens = refuse_tokens
        self.issued: set[str] = set()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def take(self, otp: str) -> bool:
        """True once for each issued password."""
        if otp in self.issued:
            self.issued.discard(otp)
            return True
        return False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
            }
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(min(length, 65536))
            status, body = self._answer(method, path, headers.get("authorization", ""))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            status, body = 400, _error(400, "BadRequest", "malformed request")
        data = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    def _answer(self, method: str, path: str, auth: str) -> tuple[int, dict[str, object]]:
        if method != "POST" or not OTP_PATH.match(path):
            return 404, _error(404, "NotFound", f"no route {method} {path}")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token or self.refuse_tokens:
            return 401, _error(401, "Unauthorized", "invalid or missing bearer token")
        otp = uuid.uuid4().hex
        self.issued.add(otp)
        return 200, {"data": {"url": f"{self._ws_url()}?otp={otp}"}}


def _error(status: int, code: str, message: str) -> dict[str, object]:
    return {"errors": [{"status": status, "code": code, "message": message}], "meta": {}}
