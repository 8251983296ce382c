"""Reconciliation on Binance USDT-M over loopback: the Binance futures simulator (aiohttp on
127.0.0.1, HMAC checked), ccxt's binanceusdm as the node's client, the shipped
configs/binance-futures.toml trading live, and the real console on top.

Someone trades the same account behind tradeterm's back (another ccxt client, client ids the
node never made): an open limit order, a small ETH position and a BTC position too big for the
risk limits. The start-up reconciliation finds them and halts; the `R` screen lists them; `c`
cancels the orphan order at the venue (the simulator no longer lists it), `a` adopts the ETH
position through the risk gate (it appears in the books with its resting stop) and refuses the
BTC one with the gate's reason; an orphan order adopted as ours is followed on the user stream.
Every action is in the audit journal.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from textual.pilot import Pilot

from tests.integration.crypto_kit import served, wait_for
from tests.integration.daemon_kit import live_perp_sets, node_args
from tests.tui.kit import (
    MANUAL_REFRESH_HZ,
    ConsoleUnderTest,
    audited,
    console_of,
    press,
    settle,
    started,
    text,
)
from tradeterm.clock import LiveClock
from tradeterm.config import load_config
from tradeterm.domain.enums import OrderStatus, Side, TradingState
from tradeterm.node import NodeOptions, build_node
from tradeterm.tui.screens.reconcile import ReconcileConfirm, ReconcileScreen
from tradeterm.venues.crypto.binance import BINANCE_FUTURES, point_binance
from tradeterm.venues.sim.servers.binance import BinanceFuturesSim, BinanceSimOptions

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "binance-futures.toml"
LIVE = "live:crypto_perp"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[BinanceFuturesSim, str, str]]:
    server = BinanceFuturesSim(BinanceSimOptions(history_days=6, balance=1000.0, tick_ms=100))
    async with served(server) as running:
        yield running


def stranger(rest: str, ws: str) -> Any:
    """Another client on the same account (any key: the simulator accepts any when unset)."""
    ex = ccxtpro.binanceusdm(
        {"apiKey": "k", "secret": "s", "options": dict(BINANCE_FUTURES.options)}
    )
    point_binance(ex, rest, ws)
    return ex


def qty_for(notional: float, price: float, step: float = 0.001) -> float:
    return round(math.ceil(notional / price / step) * step, 3)


def console(tmp_path: Path, rest: str, ws: str) -> ConsoleUnderTest:
    sets = [
        *live_perp_sets(rest, ws),
        "marketdata.warmup_bars=60",
        "marketdata.store_candles=false",
        f"storage.state_dir={tmp_path / 'state'}",
        f"storage.reports_dir={tmp_path / 'reports'}",
    ]
    config = load_config(CONFIG, sets)
    clock = LiveClock()
    node = build_node(config, clock, NodeOptions(live_confirmed=True, metrics_server=False))
    return ConsoleUnderTest(node, clock=clock, refresh_hz=MANUAL_REFRESH_HZ)  # type: ignore[arg-type]


def screen(app: ConsoleUnderTest) -> ReconcileScreen:
    assert isinstance(app.screen, ReconcileScreen), type(app.screen)
    return app.screen


async def choose(pilot: Pilot[Any], kind: str, symbol: str) -> str:
    app = console_of(pilot)
    rows = [(d.kind, d.symbol) for d in screen(app).diffs]
    row = rows.index((kind, symbol))
    screen(app).query_one("#diffs").move_cursor(row=row)  # type: ignore[attr-defined]
    await settle(pilot)
    return screen(app).diffs[row].id


async def test_orphans_on_binance_are_listed_in_r_closed_and_adopted_through_the_gate(
    tmp_path: Path, sim: tuple[BinanceFuturesSim, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, rest, ws = sim
    monkeypatch.setenv("BINANCE_API_KEY", "any-key")
    monkeypatch.setenv("BINANCE_API_SECRET", "any-secret")
    eth, btc = server.last("ETHUSDT"), server.last("BTCUSDT")
    hand = stranger(rest, ws)
    try:
        low = round(eth * 0.97, 2)
        await hand.create_order(
            "ETH/USDT:USDT", "limit", "buy", qty_for(40, low), low, {"clientOrderId": "by-hand-1"}
        )
        await hand.create_order(
            "ETH/USDT:USDT", "limit", "buy", qty_for(25, low), low, {"clientOrderId": "by-hand-2"}
        )
        small = qty_for(80, eth)  # fits under the 15 % pair cap of a 1000 USDT wallet
        await hand.create_order("ETH/USDT:USDT", "market", "buy", small)
        big = qty_for(400, btc)  # does not
        await hand.create_order("BTC/USDT:USDT", "market", "sell", big)
    finally:
        await hand.close()

    app = console(tmp_path, rest, ws)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, tries=6000)
        node = app.node
        assert node.risk.state is TradingState.HALTED  # policy halt, at start
        await press(pilot, "R")
        shown = text(pilot)
        assert "by-hand-1" in shown and "by-hand-2" in shown
        assert {(d.kind, d.symbol) for d in screen(app).diffs} >= {
            ("orphan_order", "ETHUSDT"),
            ("orphan_position", "ETHUSDT"),
            ("orphan_position", "BTCUSDT"),
        }

        # c on the orphan order: cancelled at the venue, audited
        rows = [d.client_order_id for d in screen(app).diffs]
        screen(app).query_one("#diffs").move_cursor(row=rows.index("by-hand-1"))  # type: ignore[attr-defined]
        await settle(pilot)
        await press(pilot, "c")
        assert isinstance(app.screen, ReconcileConfirm)
        assert "will send: cancel order by-hand-1 ETH/USDT:USDT at the venue" in text(pilot)
        await press(pilot, "y")
        live = {o.client_id for o in server.orders.values() if o.status == "NEW"}
        assert "by-hand-1" not in live and "by-hand-2" in live
        assert audited(app, "reconcile_close") == [("console", True)]

        # a on the BTC position: the gate says no, with its reason; nothing adopted
        await choose(pilot, "orphan_position", "BTCUSDT")
        await press(pilot, "a")
        assert f"will send: adopt sell {big:g} BTC/USDT:USDT @ " in text(pilot)
        await press(pilot, "y")
        assert app.noted("refused by the risk gate: pair exposure cap on binance_futures:BTCUSDT")
        assert audited(app, "reconcile_adopt") == [("console", False)]
        assert not [p for p in node.portfolio.positions(LIVE) if p.symbol == "BTCUSDT"]

        # a on the ETH position: adopted, in the books, its stop resting at the venue
        await choose(pilot, "orphan_position", "ETHUSDT")
        await press(pilot, "a", "y")
        (held,) = node.portfolio.positions(LIVE)
        assert held.symbol == "ETHUSDT" and held.side is Side.BUY
        assert held.qty == pytest.approx(small)
        assert audited(app, "reconcile_adopt")[-1] == ("console", True)
        await wait_for(
            lambda: [o for o in server.orders.values() if o.reduce_only and o.status == "NEW"],
            "the adopted position's resting stop at the venue",
        )

        # an orphan order adopted as ours: in the ledger with its venue id, followed on the
        # user stream (cancelled by its owner elsewhere -> cancelled in our books)
        await choose(pilot, "orphan_order", "ETHUSDT")
        await press(pilot, "a", "y")
        ours = node.execution.ledger.get("by-hand-2", LIVE)
        assert ours is not None and ours.status is OrderStatus.SUBMITTED and ours.venue_order_id
        hand = stranger(rest, ws)
        try:
            await hand.cancel_order(ours.venue_order_id, "ETH/USDT:USDT")
        finally:
            await hand.close()
        await wait_for(
            lambda: (
                (o := node.execution.ledger.get("by-hand-2", LIVE)) is not None
                and o.status is OrderStatus.CANCELLED
            ),
            "the adopted order's cancel booked from the user stream",
        )
        await app.workers.wait_for_complete()


def test_reconcile_from_the_shell_against_a_daemon_trading_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tradeterm reconcile list|close|adopt|ignore` against `tradeterm run --no-ui` trading
    `tradeterm sim-server binance-futures` (both their own processes)."""
    import shutil
    import subprocess
    import sys

    from tests.integration.daemon_kit import Daemon, cli, rows
    from tests.integration.daemon_kit import wait_for as wait_sync

    monkeypatch.setenv("BINANCE_API_KEY", "any-key")
    monkeypatch.setenv("BINANCE_API_SECRET", "any-secret")
    out = tmp_path / "sim.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "tradeterm", "sim-server", "binance-futures"),
                *("--port", "0", "--history-days", "6", "--balance", "1000"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    daemon: Daemon | None = None
    try:

        def urls() -> list[str] | None:
            lines = out.read_text().splitlines()
            return lines[:2] if len(lines) >= 2 else None

        rest, ws = wait_sync(urls, 120)

        async def by_hand() -> None:
            ex = stranger(rest, ws)
            try:
                last = (await ex.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=1))[-1][4]
                price = round(last * 0.97, 2)
                await ex.create_order(
                    "ETH/USDT:USDT", "limit", "buy", qty_for(40, price), price,
                    {"clientOrderId": "by-hand-1"},
                )  # fmt: skip
            finally:
                await ex.close()

        async def venue_orders() -> set[str]:
            ex = stranger(rest, ws)
            try:
                return {o["clientOrderId"] for o in await ex.fetch_open_orders("ETH/USDT:USDT")}
            finally:
                await ex.close()

        asyncio.run(by_hand())
        config = tmp_path / "binance-futures.toml"
        shutil.copy(CONFIG, config)
        sets = [*live_perp_sets(rest, ws), "marketdata.warmup_bars=60"]
        args = node_args(config, sets)
        daemon = Daemon(args, tmp_path, tmp_path / "daemon.err")
        wait_sync(lambda: "daemon running" in daemon.log_path.read_text(), timeout=120)  # type: ignore[union-attr]

        listed = cli(config, "reconcile", "list")
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if "by-hand-1" in x)
        diff_id = line.split()[0]
        assert "open" in line and "orphan order" in line and "ETHUSDT" in line
        closed = cli(config, "reconcile", "close", diff_id, "--yes")
        assert closed.returncode == 0, closed.stderr
        assert "cancel order by-hand-1 ETH/USDT:USDT at the venue" in closed.stdout
        assert f"{diff_id} closed: cancelled by-hand-1 at the venue by cli" in closed.stdout
        assert "by-hand-1" not in asyncio.run(venue_orders())
        again = cli(config, "reconcile", "adopt", diff_id, "--yes")
        assert again.returncode == 1 and "already closed" in again.stderr, again.stderr
        bad = cli(config, "reconcile", "ignore", "no such id!")
        assert bad.returncode == 2 and "id" in bad.stderr and "Traceback" not in bad.stderr
        as_json = cli(config, "reconcile", "list", "--json")
        assert '"status": "closed"' in as_json.stdout
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.communicate(timeout=60)
        server.terminate()
        server.wait(timeout=30)
    audit = rows(
        tmp_path / "state" / "paper.db",
        "SELECT source, action, ok FROM audit WHERE action LIKE 'reconcile%' ORDER BY ts_ms",
    )
    assert audit == [("cli", "reconcile_close", 1), ("cli", "reconcile_adopt", 0)]
