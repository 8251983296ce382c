"""The backtest lab in a real 80x24 terminal: `python -m tradeterm --config ...` inside tmux, b
opens the lab, ctrl+r runs the launcher's defaults in a child process, the result shows, x exports
the charts, and the report folder holds the PNGs; escape twice and q, y leave cleanly."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from .daemon_kit import write_config
from .tmux_kit import TmuxTerminal, tmux_path, wait_until

pytestmark = pytest.mark.skipif(
    tmux_path() is None,
    reason="tmux is not installed (CI installs it with .ci/system-deps)",
)

CONSOLE_ENV = {"PYTHONUNBUFFERED": "1", "TERM": "xterm-256color"}
BOOT_S = 300.0
RUN_S = 300.0
"""A child process importing numba and running a day of 1-second bars, on a busy machine."""
STEP_S = 60.0


def test_a_backtest_from_the_keyboard_at_80x24(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with TmuxTerminal(tmp_path, width=80, height=24) as term:
        term.start([sys.executable, "-m", "tradeterm", "--config", str(config)], env=CONSOLE_ENV)
        term.wait_for_text("STAGE 1/5", timeout=BOOT_S)
        term.press("b")
        screen = term.wait_for_text("Backtest lab", "Strategy", "^r Run", timeout=STEP_S)
        assert "1 day" in screen
        term.press("C-r")
        screen = term.wait_for_screen(
            lambda s: "finished: report" in s or "backtest failed" in s,
            timeout=RUN_S,
            what="the run's result",
        )
        assert "finished: report" in screen, screen
        screen = term.wait_for_text("total_return", "chart equity", "x PNG", timeout=STEP_S)
        term.press("x")
        screen = term.wait_for_text("exported", "PNGs", timeout=STEP_S)
        run_id = int(re.search(r"Backtest lab: run (\d+)", screen).group(1))  # type: ignore[union-attr]

        folders = wait_until(
            lambda: sorted((tmp_path / "reports").glob("*_backtest_*")),
            timeout=STEP_S,
            what="the report folder",
        )
        assert len(folders) == 1
        folder = folders[0]
        pngs = sorted(p.name for p in folder.glob("*.png"))
        for name in ("equity.png", "underwater.png", "price.png", "pnl.png"):
            assert name in pngs
            assert (folder / name).stat().st_size > 1000
        assert json.loads((folder / "run.json").read_text())["run_id"] == run_id

        term.press("Escape")
        term.wait_for_text("^r Run", timeout=STEP_S)
        term.press("Escape")
        term.wait_for_text("STAGE 1/5", timeout=STEP_S)
        term.press("q")
        term.wait_for_text("Quit tradeterm?", timeout=STEP_S)
        term.press("y")
        assert term.wait_for_exit(timeout=60) == 0
