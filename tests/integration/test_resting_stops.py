"""A killed node leaves protected positions, and a kill switch trip survives a crash.

Both run the real daemon as a subprocess on the sim venue's "live" account, whose books live in
the venue's own database (state/sim-sim.db), as a real exchange keeps them while we are down.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from .daemon_kit import (
    REPO,
    Daemon,
    Lines,
    cli,
    read_running,
    rows,
    start_daemon,
    status,
    wait_for,
    write_config,
)


def _resting_stops(state: Path) -> list[tuple[str, str]]:
    """(client order id, symbol) of the stop-loss orders working at the sim venue."""
    return [
        (coid, symbol)
        for coid, symbol in read_running(
            state / "sim-sim.db",
            "SELECT client_order_id, symbol FROM orders WHERE account = 'live' AND working = 1"
            " AND json_extract(data, '$.purpose') = 'stop_loss'",
        )
    ]


def _working_entries(state: Path) -> list[str]:
    """Client order ids of the entry orders still working at the sim venue."""
    return [
        r[0]
        for r in read_running(
            state / "sim-sim.db",
            "SELECT client_order_id FROM orders WHERE account = 'live' AND working = 1"
            " AND json_extract(data, '$.purpose') = 'entry'",
        )
    ]


def _open_live_positions(state: Path) -> list[str]:
    return [r[0] for r in read_running(state / "live.db", "SELECT symbol FROM positions")]


def _settled(state: Path) -> str:
    """With entries paused: "protected" once every position held has its stop at the venue,
    "flat" once nothing is held and no entry is working (every position closed meanwhile), else
    "" (a late entry fill still waits for its stop)."""
    held = set(_open_live_positions(state))
    if held:
        return "protected" if held <= {symbol for _c, symbol in _resting_stops(state)} else ""
    return "" if _working_entries(state) else "flat"


def test_after_a_sigkill_the_resting_stops_are_at_the_venue_and_fire(tmp_path: Path) -> None:
    config = write_config(tmp_path, live=True, speed=8.0)
    state = tmp_path / "state"
    proc = start_daemon(config, "--confirm")
    try:
        for _round in range(5):
            wait_for(
                lambda: len(_open_live_positions(state)) >= 1 and len(_resting_stops(state)) >= 1,
                timeout=180,
            )
            # no new entry from here on (the pause outlives the kill: exits and stops still
            # work), so no entry can fill between the last look and the kill without its stop
            assert cli(config, "pause").returncode == 0
            wait_for(
                lambda: (s := status(config)) is not None and s["trading_state"] != "active",
                timeout=120,
            )
            if wait_for(lambda: _settled(state), timeout=180) == "protected":
                break
            # every position closed while pausing: trade again and catch the next one
            assert cli(config, "resume").returncode == 0
        else:
            raise AssertionError("never held a protected position at the moment of the kill")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    held = set(_open_live_positions(state))
    stops = _resting_stops(state)
    # every position we hold is protected at the venue while the node is dead
    assert held and held <= {symbol for _coid, symbol in stops}, (held, stops)
    assert len({symbol for _c, symbol in stops}) == len(stops), "one stop per position"
    trades_before = rows(state / "live.db", "SELECT COUNT(*) FROM trades")[0][0]

    proc = start_daemon(config, "--confirm")
    try:
        # a resting stop or target fills at the venue; the node books the close it reports
        closed = wait_for(
            lambda: read_running(
                state / "live.db",
                "SELECT t.symbol, t.data FROM trades t WHERE json_extract(t.data, '$.exit_reason')"
                " IN ('stop_loss', 'take_profit', 'trailing_stop') LIMIT 1 OFFSET ?",
                (trades_before,),
            ),
            timeout=240,
        )
        assert closed
        # nothing was doubled: at most one working stop per position at the venue
        stops = _resting_stops(state)
        assert len({symbol for _c, symbol in stops}) == len(stops)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]


def test_a_sigkill_right_after_a_kill_switch_trip_restarts_halted(tmp_path: Path) -> None:
    """The shipped default config; the venue's live account lost 20% behind the node's back
    (reconcile adopts the venue's balance): the wallet trips at 15%, and the process is killed
    the moment the trip is logged. The restart is HALTED for that wallet."""
    state = tmp_path / "state"
    overrides = [
        f"storage.state_dir={state}",
        "wallets.live.approved=true",
        "rollout.initial_stage=2",
        'execution.reconcile="adopt"',
        "telemetry.log_format=json",
    ]
    _seed_a_loss(state)
    config = REPO / "configs" / "default.toml"
    sets = [arg for o in overrides for arg in ("--set", o)]
    proc = subprocess.Popen(
        [*_tradeterm(), "run", "--no-ui", "--confirm", "--config", str(config), *sets],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # read as it comes by Lines
        text=True,
    )
    lines = Lines(proc)
    try:
        lines.wait_for("kill switch: drawdown", timeout=180)
    finally:
        proc.send_signal(signal.SIGKILL)  # at once: no clean shutdown persists anything
        proc.communicate(timeout=30)
    stored = json.loads(
        rows(state / "paper.db", "SELECT value FROM meta WHERE key = 'risk.state'")[0][0]
    )
    assert "live:synthetics" in stored["halted"]

    proc = Daemon(  # its log to a file: an unread pipe would fill and stall it
        [*_tradeterm(), "run", "--no-ui", "--confirm", "--config", str(config), *sets],
        tmp_path,
        tmp_path / "restart.err",
    )
    try:
        status = wait_for(
            lambda: (
                (
                    r := subprocess.run(
                        [*_tradeterm(), "status", "--json", "--config", str(config), *sets],
                        capture_output=True,
                        text=True,
                        cwd=tmp_path,
                        timeout=60,
                    )
                ).returncode
                == 0
                and json.loads(r.stdout)
            ),
            timeout=180,
        )
        assert "live:synthetics" in status["halted_wallets"]
        assert status["trading_state"] == "active"  # the node runs; that wallet is halted
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]


def _tradeterm() -> list[str]:
    import sys

    return [sys.executable, "-m", "tradeterm"]


def _seed_a_loss(state: Path) -> None:
    """Trade the sim venue's live account by hand, as an operator might while the node is down:
    round trips that cost about 20% of its $1,000."""
    import asyncio

    from tradeterm.clock import SimClock
    from tradeterm.config import load_config
    from tradeterm.domain.enums import OrderType, Side
    from tradeterm.domain.orders import Order
    from tradeterm.venues.sim.venue import SimVenue

    cfg = load_config(REPO / "configs" / "default.toml").venues["sim"]

    async def run() -> None:
        clock = SimClock(1_763_380_800_000)
        sim = SimVenue("sim", cfg, clock, state_path=state / "sim-sim.db")  # type: ignore[arg-type]
        account = sim.exec_client("live")
        await account.connect()
        n = 0
        while account.ledger.cash > 800.0:
            for side in (Side.BUY, Side.SELL):
                n += 1
                order = Order(
                    f"manual-{n}",
                    "live:synthetics",
                    "sim",
                    "R_100",
                    side,
                    OrderType.MARKET,
                    40.0,
                    clock.now_ms(),
                )
                await account.submit(order)
            await clock.advance(1.0)
        await sim.close()

    asyncio.run(run())


def test_status_text_names_a_halted_wallet(tmp_path: Path) -> None:
    """`tradeterm status` (text) shows wallet halts, not only the node-wide state."""
    config = write_config(tmp_path)
    proc = start_daemon(config)
    try:
        wait_for(lambda: cli(config, "status").returncode == 0, timeout=120)
        text = cli(config, "status").stdout
        assert "trading ACTIVE" in text and "HALTED" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
