"""The daemon trades a Deriv live wallet through the node, survives a SIGKILL with a contract
open, and finds that contract again (issue 12, Done when).

`tradeterm run --no-ui` is a real subprocess on configs/deriv.toml pointed at the Deriv
simulator over loopback (the simulator runs in a thread of the test, so the test can read its
own record of buys and pause its market while the daemon is dead: a TP/SL cannot close the
contract in between). A strategy's signal opens the contract through the normal path (risk
engine, audit, order ledger); the daemon is killed with SIGKILL while it is open; the restart
reconciles against portfolio/proposal_open_contract, finds it, does not halt, and closes it on
the operator's `tradeterm close`. Every buy the simulator recorded is booked exactly once, and
the wallet's cash equals the account's balance at the end. Waits are on state, never on time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tradeterm.config import config_from_dict, dump_config
from tradeterm.testing.node_kit import busy_marketdata, busy_strategies
from tradeterm.venues.sim.servers.deriv_sim import Contract, DerivSimulator

from .daemon_kit import REPO, Daemon, cli, rows, wait_for

SYMBOLS = ["R_100", "1HZ100V", "R_75", "R_50", "1HZ75V", "R_25"]


class SimThread:
    """The Deriv simulator on its own event loop in a thread (the test stays synchronous)."""

    def __init__(self, speed: float) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim = DerivSimulator(speed=speed, history_s=6 * 3600)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> DerivSimulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self.loop).result(timeout=120)
        return self.sim

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)


@pytest.fixture
def deriv_sim() -> Iterator[DerivSimulator]:
    with SimThread(speed=30.0) as sim:
        yield sim


def node_config(tmp: Path, url: str, **deriv: Any) -> Path:
    """configs/deriv.toml pointed at the simulator, its live wallet approved, strategies on 5s
    bars (the simulator's clock runs 30x) with the gate's cost rules loosened as in
    daemon_kit, one position at a time, no human confirmation."""
    data: dict[str, Any] = tomllib.loads((REPO / "configs" / "deriv.toml").read_text())
    data["venues"]["deriv"]["endpoint"] = url
    data["venues"]["deriv"].update(deriv)
    data["domains"]["synthetics"]["symbols"] = SYMBOLS
    data["marketdata"] = busy_marketdata()
    data["strategies"] = busy_strategies()  # as the busy config: 5-second bars trade quickly
    data["allocator"] = {"exploration": 0.5}
    data["risk"].update(
        {
            "min_stop_cost_multiple": 1.5,
            "min_reward_risk": 2.0,
            "max_open_positions": 1,
            "cooldown_losses": 50,
            "daily_loss_cap": 0.5,
            "symbol_loss_cap": 0.5,
            "max_drawdown": 0.5,
        }
    )
    data["execution"] = {"confirm": "never", "reconcile": "halt", "resting_stops": True}
    data["wallets"]["live"]["approved"] = True
    data["rollout"] = {"initial_stage": 2}  # synthetics trade on the live wallet
    data["storage"] = {"state_dir": str(tmp / "state"), "reports_dir": str(tmp / "reports")}
    data["telemetry"] = {"log_level": "info", "log_format": "json"}
    path = tmp / "deriv-node.toml"
    path.write_text(dump_config(config_from_dict(data)), encoding="utf-8")
    return path


def start(config: Path, n: int) -> Daemon:
    os.environ["DERIV_API_TOKEN"] = "sim-token"  # the simulator takes any token
    return Daemon(
        [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--confirm", "--config", str(config)],
        config.parent,
        config.parent / f"daemon-{n}.err",
    )


def live_db(config: Path) -> Path:
    return config.parent / "state" / "live.db"


def booked_contracts(config: Path) -> list[int]:
    """Contract ids of the entry fills the books hold (each fill names its contract)."""
    db = live_db(config)
    if not db.exists():
        return []
    found = rows(
        db,
        "SELECT json_extract(f.data, '$.venue_ref') FROM fills f"
        " JOIN orders o ON o.client_order_id = f.client_order_id WHERE o.purpose = 'entry'",
    )
    return sorted(int(ref) for (ref,) in found)


def open_positions(config: Path) -> list[str]:
    db = live_db(config)
    return [r[0] for r in rows(db, "SELECT symbol FROM positions")] if db.exists() else []


def wallet_balance(config: Path) -> float:
    (data,) = rows(live_db(config), "SELECT data FROM wallets WHERE id = 'live:synthetics'")[0]
    return float(json.loads(data)["balance"])


def log_has(daemon: Daemon, fragment: str) -> bool:
    return fragment in daemon.log_path.read_text(encoding="utf-8")


def assert_trading(config: Path) -> None:
    """The restarted node trades: reconciliation halted neither the node nor a wallet."""
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["trading_state"] == "active", status
    assert not status["halted_wallets"], status


def close_through_the_books(config: Path, sim: DerivSimulator, held: Contract) -> None:
    """No new entry (the record stays readable), the market moving again, the operator closes
    the contract (unless a TP/SL closes it first): it is sold at the venue, closed in the books
    at what it paid, and the wallet's cash is the account's balance."""
    assert cli(config, "pause").returncode == 0
    sim.clock.resume()
    if held.open:
        done = cli(config, "close", held.symbol, "--yes")
        assert done.returncode == 0 or not held.open, done.stderr
    wait_for(lambda: not held.open and not open_positions(config), timeout=180)
    wait_for(lambda: abs(wallet_balance(config) - sim.balance) < 1e-6, timeout=60)


def test_a_sigkilled_daemon_finds_its_open_contract_and_closes_it(
    tmp_path: Path, deriv_sim: DerivSimulator
) -> None:
    sim = deriv_sim
    config = node_config(tmp_path, sim.url)
    daemon = start(config, 0)
    try:
        for _ in range(10):
            # a strategy's entry opened a contract, and the books hold it
            wait_for(
                lambda: (
                    any(c.open for c in list(sim.contracts.values())) and open_positions(config)
                ),
                timeout=300,
            )
            # the market stands still from here: nothing may close it while the node is dead.
            # The kill comes once every buy the venue made is booked (a daemon killed mid-buy
            # is the next test)
            sim.clock.pause()
            wait_for(lambda: booked_contracts(config) == sorted(sim.contracts), timeout=120)
            still = [c.symbol for c in list(sim.contracts.values()) if c.open]
            if still and open_positions(config) == still:
                break
            sim.clock.resume()  # it closed just before the pause: wait for the next entry
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.communicate(timeout=30)
    first_log = daemon.log_path.read_text(encoding="utf-8")
    assert "Traceback" not in first_log, first_log[-3000:]
    # the entry came through the gate: its plan names an approved risk decision
    plans = rows(live_db(config), "SELECT plan FROM orders WHERE purpose = 'entry'")
    decisions = {json.loads(p)["decision_id"] for (p,) in plans}
    approved = [
        row
        for db in ("paper.db", "live.db")
        for row in rows(
            config.parent / "state" / db,
            "SELECT id FROM risk_decisions WHERE verdict IN ('approved', 'resized')",
        )
    ]
    assert decisions and decisions <= {d for (d,) in approved}, (decisions, approved)
    (held,) = [c for c in list(sim.contracts.values()) if c.open]
    bought = sorted(sim.contracts)
    assert booked_contracts(config) == bought, "every buy booked once before the kill"
    assert open_positions(config) == [held.symbol]

    daemon = start(config, 1)
    try:
        wait_for(lambda: log_has(daemon, "node started"), timeout=300)
        # reconciled against portfolio/proposal_open_contract: the contract is ours, no orphan
        assert_trading(config)
        assert open_positions(config) == [held.symbol] and held.open
        close_through_the_books(config, sim, held)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err[-3000:]
    assert sorted(sim.contracts) == booked_contracts(config), "no buy lost or doubled"
    assert bought == sorted(sim.contracts)[: len(bought)]
    trades = rows(live_db(config), "SELECT data FROM trades")
    assert any(json.loads(d)["symbol"] == held.symbol for (d,) in trades)
    assert "reconcile found orphans" not in err


def test_a_daemon_killed_mid_buy_books_the_contract_it_bought(
    tmp_path: Path, deriv_sim: DerivSimulator
) -> None:
    """The venue bought the contract but the daemon died before the reply: the order is stored,
    never acknowledged, and Deriv has no client order id. The restart's reconciliation finds
    the one open contract no booked order claims on that symbol and side, of that size, and
    books it as the order's fill: no orphan, no halt, no second buy, the contract protected and
    closed through the books."""
    sim = deriv_sim
    # the client would stop waiting for the held reply after request_timeout_s and find the
    # contract itself (MultiplierTrader.buy): the longest wait, so the kill comes first
    config = node_config(tmp_path, sim.url, request_timeout_s=120)
    sim.faults.hold_buy_reply = True  # the venue buys, and never answers
    daemon = start(config, 0)
    try:
        wait_for(lambda: len(sim.contracts) > 0, timeout=300)
        sim.clock.pause()  # nothing may close it while the node is dead
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.communicate(timeout=30)
    ((cid, held),) = list(sim.contracts.items())
    assert held.open
    assert booked_contracts(config) == [], "the kill came before the buy's reply"
    (entry,) = rows(live_db(config), "SELECT status FROM orders WHERE purpose = 'entry'")
    assert entry == ("new",), "the entry was stored before it was sent, and never acknowledged"

    daemon = start(config, 1)
    try:
        wait_for(lambda: log_has(daemon, "node started"), timeout=300)
        assert_trading(config)
        assert booked_contracts(config) == [cid], "the contract is the entry's, booked once"
        assert open_positions(config) == [held.symbol]
        (entry,) = rows(live_db(config), "SELECT status FROM orders WHERE purpose = 'entry'")
        assert entry == ("filled",)
        close_through_the_books(config, sim, held)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err[-3000:]
    assert sorted(sim.contracts) == booked_contracts(config) == [cid], "no buy lost or doubled"
    assert "reconcile found orphans" not in err
    assert "recovered as" in err, "the restart says what it recovered"
