"""`tradeterm data download --venue bybit` against `tradeterm sim-server bybit` running as its
own process: linear candles with their mark candles and funding, resumable, deduplicated."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon_kit import sim_server, wait_for
from tradeterm.marketdata.funding import FundingStore, funding_root, mark_store_root
from tradeterm.marketdata.store import CandleStore

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "bybit.toml"


@pytest.fixture
def bybit_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    flags = ("--history-days", "12", "--funding-interval-s", "28800")
    with sim_server(tmp_path / "sim.out", "bybit", *flags) as urls:
        yield urls


def run_cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BYBIT_API_KEY": "any-key", "BYBIT_API_SECRET": "any-secret"}
    return subprocess.run([sys.executable, "-m", "tradeterm", *args], capture_output=True,
                          text=True, timeout=300, cwd=tmp, env=env)  # fmt: skip


def test_bybit_download_fills_the_store_resumably(tmp_path: Path, bybit_server) -> None:  # type: ignore[no-untyped-def]
    rest, ws = bybit_server
    config = tmp_path / "bybit.toml"
    shutil.copy(CONFIG, config)
    args = ["data", "download", "--venue", "bybit", "--symbol", "BTC/USDT:USDT",
            "--timeframe", "1h", "--days", "10", "--config", str(config),
            "--set", f"venues.bybit.rest_url={rest}", "--set", f"venues.bybit.ws_url={ws}"]  # fmt: skip
    first = run_cli(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "from bybit" in first.stdout
    state = tmp_path / "state"
    store = CandleStore(state / "candles")
    bars = store.read("bybit", "BTCUSDT", "1h")
    assert 10 * 24 - 2 <= len(bars) <= 10 * 24 + 1
    assert (bars.open_ms[1:] - bars.open_ms[:-1] == 3_600_000).all()
    marks = CandleStore(mark_store_root(state)).read("bybit", "BTCUSDT", "1h")
    assert len(marks) == len(bars)
    funding = FundingStore(funding_root(state)).read("bybit", "BTCUSDT")
    assert funding is not None and 28 <= len(funding) <= 31
    second = run_cli(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resumed" in second.stdout
    again = store.read("bybit", "BTCUSDT", "1h")
    assert len(again) - len(bars) <= 1 and len(set(again.open_ms.tolist())) == len(again)


def test_node_trades_bybit_spot_on_paper_from_a_shell(tmp_path: Path, bybit_server) -> None:  # type: ignore[no-untyped-def]
    """The shipped Bybit config switched to spot: the node loads the spot markets and the
    account's fee tier of its markets, streams their trades and runs a paper spot wallet."""
    import json

    rest, ws = bybit_server
    config = tmp_path / "bybit-spot.toml"
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace('category = "linear"', 'category = "spot"').replace(
        "crypto_perp", "crypto_spot"
    )
    config.write_text(text, encoding="utf-8")
    sets = ["--set", f"venues.bybit.rest_url={rest}", "--set", f"venues.bybit.ws_url={ws}",
            "--set", "costs.fees=venue"]  # fmt: skip
    env = {**os.environ, "BYBIT_API_KEY": "any-key", "BYBIT_API_SECRET": "any-secret"}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "tradeterm", "run", "--no-ui", "--config", str(config), *sets],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.err").open("w"), text=True,
    )  # fmt: skip
    try:

        def ticking() -> dict[str, object] | None:
            res = run_cli(tmp_path, "status", "--json", "--config", str(config))
            if res.returncode != 0:
                return None
            doc = json.loads(res.stdout)
            venues = doc["venues"]
            ok = any(v["connected"] and v["extra"].get("ticks", 0) > 10 for v in venues)
            return doc if ok else None

        doc = wait_for(ticking, timeout=120)
        assert doc is not None
        assert "paper:crypto_spot" in json.dumps(doc["wallets"]), doc["wallets"]
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    log = (tmp_path / "daemon.err").read_text()
    assert "node started" in log and "Traceback" not in log, log[-2000:]
    assert "bybit: fee tier of 2 markets from the venue" in log, log[-2000:]
