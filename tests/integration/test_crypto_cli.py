"""The crypto commands as an operator types them, against `tradeterm sim-server binance-futures`
running as its own process: the simulator prints its URLs, the node trades it headless from the
shipped config, and `data download` fills the candle store (resumable, deduplicated)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon_kit import Daemon, live_perp_sets, node_args, wait_for
from tests.integration.daemon_kit import sim_server as running_sim
from tradeterm.marketdata.funding import FundingStore, funding_root, mark_store_root
from tradeterm.marketdata.store import CandleStore

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "binance-futures.toml"


@pytest.fixture
def sim_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    flags = ("--history-days", "40", "--funding-interval-s", "28800", "--balance", "1000")
    with running_sim(tmp_path / "sim.out", "binance-futures", *flags) as urls:
        yield urls


def run_cli(tmp: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeterm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
        env={**os.environ, "BINANCE_API_KEY": "any-key", "BINANCE_API_SECRET": "any-secret"},
    )


def ticking(tmp: Path, config: Path) -> bool:
    """`tradeterm status --json`: a venue is connected and has streamed more than 10 ticks."""
    res = run_cli(tmp, "status", "--json", "--config", str(config), timeout=60)
    if res.returncode != 0:
        return False
    venues = json.loads(res.stdout)["venues"]
    return any(v["connected"] and v["extra"].get("ticks", 0) > 10 for v in venues)


def test_shipped_config_validates() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tradeterm", "validate-config", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_node_trades_the_simulator_from_a_shell(tmp_path: Path, sim_server) -> None:  # type: ignore[no-untyped-def]
    rest, ws = sim_server
    config = tmp_path / "binance-futures.toml"
    shutil.copy(CONFIG, config)
    sets = [
        "--set",
        f"venues.binance_futures.rest_url={rest}",
        "--set",
        f"venues.binance_futures.ws_url={ws}",
    ]
    daemon = Daemon(
        [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config), *sets],
        tmp_path,
        tmp_path / "daemon.err",
    )
    try:
        assert wait_for(lambda: ticking(tmp_path, config), timeout=120)
    finally:
        daemon.terminate()
        _, log = daemon.communicate(timeout=60)
    assert "node started" in log
    assert "Traceback" not in log


def test_download_fills_the_store_resumably(tmp_path: Path, sim_server) -> None:  # type: ignore[no-untyped-def]
    rest, ws = sim_server
    config = tmp_path / "binance-futures.toml"
    shutil.copy(CONFIG, config)
    args = [
        "data",
        "download",
        "--venue",
        "binance",
        "--symbol",
        "BTC/USDT:USDT",
        "--timeframe",
        "15m",
        "--days",
        "30",
        "--config",
        str(config),
        "--set",
        f"venues.binance_futures.rest_url={rest}",
        "--set",
        f"venues.binance_futures.ws_url={ws}",
    ]
    first = run_cli(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    store = CandleStore(tmp_path / "state" / "candles")
    bars = store.read("binance_futures", "BTCUSDT", "15m")
    assert 30 * 96 - 2 <= len(bars) <= 30 * 96 + 1
    assert (bars.open_ms[1:] - bars.open_ms[:-1] == 900_000).all()
    # mark bars and funding where backtests read them (research's stores)
    marks = CandleStore(mark_store_root(tmp_path / "state")).read(
        "binance_futures", "BTCUSDT", "15m"
    )
    assert len(marks) == len(bars)
    funding = FundingStore(funding_root(tmp_path / "state")).read("binance_futures", "BTCUSDT")
    assert funding is not None and 88 <= len(funding) <= 91 and (funding.rate > 0).all()
    report = store.check_series("binance_futures", "BTCUSDT", "15m")
    assert report.consistent and report.missing_bars == 0
    # a second run resumes after the stored bars: nothing is fetched twice or duplicated
    second = run_cli(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resumed" in second.stdout
    again = store.read("binance_futures", "BTCUSDT", "15m")
    assert len(again) - len(bars) <= 1
    assert len(set(again.open_ms.tolist())) == len(again)


def test_download_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "binance-futures.toml"
    shutil.copy(CONFIG, config)
    res = run_cli(
        tmp_path,
        *["data", "download", "--venue", "kraken", "--symbol", "BTCUSDT"],
        *["--timeframe", "15m", "--config", str(config)],
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "--venue" in res.stderr and "kraken" in res.stderr
    res = run_cli(
        tmp_path,
        *["data", "download", "--venue", "binance", "--symbol", "BTCUSDT"],
        *["--timeframe", "7m", "--config", str(config)],
    )
    assert res.returncode == 2 and "--timeframe" in res.stderr


def test_reconciliation_halts_on_an_order_placed_behind_our_back(
    tmp_path: Path, sim_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    monkeypatch.setenv("BINANCE_API_KEY", "any-key")
    monkeypatch.setenv("BINANCE_API_SECRET", "any-secret")

    import ccxt.pro as ccxtpro

    from tradeterm.venues.crypto.binance import BINANCE_FUTURES, point_binance

    rest, ws = sim_server

    async def place_by_hand() -> None:
        ex = ccxtpro.binanceusdm(
            {"apiKey": "a", "secret": "b", "options": dict(BINANCE_FUTURES.options)}
        )
        point_binance(ex, rest, ws)
        try:
            last = (await ex.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=1))[-1][4]
            await ex.create_order(
                "ETH/USDT:USDT", "limit", "buy", 0.05, round(last * 0.97, 2),
                {"clientOrderId": "by-hand-1"},
            )  # fmt: skip
        finally:
            await ex.close()

    asyncio.run(place_by_hand())
    config = tmp_path / "binance-futures.toml"
    shutil.copy(CONFIG, config)
    args = node_args(config, live_perp_sets(rest, ws))
    daemon = Daemon(args, tmp_path, tmp_path / "daemon.err")
    try:
        wait_for(lambda: "daemon running" in daemon.log_path.read_text(), timeout=120)
    finally:
        daemon.terminate()
        _, log = daemon.communicate(timeout=60)
    assert "orphan order ETHUSDT: buy 0.05 (by-hand-1) is open on the venue, unknown here" in log
    assert "active -> halted: reconcile found orphans" in log
    assert "orphan balance" not in log  # the venue's 1000 USDT is the live wallet's 1000 USD


def test_bybit_node_trades_its_simulator_from_a_shell(tmp_path: Path) -> None:
    config = tmp_path / "bybit.toml"
    shutil.copy(ROOT / "configs" / "bybit.toml", config)
    with running_sim(tmp_path / "bybit-sim.out", "bybit", "--history-days", "3") as (rest, ws):
        assert ws.startswith("ws://127.0.0.1:")
        sets = [f"venues.bybit.rest_url={rest}", f"venues.bybit.ws_url={ws}"]
        args = [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config)]
        env_args = [x for s in sets for x in ("--set", s)]
        daemon = Daemon([*args, *env_args], tmp_path, tmp_path / "daemon.err")
        try:
            assert wait_for(lambda: ticking(tmp_path, config), timeout=120)
        finally:
            daemon.terminate()
            daemon.communicate(timeout=60)
