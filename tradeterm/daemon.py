"""The headless run: build_node + signals + the control socket. Never imports Textual.

`tradeterm run --no-ui [--duration S]`: JSON-lines logs on stderr and in state/tradeterm.log;
SIGTERM / SIGINT start a safe shutdown (no new entries, working entry orders cancelled, state
persisted; positions closed only when execution.flatten_on_shutdown says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tradeterm.clock import Clock, LiveClock
from tradeterm.config import TradetermConfig
from tradeterm.config.secrets import load_secrets
from tradeterm.control import Control, parse_domain
from tradeterm.errors import ControlError
from tradeterm.indicators.backend import ENV_VAR as INDICATOR_ENV
from tradeterm.indicators.backend import use_backend
from tradeterm.ipc import ControlServer
from tradeterm.node import NodeOptions, build_node
from tradeterm.storage.codec import to_plain
from tradeterm.telemetry.logging import setup_logging

log = logging.getLogger("tradeterm.daemon")

GIL_SWITCH_INTERVAL_S = 0.0005
"""The candle store writes from a worker thread; with Python's default 5 ms switch interval that
thread could hold the interpreter for up to 5 ms in the middle of a tick -> decision chain (the
node benchmark measured it). 0.5 ms bounds that stall at a throughput cost of about 1%."""

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def prepare_process(
    config: TradetermConfig, options: NodeOptions, clock: Clock, *, log_stream: Any
) -> Path:
    """What every long-running tradeterm process does first (daemon and console alike): the GIL
    switch interval, TA-Lib as the indicator backend, and logging with secret redaction to `state/tradeterm.log` (plus
    telemetry.log_file, plus `log_stream` when given). Returns the state folder."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    if not os.environ.get(INDICATOR_ENV):
        use_backend(
            "talib"
        )  # bit-identical to numba, ~110 MB lighter (tradeterm.indicators.backend)
    state_dir = Path(options.state_dir or config.storage.state_dir)
    tel = config.telemetry
    files: list[str | Path] = [
        state_dir / "tradeterm.log",
        *([tel.log_file] if tel.log_file else []),
    ]
    redact = load_secrets().redact
    setup_logging(
        clock,
        level=tel.log_level,
        fmt=tel.log_format,
        stream=log_stream,
        files=files,
        redact=redact,
    )
    return state_dir


def socket_path(config: TradetermConfig, state_dir: Path) -> Path:
    path = Path(config.control.socket)
    return path if path.is_absolute() else state_dir / path


class ControlCommands:
    """The control socket's commands, each a thin mapping onto the Control facade."""

    NAMES = (
        "status", "approve", "reject", "flatten_preview", "flatten", "pause", "resume", "gates",
        "promote", "set_stage", "toggle_domain", "set_exploration", "set_learning",
    )  # fmt: skip

    def __init__(self, control: Control, source: str = "cli") -> None:
        self.control = control
        self.source = source

    def table(self) -> dict[str, Handler]:
        return {name: getattr(self, name) for name in self.NAMES}

    async def status(self, _a: dict[str, Any]) -> Any:
        report = self.control.status()
        return {"text": report.text(), "status": to_plain(report)}

    async def approve(self, a: dict[str, Any]) -> Any:
        return to_plain(await self.control.approve(_arg(a, "id"), source=self.source))

    async def reject(self, a: dict[str, Any]) -> Any:
        reason = str(a.get("reason", ""))
        return to_plain(await self.control.reject(_arg(a, "id"), source=self.source, reason=reason))

    async def flatten_preview(self, _a: dict[str, Any]) -> Any:
        return to_plain(self.control.flatten_preview())

    async def flatten(self, _a: dict[str, Any]) -> Any:
        report = await self.control.flatten_all(source=self.source)
        return {"summary": report.summary(), "ok": report.ok, "report": to_plain(report)}

    async def pause(self, _a: dict[str, Any]) -> Any:
        return to_plain(await self.control.pause(source=self.source))

    async def resume(self, _a: dict[str, Any]) -> Any:
        return to_plain(await self.control.resume(source=self.source))

    async def gates(self, _a: dict[str, Any]) -> Any:
        report = self.control.gate_report()
        return {"text": report.text(), "ready": report.ready}

    async def promote(self, a: dict[str, Any]) -> Any:
        return to_plain(
            await self.control.promote(source=self.source, force=bool(a.get("force", False)))
        )

    async def set_stage(self, a: dict[str, Any]) -> Any:
        index = int(_arg(a, "index"))
        reason = str(a.get("reason", ""))
        force = a.get("force", False) is True
        return to_plain(
            await self.control.set_stage(index, source=self.source, reason=reason, force=force)
        )

    async def toggle_domain(self, a: dict[str, Any]) -> Any:
        domain = parse_domain(_arg(a, "domain"))
        enabled = bool(a.get("enabled", True))
        return to_plain(await self.control.toggle_domain(domain, enabled, source=self.source))

    async def set_exploration(self, a: dict[str, Any]) -> Any:
        return await self.control.set_exploration(float(_arg(a, "rate")), source=self.source)

    async def set_learning(self, a: dict[str, Any]) -> Any:
        return await self.control.set_learning(bool(a.get("enabled", True)), source=self.source)


def _arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise ControlError(f"missing argument '{name}'")
    return str(value)


async def run_daemon(
    config: TradetermConfig,
    options: NodeOptions,
    *,
    duration_s: float | None = None,
    clock: Clock | None = None,
    log_stream: Any = sys.stderr,
) -> int:
    """Run the node headless until SIGTERM/SIGINT or `duration_s`; returns the exit code."""
    clock = clock or LiveClock()
    state_dir = prepare_process(config, options, clock, log_stream=log_stream)
    node = build_node(config, clock, options)
    server = ControlServer(socket_path(config, state_dir), ControlCommands(Control(node)).table())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await server.start()
        log.info("daemon running; control socket %s", server.path, extra={"event": "daemon.start"})
        if duration_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=duration_s)
        else:
            await stop.wait()
        log.info("shutting down", extra={"event": "daemon.stop"})
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await server.stop()
        await node.stop()
    return 0
