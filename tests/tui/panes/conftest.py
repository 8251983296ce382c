"""Pane test kit: a one-pane host app, a settable clock, and view builders with plain defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from tradeterm.tui.views import (
    AllocatorView,
    ArmRow,
    ConfirmationRow,
    DomainRow,
    GateRow,
    GaugeView,
    HeaderView,
    MarketRow,
    PositionRow,
    RiskView,
    SignalRow,
    StageRow,
    StageView,
    VenueBadge,
    WalletBadge,
    WalletView,
)

NOW = 1_767_277_567_000
"""2026-01-01 14:26:07 UTC in epoch ms."""

WIDE = (160, 48)
COMPACT = (80, 24)


DERIV_CONTRACT: dict[str, Any] = dict(
    symbol="R_100",
    side="buy",
    qty=0.999875,
    entry=1202.85,
    mark=1204.10,
    unrealized=0.43,
    stop_loss=1197.05,
    take_profit=1219.2,
    decimals=2,
    contract="250000017",
    multiplier=10.0,
    stake=120.27,
    tp_amount=15.73,
    sl_amount=6.39,
    stop_out=1092.38,
)
"""A Deriv multiplier contract on R_100: the fields of a `position(...)` row for it."""


class Host(App[None]):
    """A tiny app that shows one pane and nothing else."""

    def __init__(self, pane: Widget, *, compact: bool = False) -> None:
        super().__init__()
        self.animation_level = "none"  # as ConsoleUnderTest: no widget caught mid-animation
        self.pane = pane
        self._compact = compact

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        if self._compact:
            self.screen.add_class("-compact")


@dataclass
class UiClock:
    """A clock the test moves by hand (the confirmations countdown reads it)."""

    now: int = NOW

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def header(**kw: Any) -> HeaderView:
    values: dict[str, Any] = dict(
        wallets=(WalletBadge("synthetics", "PAPER"), WalletBadge("crypto_spot", "LIVE")),
        stage_index=2,
        stage_count=5,
        stage_name="crypto-live",
        trading_state="ACTIVE",
        trading_reason="",
        venues=(VenueBadge("sim", True, 0.4, 0), VenueBadge("deriv", True, 1.2, 1)),
        pending=3,
        live_enabled=True,
        now_ms=NOW,
    )
    values.update(kw)
    return HeaderView(**values)


def market(symbol: str, last: float, **kw: Any) -> MarketRow:
    values: dict[str, Any] = dict(
        key=f"sim:{symbol}",
        venue="sim",
        symbol=symbol,
        last=last,
        change_pct=1.25,
        spread=0.1,
        atr=2.5,
        regime="trend/bull",
        arms=2,
        decimals=2,
    )
    values.update(kw)
    return MarketRow(**values)


def position(key: str, **kw: Any) -> PositionRow:
    values: dict[str, Any] = dict(
        key=key,
        symbol="R_100",
        side="long",
        qty=0.5,
        entry=1234.5,
        mark=1240.0,
        unrealized=2.75,
        stop_loss=1200.0,
        take_profit=0.0,
        age_s=192,
    )
    values.update(kw)
    return PositionRow(**values)


def wallet(
    wallet_id: str, mode: str = "PAPER", positions: tuple[PositionRow, ...] = (), **kw: Any
) -> WalletView:
    values: dict[str, Any] = dict(
        wallet_id=wallet_id,
        mode=mode,
        currency="USD",
        equity=1012.34,
        balance=1000.0,
        unrealized=3.21,
        realized=0.0,
        daily_pnl=12.34,
        drawdown=0.012,
        exposure=298.0,
        positions=positions,
    )
    values.update(kw)
    return WalletView(**values)


def signal(signal_id: str, **kw: Any) -> SignalRow:
    values: dict[str, Any] = dict(
        signal_id=signal_id,
        ts_ms=NOW,
        symbol="R_100",
        strategy="ema_trend",
        side="long",
        entry=1234.5,
        stop_loss=1200.0,
        take_profit=1338.0,
        reward_risk=3.0,
        confidence=0.72,
        decision="",
        reason="",
    )
    values.update(kw)
    return SignalRow(**values)


def gauge(wallet_id: str = "synthetics", **kw: Any) -> GaugeView:
    values: dict[str, Any] = dict(
        wallet_id=wallet_id,
        daily_loss=0.031,
        daily_loss_cap=0.06,
        drawdown=0.02,
        kill_level=0.15,
        portfolio_exposure=0.12,
        portfolio_cap=0.30,
        pair_exposure=(("sim:R_100", 0.09), ("sim:R_75", 0.03)),
        pair_cap=0.15,
        canary=False,
        tripped=False,
    )
    values.update(kw)
    return GaugeView(**values)


def risk(**kw: Any) -> RiskView:
    values: dict[str, Any] = dict(
        trading_state="ACTIVE", reason="", gauges=(gauge(),), cooldowns=(), now_ms=NOW
    )
    values.update(kw)
    return RiskView(**values)


def stages(**kw: Any) -> StageView:
    values: dict[str, Any] = dict(
        index=2,
        stages=(
            StageRow(1, "crypto-paper", "everything on paper", (("synthetics", "paper"),), False),
            StageRow(
                2,
                "crypto-live",
                "crypto spot goes live",
                (("synthetics", "live"), ("crypto_spot", "live")),
                True,
            ),
            StageRow(3, "perps", "", (("crypto_perp", "paper"),), False),
        ),
        gates=(
            GateRow("crypto_spot", "win_rate", 0.41, 0.35, False, True, "win rate 0.41 >= 0.35 ok"),
            GateRow("crypto_spot", "trades", 12, 30, False, False, "trades 12 >= 30 FAIL"),
            GateRow("crypto_spot", "max_dd", 0.2, 0.1, True, False, "max dd 0.20 <= 0.10 FAIL"),
            GateRow("synthetics", "sharpe", 0.2, 1.0, False, False, "sharpe 0.20 >= 1.00 FAIL"),
        ),
        ready=False,
        report_text="",
        domains=(
            DomainRow("synthetics", "paper", True),
            DomainRow("crypto_spot", "live", True),
            DomainRow("forex", "paper", False),
        ),
        live_enabled=True,
    )
    values.update(kw)
    return StageView(**values)


def confirmation(confirmation_id: str, ttl_s: float, **kw: Any) -> ConfirmationRow:
    values: dict[str, Any] = dict(
        id=confirmation_id,
        wallet_id="synthetics",
        symbol="R_100",
        side="buy",
        qty=0.5,
        entry=1234.5,
        stop_loss=1200.0,
        take_profit=1338.0,
        reward_risk=3.0,
        strategy="ema_trend",
        created_ms=NOW - 10_000,
        expires_ms=NOW + int(ttl_s * 1000),
        reasons="ok",
    )
    values.update(kw)
    return ConfirmationRow(**values)


def arm(name: str, mean: float, **kw: Any) -> ArmRow:
    values: dict[str, Any] = dict(
        arm=name, mean=mean, sd=0.31, pulls=12, trades=10, win_rate=0.4, payoff=1.8, value=mean
    )
    values.update(kw)
    return ArmRow(**values)


def allocator(**kw: Any) -> AllocatorView:
    values: dict[str, Any] = dict(
        exploration=0.10,
        learning=True,
        arms=(arm("ema_trend|sim:R_100", 0.42), arm("breakout|sim:R_75", -0.1)),
    )
    values.update(kw)
    return AllocatorView(**values)
