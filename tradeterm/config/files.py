"""Reading files a user points tradeterm at (configs, candle files) without trusting them.

A hand-edited file can be anything: a FIFO (reading it hangs forever), `/dev/zero` (reading it
never ends), a directory, a 5 GB accident, a document nested 100,000 levels deep. Each check here
runs BEFORE the content is parsed and ends in one line naming the file and the fix.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradeterm.errors import UserError

MAX_CONFIG_BYTES = 1 << 20
"""A config file may be at most 1 MiB (the default config is about 2 KB)."""

MAX_NESTING = 24
"""Deepest table/array nesting accepted in a config (the schema itself is 6 levels deep)."""

MAX_SHOWN_CHARS = 40
"""Longest value echoed back in a message; longer ones are cut with their length given."""

UTF8_BOM = b"\xef\xbb\xbf"


def clip(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text`, or its first `limit` characters and how long it really is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular_file_size(path: Path, what: str, error: type[UserError] = UserError) -> int:
    """The size of `path` after checking that it is an existing regular file (symlinks are
    followed). `error` (a UserError type) names the file and what is wrong otherwise."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{clip(str(path), 200)}: file not found") from None
    except NotADirectoryError:
        raise error(f"{clip(str(path), 200)}: file not found (a parent is not a folder)") from None
    except PermissionError:
        raise error(f"{clip(str(path), 200)}: cannot read: permission denied") from None
    except OSError as exc:
        raise error(f"{clip(str(path), 200)}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{clip(str(path), 200)}: is a directory, not {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{clip(str(path), 200)}: is {_kind(info.st_mode)}, not {what}")
    return info.st_size


def read_limited(path: Path, what: str, limit: int, error: type[UserError] = UserError) -> bytes:
    """The bytes of a regular file no bigger than `limit` (checked before and while reading)."""
    size = regular_file_size(path, what, error)
    if size > limit:
        raise error(
            f"{clip(str(path), 200)}: {size:,} bytes is too big for {what} "
            f"(at most {limit:,} bytes)"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(f"{clip(str(path), 200)}: cannot read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
            raise error(f"{clip(str(path), 200)}: is not a regular file, not {what}")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise error(
                    f"{clip(str(path), 200)}: more than {limit:,} bytes is too big for {what}"
                )
    except OSError as exc:
        raise error(f"{clip(str(path), 200)}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def nesting_problem(value: Any, limit: int = MAX_NESTING) -> str | None:
    """Where `value` (parsed TOML) nests deeper than `limit` tables/arrays, or None.

    Iterative, so a hostile document cannot exhaust the interpreter's stack here."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > limit:
            return where or "(top level)"
        if isinstance(node, Mapping):
            for key, child in node.items():
                here = f"{where}.{clip(str(key))}" if where else clip(str(key))
                stack.append((child, depth + 1, here))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                stack.append((child, depth + 1, f"{where}[{i}]"))
    return None
