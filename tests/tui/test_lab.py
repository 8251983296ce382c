"""The backtest lab on the whole console: `b` opens it, a backtest runs in its own process on the
sim history while the node keeps trading, the result shows metrics and charts, `x` exports PNGs,
`o`/`t` show the report and trades, escape cancels a run after asking; `B` browses the runs."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from tests.tui.kit import (
    COMPACT,
    WIDE,
    ConsoleUnderTest,
    header_text,
    press,
    run_for,
    settle,
    started,
    text,
)
from tests.tui.screens.kit import until
from tradeterm.backtest.index import RunIndex
from tradeterm.tui.screens.lab import PNG_SIZE, AskModal, LabScreen, TradesScreen
from tradeterm.tui.screens.lab_browser import (
    BrowserScreen,
    CompareScreen,
    RunDetails,
    TypeToConfirm,
)

Factory = Callable[..., ConsoleUnderTest]


def lab_console(new_console: Factory, tmp_path: Path) -> ConsoleUnderTest:
    app = new_console()
    app.lab_dirs = {"reports_dir": tmp_path / "reports"}
    return app


def lab(app: ConsoleUnderTest) -> LabScreen:
    screen = app.screen
    assert isinstance(screen, LabScreen), type(screen)
    return screen


async def open_lab(pilot: Pilot[Any], *, hold: bool = False) -> LabScreen:
    await press(pilot, "b")
    screen = lab(console_app(pilot))
    screen.hold = hold
    # a small, quick run: one synthetic index, 1-minute bars, one day of them
    screen.query_one("#symbols", Input).value = "1HZ100V"
    screen.query_one("#timeframe", Select).value = "1m"
    screen.query_one("#range", Select).value = 1.0
    await pilot.pause()
    return screen


async def key(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys without waiting for workers (the lab's watcher runs as long as the run)."""
    await pilot.press(*keys)
    await settle(pilot)


def console_app(pilot: Pilot[Any]) -> ConsoleUnderTest:
    assert isinstance(pilot.app, ConsoleUnderTest)
    return pilot.app


async def finished(pilot: Pilot[Any], screen: LabScreen, timeout_s: float = 300.0) -> None:
    """Wait until the run's process has answered (the lab left the running mode); the child
    process imports numba and friends, so a loaded machine gets minutes, not a count of pauses."""
    assert await until(pilot, lambda: screen.mode != "running", timeout_s=timeout_s), (
        f"the run did not end within {timeout_s:.0f} s"
    )
    assert screen.mode == "result", f"the run failed: {screen.error}"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


async def test_lab_runs_a_backtest_while_the_node_keeps_trading(
    new_console: Factory, tmp_path: Path
) -> None:
    app = lab_console(new_console, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        screen = await open_lab(pilot, hold=True)
        await key(pilot, "ctrl+r")
        assert screen.mode == "running" and screen.job is not None and screen.job.alive()
        assert "running ema_trend on 1HZ100V" in text(pilot)
        # the node keeps publishing to the panes while the backtest is held in its process
        before = (header_text(app), dict(app.views))
        await run_for(pilot, 30)
        after = (header_text(app), dict(app.views))
        assert after[0] != before[0], "the header did not move during the run"
        assert any(after[1][k] is not before[1].get(k) for k in after[1]), "no pane view changed"
        assert screen.mode == "running"
        screen.job.release()
        await finished(pilot, screen)
        await settle(pilot)
        shown = text(pilot)
        for metric in ("total_return", "sharpe", "max_drawdown", "trade_count", "profit_factor"):
            assert metric in shown
        assert "chart equity" in shown
        outcome = screen.run.outcome  # type: ignore[union-attr]
        with RunIndex.open(app.node.config.storage.state_dir) as index:
            assert index.get(outcome.run_id).status == "finished"

        # charts switch by key
        for k, name in (("2", "underwater"), ("3", "price"), ("4", "pnl"), ("g", "equity")):
            await press(pilot, k)
            assert screen.chart_name == name
            assert f"chart {name}" in text(pilot)

        # x exports every chart of the run as PNG into its report folder, at the set size
        report = outcome.report
        assert report is not None
        for png in report.glob("*.png"):
            png.unlink()
        await press(pilot, "x")
        names = sorted(p.name for p in report.glob("*.png"))
        assert names == ["equity.png", "pnl.png", "price.png", "underwater.png"]
        for png in report.glob("*.png"):
            assert png.stat().st_size > 1000
            assert png_size(png) == PNG_SIZE
        assert app.noted("exported 4 PNGs") and app.noted(str(report))

        await press(pilot, "o")
        assert app.notes[-1] == f"report: {report}"

        await press(pilot, "t")
        trades = app.screen
        assert isinstance(trades, TradesScreen)
        table = trades.query_one(DataTable)
        assert table.row_count == len(outcome.result.trades) > 0
        await press(pilot, "s", "s", "s", "s", "s", "s", "s", "s", "s")  # sort by pnl
        pnls = [float(str(table.get_row_at(i)[8]).replace(",", "")) for i in range(table.row_count)]
        assert pnls == sorted(pnls)
        await press(pilot, "S")
        pnls = [float(str(table.get_row_at(i)[8]).replace(",", "")) for i in range(table.row_count)]
        assert pnls == sorted(pnls, reverse=True)
        await press(pilot, "escape")
        assert app.screen is screen

        # escape: back to the launcher, again: back to the console
        await press(pilot, "escape")
        assert screen.mode == "launcher"
        await press(pilot, "escape")
        assert app.screen is app.main


async def test_invalid_parameters_are_refused_inline(new_console: Factory, tmp_path: Path) -> None:
    app = lab_console(new_console, tmp_path)
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        screen = await open_lab(pilot)
        screen.query_one("#params", Input).value = "fast=-3"
        await pilot.pause()
        assert "fast" in screen.error
        await press(pilot, "ctrl+r")
        assert screen.mode == "launcher" and screen.job is None
        assert "not started" in app.notes[-1]
        screen.query_one("#params", Input).value = "fast=5 slow=20"
        await pilot.pause()
        assert screen.error == ""
        screen.query_one("#leverage", Input).value = "50"
        await press(pilot, "ctrl+r")
        assert screen.job is None and "leverage" in screen.error


async def test_escape_asks_then_cancels_a_running_backtest(
    new_console: Factory, tmp_path: Path
) -> None:
    app = lab_console(new_console, tmp_path)
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        screen = await open_lab(pilot, hold=True)
        await key(pilot, "ctrl+r")
        job = screen.job
        assert job is not None and job.alive()
        await key(pilot, "escape")
        assert isinstance(app.screen, AskModal)
        await key(pilot, "n")  # no: keeps running
        assert screen.mode == "running" and job.alive()
        await key(pilot, "escape")
        await key(pilot, "y")
        assert screen.mode == "launcher"
        assert not job.alive()
        assert app.noted("backtest cancelled")
        with RunIndex.open(app.node.config.storage.state_dir) as index:
            assert all(r.status != "running" for r in index.list())


async def test_browser_details_compare_delete_and_delete_all(
    new_console: Factory, tmp_path: Path
) -> None:
    app = lab_console(new_console, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        screen = await open_lab(pilot)
        await press(pilot, "ctrl+r")
        await finished(pilot, screen)
        first = screen.run.outcome  # type: ignore[union-attr]
        await press(pilot, "r")  # new run: another strategy
        screen.query_one("#strategy", Select).value = "breakout"
        await pilot.pause()
        screen.query_one("#symbols", Input).value = "1HZ100V"
        await press(pilot, "ctrl+r")
        await finished(pilot, screen)
        second = screen.run.outcome  # type: ignore[union-attr]

        await press(pilot, "B")
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        assert [r.id for r in browser.shown] == [second.run_id, first.run_id]  # newest first
        # details only on request
        assert "profit_factor" not in text(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetails)
        assert "profit_factor" in text(pilot) and str(first.report) not in text(pilot)
        await press(pilot, "escape")

        # filter by strategy
        await press(pilot, "slash")
        await pilot.press(*"breakout", "enter")
        await settle(pilot)
        assert [r.id for r in browser.shown] == [second.run_id]
        await press(pilot, "slash")
        browser.query_one("#filter", Input).value = ""
        await press(pilot, "enter")
        assert len(browser.shown) == 2

        # compare the two
        await press(pilot, "space", "down", "space", "c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        shown = text(pilot)
        assert f"A run {first.run_id}" in shown and f"B run {second.run_id}" in shown
        assert "B - A" in shown and "realised equity" in shown
        chart = compare.chart()
        assert len(chart.series) == 2 and all(s.x.size >= 1 for s in chart.series)
        await press(pilot, "escape")

        # delete one after a confirm (n keeps it, y deletes it and its report folder)
        await press(pilot, "up", "delete")
        assert isinstance(app.screen, AskModal)
        await press(pilot, "n")
        assert len(browser.shown) == 2
        await press(pilot, "delete", "y")
        assert [r.id for r in browser.shown] == [first.run_id]
        assert second.report is not None and not second.report.exists()

        # delete all only after typing DELETE
        await press(pilot, "D")
        assert isinstance(app.screen, TypeToConfirm)
        await pilot.press(*"delete", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TypeToConfirm) and len(browser.records) == 1
        app.screen.query_one(Input).value = "DELETE"
        await press(pilot, "enter")
        assert app.screen is browser and browser.records == []
        assert first.report is not None and not first.report.exists()


async def test_browser_reruns_a_run_with_the_same_settings(
    new_console: Factory, tmp_path: Path
) -> None:
    app = lab_console(new_console, tmp_path)
    async with app.run_test(size=COMPACT) as pilot:
        await started(pilot)
        screen = await open_lab(pilot)
        await press(pilot, "ctrl+r")
        await finished(pilot, screen)
        first = screen.run.outcome  # type: ignore[union-attr]
        await press(pilot, "B")
        await key(pilot, "r")
        again = lab(app)
        assert again is not screen
        await finished(pilot, again)
        second = again.run.outcome  # type: ignore[union-attr]
        assert second.run_id != first.run_id
        assert second.result.params == first.result.params
        assert second.result.symbols == first.result.symbols
        assert second.metrics.final_equity == first.metrics.final_equity
        assert len(second.result.trades) == len(first.result.trades)
