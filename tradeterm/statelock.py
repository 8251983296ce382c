"""One node per state folder: an exclusive advisory lock on state/tradeterm.lock.

Two processes trading from the same databases would double every order; the second one to start
gets a clear refusal instead, before it has opened, created or written anything of the first
one's. The lock dies with the process (even on SIGKILL).

Taking the lock also makes the state folder private: the folder is created (or set) 0700 and the
files directly in it 0600, as balances, orders and the audit journal are nobody else's business
(new files are 0600 anyway: the CLI runs under umask 077).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from tradeterm.errors import UserError

STATE_DIR_MODE = 0o700
STATE_FILE_MODE = 0o600


def _fix(path: Path, what: str, exc: OSError) -> UserError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "make it writable or point storage.state_dir at a writable folder"
    elif exc.errno == errno.ENOSPC:
        hint = "free some disk space"
    else:
        hint = "check storage.state_dir"
    return UserError(f"{path}: cannot {what} ({reason}); {hint}")


def secure_state_dir(state_dir: Path) -> None:
    """Create the state folder 0700 (or tighten it) and make the files in it 0600. Only what
    this user owns is touched; nothing is created but the folder."""
    try:
        state_dir.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(
            f"{state_dir}: is a file, not a folder; point storage.state_dir at a folder"
        ) from None
    except OSError as exc:
        raise _fix(state_dir, "create the state folder", exc) from None
    uid = os.geteuid()
    with contextlib.suppress(OSError):
        info = state_dir.stat()
        if info.st_uid == uid and stat.S_IMODE(info.st_mode) != STATE_DIR_MODE:
            os.chmod(state_dir, STATE_DIR_MODE)
    with contextlib.suppress(OSError):
        for entry in os.scandir(state_dir):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_uid == uid and info.st_mode & 0o077:
                os.chmod(entry.path, stat.S_IMODE(info.st_mode) & STATE_FILE_MODE)


class StateLock:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / "tradeterm.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise UserError (another node runs here, or the folder is unusable:
        the message names the path and the fix)."""
        if self._fd is not None:
            return
        if self.path.is_dir():
            raise UserError(
                f"{self.path}: is a folder, but tradeterm keeps its lock file there; remove it"
            )
        try:
            self.path.parent.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, STATE_FILE_MODE)
        except OSError as exc:
            raise _fix(self.path, "open the lock file", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(
                f"{self.path.parent}: already in use by tradeterm (pid {holder}); "
                "stop it first or use another storage.state_dir"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise _fix(self.path, "write the lock file", exc) from None
        self._fd = fd
        secure_state_dir(self.path.parent)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
