"""A job of the console run in its own process: the common part of the backtest lab's `LabJob`
and the calibration lab's `CalibrationJob`.

    job = SomeJob(...)            # a subclass names its child entry point and log file
    job.start()                   # spawns `python -c "from <module> import child_main; ..."`
    for message in job.messages(timeout=0.2): ...   # pickled tuples; ("tick",) when idle
    job.cancel()

The child reads one pickled payload on stdin and writes pickled message tuples to its original
stdout (`child_channel` sets that up: anything the work prints goes to stderr, i.e. the log
file). A subprocess with pipes, not multiprocessing (which cannot spawn under Textual, whose
stderr has no file descriptor), not a thread: the numba work holds no console lock, a cancel
really stops it, and its CPU and memory are measured apart from the console's. A message whose
first item is "done" or "error" ends the job.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue as queue_mod
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

Send = Callable[..., None]


def child_channel() -> tuple[Any, Send, BinaryIO]:
    """In the child: (payload read from stdin, send(*message), stdin for later lines).

    The original stdout becomes the message pipe; fd 1 is pointed at stderr so prints and
    library chatter go to the job's log instead of corrupting the pickles."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    payload = pickle.load(stdin)

    def send(*message: Any) -> None:
        pickle.dump(message, out)
        out.flush()

    return payload, send, stdin


def failure_text(exc: BaseException) -> str:
    """One line for a child's failure: a user error's own words, else the exception's type too."""
    from tradeterm.errors import TradetermError

    return str(exc) if isinstance(exc, TradetermError) else f"{type(exc).__name__}: {exc}"


class ChildJob:
    """One piece of work in a child process; its messages are read by a thread into a queue.

    Subclasses set `CHILD_MODULE` (a module with `child_main()`), `LOG_NAME` (the child's stderr,
    in `state_dir`), `WHAT` (for the early-exit message) and implement `payload()`."""

    CHILD_MODULE: ClassVar[str] = ""
    LOG_NAME: ClassVar[str] = "child-job.log"
    WHAT: ClassVar[str] = "job"
    EARLY_EXIT: ClassVar[str] = "without a result"
    KEEP_STDIN: ClassVar[bool] = False
    """Keep the child's stdin open after the payload (for `send_line`)."""

    def __init__(self, *, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self._queue: queue_mod.Queue[tuple[Any, ...]] = queue_mod.Queue()
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.finished = False
        self.cancelled = False

    def payload(self) -> Any:
        """What the child's `child_main` reads from stdin."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.state_dir / self.LOG_NAME

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.started_at = time.monotonic()
        code = f"from {self.CHILD_MODULE} import child_main; child_main()"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, close_fds=True,
        )  # fmt: skip
        log.close()
        assert self._proc.stdin is not None
        self._proc.stdin.write(pickle.dumps(self.payload()))
        self._proc.stdin.flush()
        if not self.KEEP_STDIN:
            self._proc.stdin.close()
        name = f"{self.WHAT.replace(' ', '-')}-job-reader"
        threading.Thread(target=self._read, name=name, daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        while True:
            try:
                message = pickle.load(stream)
            except (EOFError, OSError, pickle.UnpicklingError):
                return
            self._queue.put(message)

    def send_line(self, line: bytes) -> None:
        """Write a line to the child's stdin (a held child waits for one)."""
        if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.write(line)
            self._proc.stdin.flush()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def messages(self, timeout: float = 0.2) -> Iterator[tuple[Any, ...]]:
        """Messages from the child until it is done (or gone); blocks up to `timeout` per poll
        and yields ("tick",) when nothing came, so a watcher can notice a cancel."""
        while not self.finished:
            try:
                message = self._queue.get(timeout=timeout)
            except queue_mod.Empty:
                if self.cancelled:
                    self.finished = True
                    return
                if self._proc is not None and self._proc.poll() is not None and self._queue.empty():
                    self.finished = True
                    code = self._proc.returncode
                    yield (
                        "error",
                        f"the {self.WHAT} process exited (code {code}) {self.EARLY_EXIT}",
                    )
                    return
                yield ("tick",)
                continue
            if message[0] in ("done", "error"):
                self.finished = True
            yield message

    def stop_child(self) -> None:
        """Terminate the child (kill it if it does not go within 5 s)."""
        self.cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
