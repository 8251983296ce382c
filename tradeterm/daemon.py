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
from tradeterm.control import Control
from tradeterm.control_args import (
    COMMAND_ARGS,
    BadArguments,
    CommandArgs,
    ConfirmationArgs,
    DifferenceArgs,
    DifferencePreviewArgs,
    PositionArgs,
    PositionPriceArgs,
    PromoteArgs,
    RejectArgs,
    SetExplorationArgs,
    SetLearningArgs,
    SetStageArgs,
    ToggleDomainArgs,
    parse_args,
)
from tradeterm.errors import UserError
from tradeterm.indicators.backend import ENV_VAR as INDICATOR_ENV
from tradeterm.indicators.backend import use_backend
from tradeterm.ipc import ControlServer
from tradeterm.node import NodeOptions, build_node
from tradeterm.statelock import StateLock, secure_state_dir
from tradeterm.storage.codec import to_plain
from tradeterm.telemetry.logging import setup_logging

log = logging.getLogger("tradeterm.daemon")

GIL_SWITCH_INTERVAL_S = 0.0005
"""The candle store writes from a worker thread; with Python's default 5 ms switch interval that
thread could hold the interpreter for up to 5 ms in the middle of a tick -> decision chain (the
node benchmark measured it). 0.5 ms bounds that stall at a throughput cost of about 1%."""

Handler = Callable[[CommandArgs], Awaitable[Any]]


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
    secure_state_dir(state_dir)
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
    """The control socket's commands, each a thin mapping onto the Control facade.

    Arguments are validated against `control_args.COMMAND_ARGS` before anything runs; a request
    that asks for a change and fails validation is still written to the audit journal. Each
    handler takes its command's validated model."""

    def __init__(self, control: Control, source: str = "cli") -> None:
        self.control = control
        self.source = source

    def table(self) -> dict[str, Callable[[Any], Awaitable[Any]]]:
        """name -> handler of the raw `args` (validated, audited when refused)."""
        return {name: self._validated(name) for name in COMMAND_ARGS}

    def _validated(self, name: str) -> Callable[[Any], Awaitable[Any]]:
        handler: Handler = getattr(self, name)

        async def run(raw: Any) -> Any:
            try:
                args = parse_args(name, raw)
            except BadArguments as exc:
                if COMMAND_ARGS[name].changes:
                    shown = raw if isinstance(raw, dict) else {"args": raw}
                    await self.control.audit_refused(self.source, name, shown, str(exc))
                raise UserError(str(exc)) from None
            return await handler(args)

        return run

    async def status(self, _a: CommandArgs) -> Any:
        report = self.control.status()
        return {"text": report.text(), "status": to_plain(report)}

    async def approve(self, a: CommandArgs) -> Any:
        assert isinstance(a, ConfirmationArgs)
        return to_plain(await self.control.approve(a.id, source=self.source))

    async def reject(self, a: CommandArgs) -> Any:
        assert isinstance(a, RejectArgs)
        return to_plain(await self.control.reject(a.id, source=self.source, reason=a.reason))

    async def flatten_preview(self, _a: CommandArgs) -> Any:
        return to_plain(self.control.flatten_preview())

    async def flatten(self, _a: CommandArgs) -> Any:
        report = await self.control.flatten_all(source=self.source)
        return {"summary": report.summary(), "ok": report.ok, "report": to_plain(report)}

    async def reload(self, _a: CommandArgs) -> Any:
        return {"changed": await self.control.reload_active_configs(source=self.source)}

    async def pause(self, _a: CommandArgs) -> Any:
        return to_plain(await self.control.pause(source=self.source))

    async def resume(self, _a: CommandArgs) -> Any:
        return to_plain(await self.control.resume(source=self.source))

    async def gates(self, _a: CommandArgs) -> Any:
        report = self.control.gate_report()
        return {"text": report.text(), "ready": report.ready}

    async def promote(self, a: CommandArgs) -> Any:
        assert isinstance(a, PromoteArgs)
        change = await self.control.promote(
            source=self.source, force=a.force, from_stage=a.from_stage
        )
        return to_plain(change)

    async def set_stage(self, a: CommandArgs) -> Any:
        assert isinstance(a, SetStageArgs)
        change = await self.control.set_stage(
            a.index, source=self.source, reason=a.reason, force=a.force
        )
        return to_plain(change)

    async def toggle_domain(self, a: CommandArgs) -> Any:
        assert isinstance(a, ToggleDomainArgs)
        return to_plain(await self.control.toggle_domain(a.domain, a.enabled, source=self.source))

    async def set_exploration(self, a: CommandArgs) -> Any:
        assert isinstance(a, SetExplorationArgs)
        return await self.control.set_exploration(a.rate, source=self.source)

    async def set_learning(self, a: CommandArgs) -> Any:
        assert isinstance(a, SetLearningArgs)
        return await self.control.set_learning(a.enabled, source=self.source)

    async def close_position(self, a: CommandArgs) -> Any:
        assert isinstance(a, PositionArgs)
        return {"summary": await self.control.close_position(a.position, source=self.source)}

    async def move_stop(self, a: CommandArgs) -> Any:
        assert isinstance(a, PositionPriceArgs)
        moved = await self.control.move_stop(a.position, a.price, source=self.source)
        return to_plain(moved)

    async def move_target(self, a: CommandArgs) -> Any:
        assert isinstance(a, PositionPriceArgs)
        moved = await self.control.move_target(a.position, a.price, source=self.source)
        return to_plain(moved)

    async def reconcile_list(self, _a: CommandArgs) -> Any:
        diffs = self.control.reconcile_list()
        return {"differences": to_plain(diffs), "text": [d.text for d in diffs]}

    async def reconcile_preview(self, a: CommandArgs) -> Any:
        assert isinstance(a, DifferencePreviewArgs)
        return {"text": self.control.reconcile_preview(a.id, a.action)}

    async def reconcile_run(self, _a: CommandArgs) -> Any:
        report = await self.control.reconcile_now(source=self.source)
        return {
            "halt": report.halt,
            "reason": report.reason if report.halt else "",
            "differences": to_plain(list(report.differences)),
        }

    async def reconcile_adopt(self, a: CommandArgs) -> Any:
        assert isinstance(a, DifferenceArgs)
        return to_plain(await self.control.reconcile_adopt(a.id, source=self.source))

    async def reconcile_close(self, a: CommandArgs) -> Any:
        assert isinstance(a, DifferenceArgs)
        return to_plain(await self.control.reconcile_close(a.id, source=self.source))

    async def reconcile_ignore(self, a: CommandArgs) -> Any:
        assert isinstance(a, DifferenceArgs)
        return to_plain(await self.control.reconcile_ignore(a.id, source=self.source))


async def run_daemon(
    config: TradetermConfig,
    options: NodeOptions,
    *,
    duration_s: float | None = None,
    clock: Clock | None = None,
    log_stream: Any = sys.stderr,
) -> int:
    """Run the node headless until SIGTERM/SIGINT or `duration_s`; returns the exit code.

    The state folder's lock is taken FIRST: a second daemon on the same folder is refused before
    it opens a log, a database or the control socket, so it touches nothing of the running one."""
    clock = clock or LiveClock()
    state_dir = Path(options.state_dir or config.storage.state_dir)
    lock = StateLock(state_dir)
    lock.acquire()
    try:
        prepare_process(config, options, clock, log_stream=log_stream)
        node = build_node(config, clock, options, state_lock=lock)
    except BaseException:
        lock.release()
        raise
    server = ControlServer(socket_path(config, state_dir), ControlCommands(Control(node)).table())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        server.preflight()
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
