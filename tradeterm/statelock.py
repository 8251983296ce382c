"""One node per state folder: an exclusive advisory lock on state/tradeterm.lock.

Two processes trading from the same databases would double every order; the second one to start
gets a clear refusal instead. The lock dies with the process (even on SIGKILL).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from tradeterm.errors import UserError


class StateLock:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / "tradeterm.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(
                f"{self.path.parent}: already in use by tradeterm (pid {holder}); "
                "stop it first or use another storage.state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
