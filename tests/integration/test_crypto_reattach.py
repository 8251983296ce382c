"""After a restart the node re-attaches the take profit or stop loss that went missing at the
venue while it was down, at the same level, without doubling the one still resting.

Real parts end to end: `tradeterm sim-server binance-futures` as its own process, the node as
`tradeterm run --no-ui` on a live wallet (approved in config and --confirm), ccxt both in the node
and in the test (which plays the operator's hand at the exchange). The test waits on the
venue's and the node's state, never on time windows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.daemon_kit import Daemon, live_perp_sets, rows, wait_for
from tradeterm.venues.crypto.binance import BINANCE_FUTURES, point_binance

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "binance-futures.toml"
SYMBOL = "ETH/USDT:USDT"


@pytest.fixture
def sim_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    log = tmp_path / "sim.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradeterm", "sim-server", "binance-futures", "--port", "0",
             "--history-days", "20", "--funding-interval-s", "28800", "--balance", "1000"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        lines = wait_for(
            lambda: (t := log.read_text().splitlines()) and len(t) >= 2 and t, timeout=120
        )
        yield lines[0], lines[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _at_venue(rest: str, ws: str, call: Any) -> Any:
    """Run `call(exchange)` with a ccxt binanceusdm pointed at the simulator (the operator's
    own hand at the exchange: not tradeterm)."""
    import ccxt.pro as ccxtpro

    async def go() -> Any:
        ex = ccxtpro.binanceusdm(
            {"apiKey": "a", "secret": "b", "options": dict(BINANCE_FUTURES.options)}
        )
        point_binance(ex, rest, ws)
        try:
            return await call(ex)
        finally:
            await ex.close()

    return asyncio.run(go())


def _resting(rest: str, ws: str) -> dict[str, tuple[str, float]]:
    """The conditional orders open at the venue: client id -> (type, trigger price)."""

    async def call(ex: Any) -> Any:
        return await ex.fetch_open_orders(SYMBOL, None, None, {"trigger": True})

    return {
        o["clientOrderId"]: (str(o["info"].get("orderType")), float(o["triggerPrice"]))
        for o in _at_venue(rest, ws, call)
        if o.get("reduceOnly")
    }


def _stored(state: Path) -> dict[str, tuple[str, str]]:
    """The node's protective orders: client id -> (purpose, status)."""
    db = state / "live.db"
    if not db.exists():
        return {}
    found = rows(
        db,
        "SELECT client_order_id, purpose, status FROM orders"
        " WHERE purpose IN ('stop_loss', 'take_profit')",
    )
    return {coid: (purpose, status) for coid, purpose, status in found}


def _node(tmp_path: Path, config: Path, rest: str, ws: str, n: int, policy: str) -> Daemon:
    sets = [*live_perp_sets(rest, ws), f"execution.reconcile={policy}"]
    args = [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--confirm"]
    args += ["--config", str(config)] + [x for s in sets for x in ("--set", s)]
    return Daemon(args, tmp_path, tmp_path / f"node-{n}.err")


@pytest.mark.parametrize("lost", ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
def test_a_restarted_node_reattaches_the_missing_leg_and_keeps_the_other(
    tmp_path: Path, sim_server: tuple[str, str], monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", "any-key")
    monkeypatch.setenv("BINANCE_API_SECRET", "any-secret")
    rest, ws = sim_server
    state = tmp_path / "state"
    config = tmp_path / "binance-futures.toml"
    shutil.copy(CONFIG, config)

    async def open_long(ex: Any) -> Any:
        return await ex.create_order(
            SYMBOL, "market", "buy", 0.05, None, {"clientOrderId": "hand-1"}
        )

    _at_venue(rest, ws, open_long)

    # the first run adopts the long and rests its stop and target at the venue
    node = _node(tmp_path, config, rest, ws, 1, "adopt")  # the hand-opened long becomes ours
    try:
        wait_for(lambda: "node started" in node.log_path.read_text(), timeout=180)
        first = wait_for(
            lambda: (
                (r := _resting(rest, ws))
                and sorted(t for t, _ in r.values()) == ["STOP_MARKET", "TAKE_PROFIT_MARKET"]
                and all(_stored(state).get(c, ("", ""))[1] == "submitted" for c in r)
                and r
            ),
            timeout=120,
        )
    finally:
        node.send_signal(signal.SIGKILL)  # no cleanup: the orders stay at the venue
        _, log1 = node.communicate(timeout=30)
    assert "Traceback" not in log1
    lost_id = next(c for c, (t, _) in first.items() if t == lost)
    kept_id, (kept_type, kept_level) = next((c, v) for c, v in first.items() if c != lost_id)
    lost_level = first[lost_id][1]

    # behind the dead node's back, someone cancels one leg at the exchange
    async def cancel_leg(ex: Any) -> Any:
        return await ex.cancel_order(None, SYMBOL, {"clientAlgoId": lost_id, "trigger": True})

    _at_venue(rest, ws, cancel_leg)
    assert set(_resting(rest, ws)) == {kept_id}

    # the second run reconciles and re-attaches the missing leg; the other is left alone
    node = _node(tmp_path, config, rest, ws, 2, "halt")  # the shipped policy
    try:
        wait_for(lambda: "node started" in node.log_path.read_text(), timeout=180)
        after = _resting(rest, ws)
    finally:
        node.send_signal(signal.SIGTERM)
        _, log2 = node.communicate(timeout=60)
    assert "Traceback" not in log2
    assert "halted" not in log2  # a missing leg of our own is no orphan: trading goes on
    assert after.get(kept_id) == (kept_type, kept_level)  # untouched
    assert len(after) == 2, after  # one stop, one target: nothing doubled
    ((new_id, (new_type, new_level)),) = ((c, v) for c, v in after.items() if c != kept_id)
    assert new_type == lost and new_id != lost_id
    assert new_level == pytest.approx(lost_level)  # the same level: never wider
    stored = _stored(state)
    purpose = "stop_loss" if lost == "STOP_MARKET" else "take_profit"
    assert stored[lost_id][1] in ("cancelled", "expired"), stored[lost_id]
    assert stored[new_id] == (purpose, "submitted")
    assert stored[kept_id][1] == "submitted"
