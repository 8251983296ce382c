"""The stage pane: the ladder with the current rung marked in text, gates ok/FAIL, readiness and
domain toggles."""

from __future__ import annotations

from tests.tui.panes.conftest import WIDE, Host, stages
from tradeterm.tui.panes import StagePane
from tradeterm.tui.views import GateRow


async def shown(**kw: object) -> list[str]:
    pane = StagePane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = stages(**kw)
        await pilot.pause()
        return str(pane.text.content).split("\n")


async def test_the_current_stage_is_marked_and_every_stage_lists_its_domain_modes() -> None:
    lines = await shown()
    assert "▶ 2 crypto-live (current)  synthetics=live crypto_spot=live" in lines
    assert "  1 crypto-paper  synthetics=paper" in lines
    assert sum("(current)" in line for line in lines) == 1


async def test_gates_say_ok_or_fail_and_the_verdict_counts_failures() -> None:
    lines = await shown()
    assert "  crypto_spot: win rate 0.41 >= 0.35 ok" in lines
    assert "  crypto_spot: trades 12 >= 30 FAIL" in lines
    assert "NOT READY: 3 gates failing" in lines


async def test_a_stage_whose_gates_pass_is_ready_for_promotion() -> None:
    passing = (GateRow("crypto_spot", "trades", 40, 30, False, True, "trades 40 >= 30"),)
    lines = await shown(gates=passing, ready=True)
    assert "  crypto_spot: trades 40 >= 30 ok" in lines
    assert "READY for promotion" in lines


async def test_domain_toggles_read_on_or_off_in_words() -> None:
    lines = await shown(live_enabled=False)
    toggles = next(line for line in lines if "forex" in line)
    assert "synthetics on (paper)" in toggles
    assert "crypto_spot on (live)" in toggles
    assert "forex OFF" in toggles
    assert "live trading disabled (paper only)" in lines
