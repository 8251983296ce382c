"""Risk gauges read as words: ok / WARN / BREACH, the trading state and its reason, flags and
cooldowns."""

from __future__ import annotations

from tests.tui.panes.conftest import NOW, WIDE, Host, gauge, risk
from tradeterm.tui.panes import RiskPane


async def shown(view_kw: dict[str, object]) -> list[str]:
    pane = RiskPane()
    async with Host(pane).run_test(size=WIDE) as pilot:
        pane.view = risk(**view_kw)
        await pilot.pause()
        return str(pane.text.content).split("\n")


def line_with(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.strip().startswith(start))


async def test_an_active_book_shows_each_gauge_against_its_limit() -> None:
    pairs = (("sim:R_75", 0.03), ("sim:R_100", 0.11))
    lines = await shown({"gauges": (gauge(pair_exposure=pairs),)})
    assert lines[0] == "Trading ACTIVE"
    assert line_with(lines, "daily loss").split() == [
        "daily",
        "loss",
        "[#####.....]",
        "-3.1%",
        "/",
        "6.0%",
        "ok",
    ]
    assert line_with(lines, "drawdown").split()[-4:] == ["2.0%", "/", "15.0%", "ok"]
    assert line_with(lines, "exposure").split()[-4:] == ["12.0%", "/", "30.0%", "ok"]
    assert line_with(lines, "worst pair").split()[-5:] == [
        "11.0%",
        "/",
        "15.0%",
        "WARN",
        "sim:R_100",
    ]
    assert "no cooldowns" in lines


async def test_a_halted_book_says_why_and_the_breached_gauge_says_breach() -> None:
    tripped = gauge(drawdown=0.153, tripped=True, canary=True)
    lines = await shown(
        {"trading_state": "HALTED", "reason": "drawdown 15.3% >= 15%", "gauges": (tripped,)}
    )
    assert lines[0] == "HALTED: drawdown 15.3% >= 15%"
    assert line_with(lines, "drawdown").endswith("BREACH")
    assert line_with(lines, "synthetics") == "synthetics  canary ON  kill switch TRIPPED"


async def test_cooldowns_list_when_each_arm_is_free_again() -> None:
    lines = await shown({"cooldowns": (("ema_trend|sim:R_100", NOW + 5 * 60_000 + 33_000),)})
    assert "  ema_trend|sim:R_100 until 14:31 (5m33s left)" in lines


async def test_every_wallet_gets_its_own_gauges() -> None:
    lines = await shown({"gauges": (gauge("synthetics"), gauge("crypto_spot", daily_loss=0.0))})
    assert sum(line.strip().startswith("daily loss") for line in lines) == 2
    assert "crypto_spot  canary off  kill switch armed" in lines
