"""Scheduled re-calibration (config `calibration.schedule`, off by default).

When due, the node re-runs `tradeterm calibrate` for each strategy it trades (grouped by strategy,
timeframe and venue; only strategies with a promoted active config unless `all_strategies`), one
child process at a time, niced, with `jobs` workers, on the last `lookback_days` of the candle
store (no `--data`: the bars resolve exactly as `tradeterm backtest` resolves them) into a dated
study `{strategy}-{symbols}-{tf}-recal-{YYYYMMDD-HHMM}` in the configured Optuna storage.

Nothing is promoted: each finished study is audited (`recalibration_ready`), announced (bus
`alert`, topic "recal": "re-calibration ready: study X best score Y; promote with `tradeterm
promote --study X`") and listed by `tradeterm status` until the operator decides.

Timing: the first start with the schedule on anchors it (the first run is one interval later);
the last run's start is kept in the home database (meta `recal.schedule`), so a restart never runs
it early. The child gets the node's config as `{state_dir}/recal/config.toml` (its state folder
pinned to the node's) and writes its output next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.loader import dump_config
from tradeterm.config.models import TradetermConfig, every_ms
from tradeterm.domain import events as ev
from tradeterm.domain.ids import new_id
from tradeterm.recal.watch import RunnerLike
from tradeterm.storage.active_configs import RESEARCH_DB, load_active
from tradeterm.storage.router import Stores

log = logging.getLogger(__name__)
META_KEY = "recal.schedule"
KEEP_RESULTS = 10


@dataclass(frozen=True, slots=True)
class Target:
    """One re-calibration: a strategy on its symbols, timeframe and venue."""

    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    venue: str

    def study(self, now_ms: int) -> str:
        stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y%m%d-%H%M")
        return f"{self.strategy}-{'+'.join(self.symbols)}-{self.timeframe}-recal-{stamp}"


def targets(runners: Sequence[RunnerLike], promoted: set[tuple[str, str]] | None) -> list[Target]:
    """The studies to run for `runners`; `promoted` = (strategy, timeframe) pairs with an active
    config (None: every strategy)."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for r in runners:
        name = r.strategy.name
        if promoted is not None and (name, r.timeframe) not in promoted:
            continue
        groups.setdefault((name, r.timeframe, r.venue), set()).add(r.symbol)
    return [
        Target(strategy, tuple(sorted(symbols)), tf, venue)
        for (strategy, tf, venue), symbols in sorted(groups.items())
    ]


def child_config(config: TradetermConfig, state_dir: Path) -> str:
    """The node's config as TOML text, its state folder pinned to the node's."""
    storage = config.storage.model_copy(update={"state_dir": str(state_dir)})
    return dump_config(config.model_copy(update={"storage": storage}))


class RecalSchedule:
    """See the module text. `runners()` lists the node's runners; `python` runs the child."""

    def __init__(
        self,
        config: TradetermConfig,
        clock: Clock,
        stores: Stores,
        state_dir: Path,
        runners: Callable[[], Sequence[RunnerLike]],
        *,
        python: str = sys.executable,
        poll_s: float = 60.0,
    ) -> None:
        self.config = config
        self.settings = config.calibration.schedule
        self.every_ms = every_ms(self.settings.every)
        self._clock = clock
        self._stores = stores
        self.state_dir = Path(state_dir)
        self.work_dir = self.state_dir / "recal"
        self._runners = runners
        self._python = python
        self._poll_s = poll_s
        self._bus: Bus | None = None
        self._queue: list[Target] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._running: tuple[Target, str, int] | None = None
        self._state: dict[str, Any] = {}

    # ---- state ----------------------------------------------------------------------------------
    @property
    def last_run_ms(self) -> int | None:
        value = self._state.get("last_run_ms")
        return int(value) if value is not None else None

    @property
    def next_due_ms(self) -> int:
        anchor = self.last_run_ms
        if anchor is None:
            anchor = int(self._state.get("anchor_ms", self._clock.now_ms()))
        return anchor + self.every_ms

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._queue)

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self._state.get("results", []))

    def _save(self) -> None:
        try:
            self._stores.home.put_meta(META_KEY, self._state, self._clock.now_ms())
        except Exception as exc:
            log.error("re-calibration: cannot record the schedule: %s", exc)

    # ---- wiring ---------------------------------------------------------------------------------
    async def attach(self, bus: Bus) -> None:
        self._bus = bus
        self._state = dict(self._stores.home.get_meta(META_KEY) or {})
        if self.last_run_ms is None and "anchor_ms" not in self._state:
            self._state["anchor_ms"] = self._clock.now_ms()
            self._save()

    async def run(self) -> None:
        """The node's task: check every poll_s (clock time); the child is stopped with the node."""
        try:
            while True:
                await self._clock.sleep(self._poll_s)
                try:
                    await self.tick()
                except Exception:
                    log.exception("re-calibration schedule failed")
        finally:
            self.terminate()

    async def tick(self) -> None:
        """Collect a finished child, start the next queued one, or queue a run when due."""
        if self._proc is not None and self._proc.returncode is not None:
            await self._finish()
        if self._running is not None:
            return
        if not self._queue and self._clock.now_ms() >= self.next_due_ms:
            self._queue = self._targets()
            self._state["last_run_ms"] = self._clock.now_ms()
            self._save()
            if not self._queue:
                log.warning("re-calibration due, but no strategy to re-calibrate")
        if self._queue:
            await self._launch(self._queue.pop(0))

    async def wait_idle(self) -> None:
        """Run the queued children to the end (tests; state, not time: each child's exit)."""
        while self.busy:
            if self._proc is not None:
                await self._proc.wait()
            await self.tick()

    def terminate(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            log.warning("re-calibration: child stopped with the node (the study can be resumed)")

    def _targets(self) -> list[Target]:
        runners = self._runners()
        if self.settings.all_strategies:
            return targets(runners, None)
        promoted = {(a.strategy, a.timeframe) for a in load_active(self.state_dir / RESEARCH_DB)}
        return targets(runners, promoted)

    # ---- one child ------------------------------------------------------------------------------
    def command(self, target: Target, study: str, config_path: Path) -> list[str]:
        s = self.settings
        cmd = [
            self._python, "-m", "tradeterm", "calibrate", "--config", str(config_path),
            "--strategy", target.strategy, "--symbol", ",".join(target.symbols),
            "--timeframe", target.timeframe, "--venue", target.venue,
            "--days", str(s.lookback_days), "--trials", str(s.trials), "--jobs", str(s.jobs),
            "--study", study, "--json",
        ]  # fmt: skip
        if s.timeout_s:
            cmd += ["--timeout", f"{s.timeout_s:g}"]
        nice = shutil.which("nice")
        if s.nice and nice:
            cmd = [nice, "-n", str(s.nice), *cmd]
        return cmd

    def _write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / "config.toml"
        text = child_config(self.config, self.state_dir)
        path.touch(mode=0o600)  # the config may hold a storage URL with a password
        path.chmod(0o600)
        path.write_text("# written by the node for scheduled re-calibration\n" + text)
        return path

    async def _launch(self, target: Target) -> None:
        now = self._clock.now_ms()
        study = target.study(now)
        cmd = self.command(target, study, self._write_config())
        out = (self.work_dir / f"{study}.json").open("wb")
        err = (self.work_dir / f"{study}.log").open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=out, stderr=err, stdin=asyncio.subprocess.DEVNULL
            )
        except OSError as exc:
            text = f"re-calibration of {target.strategy} could not start: {exc}"[:300]
            log.error(text)
            await self._audit("recalibration_ready", {"study": study}, False, text)
            if self._bus is not None:
                await self._bus.publish(ev.ALERT, ev.Alert("error", text, now, topic="recal"))
            return
        finally:
            out.close()
            err.close()
        self._running = (target, study, now)
        log.warning(
            "re-calibration started: study %s (pid %d, nice %d, %d trials, %d jobs, last %d days)",
            study, self._proc.pid, self.settings.nice, self.settings.trials, self.settings.jobs,
            self.settings.lookback_days,
        )  # fmt: skip
        await self._audit(
            "recalibration_started",
            {"study": study, "strategy": target.strategy, "pid": self._proc.pid},
            True,
            f"started {study}",
        )

    async def _finish(self) -> None:
        assert self._proc is not None and self._running is not None
        target, study, started = self._running
        code = self._proc.returncode
        self._proc, self._running = None, None
        report = _read_report(self.work_dir / f"{study}.json")
        best = report.get("best") if isinstance(report, dict) else None
        result: dict[str, Any] = {
            "study": study, "strategy": target.strategy, "started_ms": started,
            "finished_ms": self._clock.now_ms(), "exit_code": code,
            "trials": report.get("trials", {}) if isinstance(report, dict) else {},
        }  # fmt: skip
        if code == 0 and isinstance(best, dict):
            result |= {
                "ok": True,
                "best_score": best.get("value"),
                "best_trial": best.get("number"),
            }
            text = (
                f"re-calibration ready: study {study} best score {best.get('value'):.4g} "
                f"(trial {best.get('number')}); promote with `tradeterm promote --study {study}`"
            )
            level = "warning"
        else:
            why = "no usable trial" if code == 0 else f"exit code {code}"
            tail = _last_line(self.work_dir / f"{study}.log")
            result |= {"ok": False, "error": f"{why}: {tail}"[:300]}
            text = f"re-calibration of {target.strategy} failed ({why}): {tail}"[:300]
            level = "error"
        self._state["results"] = [result, *self.results][:KEEP_RESULTS]
        self._save()
        log.warning(text)
        await self._audit("recalibration_ready", result, bool(result["ok"]), text)
        if self._bus is not None:
            await self._bus.publish(
                ev.ALERT, ev.Alert(level, text, self._clock.now_ms(), topic="recal")
            )

    async def _audit(self, action: str, args: dict[str, Any], ok: bool, text: str) -> None:
        entry = ev.AuditEntry(
            new_id("audit"), self._clock.now_ms(), "node", action,
            {k: v for k, v in args.items() if not isinstance(v, dict)}, ok, text[:300],
        )  # fmt: skip
        try:
            self._stores.home.save_audit(entry)
        except Exception as exc:
            log.error("re-calibration: cannot audit %s: %s", action, exc)
        if self._bus is not None:
            await self._bus.publish(ev.AUDIT, entry)

    # ---- status ---------------------------------------------------------------------------------
    def status_lines(self) -> list[str]:
        s = self.settings
        due = datetime.fromtimestamp(self.next_due_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"re-calibration: every {s.every}, last {s.lookback_days} days, {s.trials} trials, "
            f"{s.jobs} job(s), nice {s.nice}; next due {due}"
        ]
        if self._running is not None:
            lines.append(f"re-calibration running: study {self._running[1]}")
        promoted = {a.study for a in load_active(self.state_dir / RESEARCH_DB)}
        for r in self.results[:3]:
            if r.get("ok") and r["study"] in promoted:
                lines.append(f"re-calibration: study {r['study']} was promoted")
            elif r.get("ok"):
                lines.append(
                    f"re-calibration ready: study {r['study']} best score "
                    f"{float(r.get('best_score') or 0):.4g}; promote with "
                    f"`tradeterm promote --study {r['study']}`"
                )
            else:
                lines.append(f"re-calibration FAILED: study {r['study']}: {r.get('error', '')}")
        return lines


def _read_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""
