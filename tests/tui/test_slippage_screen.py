"""f opens the slippage screen: per pair the fills recorded against their decision prices and
the fitted model, the same rows as `tradeterm slippage show` -- on a real node's paper fills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.tui.kit import SIZES, ConsoleUnderTest, console_of, press, run_until, started, text
from tradeterm.execution.slippage import report_cells, slippage_report
from tradeterm.storage import slippage as slip_db
from tradeterm.tui.screens.main import MainScreen
from tradeterm.tui.screens.slippage import SlippageScreen

Factory = Callable[..., ConsoleUnderTest]
SnapCompare = Callable[..., bool]
COSTS = {"costs": {"slippage": "fitted", "min_fills": 3}}


async def _trade_and_refit(pilot: Pilot[Any]) -> ConsoleUnderTest:
    """Trade until two pairs have fills, one of them 4, then refit (the node's timer does)."""
    app = await started(pilot)
    store = app.node.stores.paper

    def enough() -> bool:
        pairs = slip_db.pairs(store)
        return len(pairs) >= 2 and max(n for _v, _s, n in pairs) >= 4

    await run_until(pilot, enough, limit_s=1800)
    assert app.node.slippage is not None
    app.node.slippage.refit()
    return app


async def test_f_shows_recorded_slippage_and_the_fits_per_pair(new_console: Factory) -> None:
    app = new_console(extra=COSTS)
    async with app.run_test(size=(160, 48)) as pilot:
        await _trade_and_refit(pilot)
        rows = slippage_report([("paper", app.node.stores.paper)], app.node.config)
        assert any(r.fit is not None for r in rows)

        await press(pilot, "f")
        screen = app.screen
        assert isinstance(screen, SlippageScreen)
        table = screen.query_one("#slippage", DataTable)
        assert [str(k.value) for k in table.rows] == [f"paper/{r.key}" for r in rows]
        for row in rows:
            shown = [str(c) for c in table.get_row(f"paper/{row.key}")]
            assert shown == list(report_cells(row))
            assert shown[8] == ("fitted" if row.fit is not None else "configured")
        shown_text = text(pilot)
        assert f"{len(rows)} pairs" in shown_text and "costs.slippage = fitted" in shown_text

        await press(pilot, "escape")
        assert isinstance(console_of(pilot).screen, MainScreen)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_slippage_screen_snapshot(
    snap_compare: SnapCompare, new_console: Factory, size: tuple[int, int]
) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _trade_and_refit(pilot)
        await press(pilot, "f")

    assert snap_compare(new_console(extra=COSTS), terminal_size=size, run_before=run)
