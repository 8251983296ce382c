"""Stage screen and promotion: the ladder, the gate report, y when ready, FORCE when not."""

from __future__ import annotations

import pytest

from tests.tui.screens.kit import SIZES, Host, clear_input, screen_text, type_text
from tradeterm.tui.screens import PromoteModal, StageScreen
from tradeterm.tui.views import DomainRow, GateRow, StageRow, StageView

_DOMAINS = {
    1: (("synthetics", "paper"), ("crypto_spot", "paper")),
    2: (("synthetics", "paper"), ("crypto_spot", "live")),
    3: (("crypto_spot", "live"), ("forex", "paper")),
}
_NAMES = {1: "crypto-paper", 2: "crypto-live", 3: "perps-forex"}


def _gate(domain: str, kpi: str, text: str, passed: bool) -> GateRow:
    return GateRow(domain, kpi, 0.0, 0.0, False, passed, text)


PASSING = (
    _gate("synthetics", "trades", "  trades          42  >= 30       ok", True),
    _gate("crypto_spot", "win_rate", "  win rate     41.0%  >= 35.0%    ok", True),
)
FAILING = (
    _gate("synthetics", "trades", "  trades          42  >= 30       ok", True),
    _gate("crypto_spot", "sharpe", "  sharpe        0.21  >= 0.50     FAIL", False),
    _gate("crypto_spot", "days", "  days           3.0  >= 7.0      FAIL", False),
)


def _view(index: int = 1, *, ready: bool = True, live_enabled: bool = True) -> StageView:
    stages = tuple(
        StageRow(i, _NAMES[i], f"stage {i} description", _DOMAINS[i], i == index) for i in (1, 2, 3)
    )
    return StageView(
        index=index,
        stages=stages,
        gates=PASSING if ready else FAILING,
        ready=ready,
        report_text="",
        domains=(
            DomainRow("synthetics", "paper", True),
            DomainRow("forex", "off", False),
        ),
        live_enabled=live_enabled,
    )


@pytest.mark.parametrize("size", SIZES)
async def test_stage_screen_shows_ladder_gates_and_readiness(size: tuple[int, int]) -> None:
    app = Host(StageScreen(_view(1, ready=False, live_enabled=False)))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "ROLLOUT STAGES" in text
        assert "▶ 1 crypto-paper CURRENT synthetics paper, crypto_spot paper" in text
        assert "2 crypto-live synthetics paper, crypto_spot live (live: not enabled)" in text
        assert "3 perps-forex" in text
        assert (
            "live trading not enabled in this run: stages that trade live cannot be entered" in text
        )
        assert "Gate report: stage 1 'crypto-paper' -> 2 'crypto-live'" in text
        assert "crypto_spot sharpe 0.21 >= 0.50 FAIL" in text
        assert "synthetics trades 42 >= 30 ok" in text
        assert "NOT READY: 2 of 3 gates FAIL" in text
        assert "synthetics paper ON" in text and "forex off OFF" in text
        assert "P (shift+p) promote" in text


async def test_live_note_hidden_when_live_is_enabled_and_update_view_refreshes() -> None:
    screen = StageScreen(_view(1, ready=False, live_enabled=True))
    app = Host(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert "live trading not enabled" not in screen_text(app)
        screen.update_view(_view(2, ready=True, live_enabled=True))
        await pilot.pause()
        text = screen_text(app)
        assert "▶ 2 crypto-live CURRENT" in text
        assert "1 crypto-paper CURRENT" not in text
        assert "Gate report: stage 2 'crypto-live' -> 3 'perps-forex'" in text
        assert "READY to promote: every gate passed" in text


@pytest.mark.parametrize("size", SIZES)
async def test_ready_promotion_goes_through_the_prompt_with_y(size: tuple[int, int]) -> None:
    app = Host(StageScreen(_view(1, ready=True)))
    async with app.run_test(size=size) as pilot:
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, PromoteModal)
        text = screen_text(app)
        assert "Promote stage 1 'crypto-paper' -> 2 'crypto-live'" in text
        assert "READY: every gate passed. Press y to promote." in text
        await pilot.press("y")
        await pilot.pause()
        assert app.results == ["promote"]


@pytest.mark.parametrize("size", SIZES)
async def test_failed_gates_need_force_typed_before_y_promotes(size: tuple[int, int]) -> None:
    app = Host(StageScreen(_view(1, ready=False)))
    async with app.run_test(size=size) as pilot:
        await pilot.press("P")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, PromoteModal)
        text = screen_text(app)
        assert "NOT READY: failing gates" in text
        assert "crypto_spot days 3.0 >= 7.0 FAIL" in text
        assert "y is disabled until FORCE is typed" in text
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is modal
        await type_text(pilot, "force")
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is modal and app.results == []
        await clear_input(pilot)
        await type_text(pilot, "FORCE")
        assert "FORCE typed: y promotes past the failed gates" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert app.results == ["force"]


@pytest.mark.parametrize("ready", [True, False])
@pytest.mark.parametrize("key", ["n", "escape"])
async def test_declining_the_prompt_returns_to_the_stage_screen(key: str, ready: bool) -> None:
    stage_screen = StageScreen(_view(1, ready=ready))
    app = Host(stage_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is stage_screen and app.results == []
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


@pytest.mark.parametrize("size", SIZES)
async def test_last_stage_has_nothing_to_confirm(size: tuple[int, int]) -> None:
    modal = PromoteModal(_view(3, ready=True))
    app = Host(modal)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert "Already at the last stage" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is modal and app.results == []
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_live_stage_cannot_be_entered_without_live_enabled() -> None:
    modal = PromoteModal(_view(1, ready=True, live_enabled=False))
    app = Host(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Stage 2 'crypto-live' trades live and live trading is not enabled" in text
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is modal and app.results == []
