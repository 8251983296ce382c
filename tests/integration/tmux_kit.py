"""Run a terminal program in a private tmux server and use it the way an operator does: read the
screen (capture-pane), press keys (send-keys), wait for what should appear.

Each `TmuxTerminal` starts its own tmux server on its own socket (`tmux -L <name>`), so tests never
touch the operator's tmux or each other; `close()` kills that server, also when a test fails.
The server runs with the status line off, so the program gets the whole `width` x `height`.

The program runs under a small `sh` that, once it ends, prints "[exited with status N]" and
sleeps, so the screen then shows the exit status as a shell would. (tmux 3.3 reports no exit
status of a multi-threaded program it runs directly: the process stays a zombie.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

TMUX_CONF = "set -g status off\nset -g history-limit 0\n"
WRAPPER = (
    'status=0; "$@" || status=$?; printf "\\n[exited with status %s]\\n" "$status"; exec sleep 3600'
)
"""Runs the program ("$@"), then shows its exit status and waits to be killed with the server."""
EXITED = re.compile(r"\[exited with status (\d+)\]")
WINDOW = "console"
SIZE_VARIABLES = ("COLUMNS", "LINES")
"""Terminal sizes in the environment win over the real one (shutil.get_terminal_size): GNU
readline, once loaded (pytest loads it through pdb), puts COLUMNS=80 LINES=24 into the C
environment, which os.environ does not show but every child would inherit."""
UNSET = [arg for name in SIZE_VARIABLES for arg in ("-u", name)]

T = TypeVar("T")


def tmux_path() -> str | None:
    """Where tmux is installed, or None (CI installs it through .ci/system-deps)."""
    return shutil.which("tmux")


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """Poll `probe` until it returns something truthy; on the deadline fail saying `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _clean_environment() -> dict[str, str]:
    """This process's environment without terminal sizes or an enclosing tmux (passed
    explicitly, so that variables set behind os.environ's back are not inherited)."""
    return {k: v for k, v in os.environ.items() if k not in (*SIZE_VARIABLES, "TMUX")}


class TmuxTerminal:
    """A terminal `width` columns by `height` rows in a private tmux server, running one program."""

    def __init__(self, workdir: Path, *, width: int = 80, height: int = 24) -> None:
        tmux = tmux_path()
        if tmux is None:
            raise RuntimeError("tmux is not installed")
        self.tmux_exe = tmux
        self.workdir = workdir
        self.width = width
        self.height = height
        self.socket = f"tradeterm-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = workdir / f"{self.socket}.conf"
        self.started = False
        self.socket_path: Path | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """Open the terminal running `argv` in `workdir`, with `env` added (the arguments are
        passed as they are: no shell word splitting or quoting)."""
        self.conf.write_text(TMUX_CONF, encoding="utf-8")
        assignments = [f"{key}={value}" for key, value in (env or {}).items()]
        self.started = True
        self.tmux(
            "-f", str(self.conf), "new-session", "-d", "-s", WINDOW,
            "-x", str(self.width), "-y", str(self.height), "-c", str(self.workdir),
            "sh", "-c", WRAPPER, "sh", "env", *UNSET, *assignments, *argv,
        )  # fmt: skip
        self.socket_path = Path(self.pane("#{socket_path}"))

    def close(self) -> None:
        """Kill this terminal's tmux server (and the program, if it still runs)."""
        if self.started:
            self.started = False
            subprocess.run(
                [self.tmux_exe, "-L", self.socket, "kill-server"],
                capture_output=True,
                timeout=10,
                env=_clean_environment(),
            )
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        self.conf.unlink(missing_ok=True)

    def __enter__(self) -> TmuxTerminal:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- talking to tmux -----------------------------------------------------------------------
    def tmux(self, *args: str) -> str:
        """Run one tmux command against this terminal's server; its output."""
        done = subprocess.run(
            [self.tmux_exe, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=_clean_environment(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])}: {done.stderr.strip()}")
        return done.stdout

    def pane(self, fmt: str) -> str:
        """A tmux format of the pane, e.g. '#{pane_pid}'."""
        return self.tmux("display-message", "-p", "-t", WINDOW, fmt).strip()

    def size(self) -> tuple[int, int]:
        """The pane's columns and rows as the program sees them."""
        width, height = self.pane("#{pane_width} #{pane_height}").split()
        return int(width), int(height)

    def pid(self, *, timeout: float = 10.0) -> int:
        """The program's process id (the child of the pane's shell, once the shell started it)."""
        shell = int(self.pane("#{pane_pid}"))
        children = Path(f"/proc/{shell}/task/{shell}/children")
        found = wait_until(
            lambda: children.read_text().split(), timeout=timeout, what="the program to start"
        )
        return int(found[0])

    def server_pid(self) -> int:
        """The tmux server's process id (the terminal emulator behind the pane)."""
        return int(self.pane("#{pid}"))

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended (as the screen shows it); None before."""
        found = EXITED.search(self.screen())
        return int(found.group(1)) if found else None

    # ---- the operator's side -------------------------------------------------------------------
    def screen(self) -> str:
        """What the terminal shows now, as plain text (one line per row)."""
        return self.tmux("capture-pane", "-p", "-t", WINDOW)

    def press(self, *keys: str) -> None:
        """Press keys by tmux name ('y', 'Enter', 'Tab', 'Right', '!')."""
        for key in keys:
            self.tmux("send-keys", "-t", WINDOW, key)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        """Type text literally, one character after another."""
        self.tmux("send-keys", "-t", WINDOW, "-l", text)

    def wait_for_screen(
        self, check: Callable[[str], bool], *, timeout: float = 30.0, what: str = "the screen"
    ) -> str:
        """Poll the screen until `check(screen)` holds; on the deadline fail showing the screen."""
        last = ""

        def probe() -> str | None:
            nonlocal last
            last = self.screen()
            return last if check(last) else None

        try:
            return wait_until(probe, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen was:\n{last}") from None

    def wait_for_text(self, *texts: str, timeout: float = 30.0) -> str:
        """Poll the screen until every one of `texts` is on it at once."""
        return self.wait_for_screen(
            lambda screen: all(text in screen for text in texts),
            timeout=timeout,
            what=" + ".join(repr(t) for t in texts),
        )

    def wait_for_exit(self, *, timeout: float = 30.0) -> int:
        """Wait until the program has ended; its exit status."""

        def ended() -> list[int] | None:  # a list, so that exit status 0 still counts as "ended"
            status = self.exit_status()
            return None if status is None else [status]

        try:
            return wait_until(ended, timeout=timeout, what="the program to exit")[0]
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen was:\n{self.screen()}") from None
