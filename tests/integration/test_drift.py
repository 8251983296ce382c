"""Drift: a paper node on the sim venue for three simulated hours, then the event backtest over
the bars it stored, compared trade by trade (tradeterm.backtest.drift).

- Without operator actions every difference has a reason from the database (risk denials the
  node's own history caused, fill drift on matched trades): zero unexplained, nothing on the
  operator's account, and the attribution adds up to the PnL difference.
- With a confirmation the operator rejected and a position the operator closed by hand, the
  report names both and books their PnL to operator actions.
"""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tradeterm.backtest.drift import DriftReport, compute_drift, export_drift
from tradeterm.cli import main
from tradeterm.clock import SimClock
from tradeterm.config import TradetermConfig, config_from_dict
from tradeterm.control import Control
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import advance

START_MS = 1_763_380_800_000  # 2025-11-17 12:00 UTC
SYMBOLS = ["1HZ100V", "1HZ75V"]
WALLET = "paper:synthetics"
HOURS = 3
PERIOD_FROM = START_MS + 40 * 60_000  # after the stored 5 s bars warm the strategy up


def drift_config(state: Path, confirm: str) -> TradetermConfig:
    return config_from_dict(
        {
            "venues": {
                "sim": {
                    "kind": "sim",
                    "seed": 11,
                    "history_minutes": 600,
                    "symbols": SYMBOLS,
                    "fill_model": {
                        "taker_fee_rate": 0.0,
                        "maker_fee_rate": 0.0,
                        "slippage_bps": 0.0,
                    },
                }
            },
            "domains": {"synthetics": {"venue": "sim", "symbols": SYMBOLS}},
            "marketdata": {
                "timeframes": ["5s"],
                "window_bars": 500,
                "warmup_bars": 300,
                "store_candles": True,
                "store_timeframes": ["5s"],
            },
            "strategies": {
                "ema_trend": {
                    "domains": ["synthetics"],
                    "timeframes": ["5s"],
                    "params": {"fast": 5, "slow": 20, "adx_threshold": 15},
                }
            },
            "allocator": {"method": "all"},
            "risk": {
                "cooldown_losses": 50,
                "daily_loss_cap": 0.5,
                "symbol_loss_cap": 0.5,
                "max_drawdown": 0.5,
                "max_portfolio_exposure": 1.0,
            },
            "execution": {"confirm": confirm, "confirmation_ttl_s": 30},
            "storage": {"state_dir": str(state), "reports_dir": str(state / "reports")},
            "telemetry": {"log_format": "text", "log_level": "warning"},
        }
    )


async def run_node(state: Path, *, operator: bool) -> tuple[TradetermConfig, dict[str, Any]]:
    """Three simulated hours of paper trading. With `operator`, confirmations are on: the
    operator approves every one at once, except the first after PERIOD_FROM (rejected), and
    closes one open position by hand an hour into the period, and flattens everything 40
    minutes later."""
    config = drift_config(state, "always" if operator else "never")
    clock = SimClock(START_MS)
    node = build_node(config, clock, NodeOptions(metrics_server=False))
    control = Control(node)
    done: dict[str, Any] = {"rejected": None, "closed": None, "flattened": None}
    await node.start()
    end = START_MS + HOURS * 3600_000
    while clock.now_ms() < end:
        await advance(clock, 1.0, step=1.0)
        if not operator:
            continue
        for conf in node.execution.confirmations.pending():
            if done["rejected"] is None and conf.created_ms >= PERIOD_FROM:
                await control.reject(conf.id, source="test", reason="not this one")
                done["rejected"] = conf.decision.intent.signal
            else:
                await control.approve(conf.id, source="test")
        if done["closed"] is None and clock.now_ms() >= PERIOD_FROM + 3600_000:
            held = node.portfolio.positions(WALLET)
            if held:
                p = held[0]
                await control.close_position(f"{WALLET}/{p.key}", source="test")
                done["closed"] = (p.symbol, clock.now_ms())
        if done["flattened"] is None and clock.now_ms() >= PERIOD_FROM + 100 * 60_000:
            held = node.portfolio.positions(WALLET)
            if held:
                report = await control.flatten_all(source="test")
                assert report.ok
                done["flattened"] = ({p.symbol for p in held}, clock.now_ms())
    await node.stop()
    return config, done


def check_attribution(report: DriftReport) -> None:
    parts = {k: v for k, v in report.attribution.items() if k != "total"}
    assert abs(sum(parts.values()) - report.attribution["total"]) < 1e-9
    assert abs(report.attribution["total"] - (report.real_pnl - report.backtest_pnl)) < 1e-9


async def test_drift_without_operator_actions_has_nothing_unexplained(tmp_path: Path) -> None:
    config, _ = await run_node(tmp_path, operator=False)
    report = await asyncio.to_thread(compute_drift, config, WALLET, PERIOD_FROM)
    print(report.summary())
    assert len(report.matched) >= 5, "most trades of the period reproduce"
    assert len(report.matched) > len(report.backtest_only) + len(report.reality_only)
    assert report.unexplained == [], report.summary()
    assert report.attribution["operator"] == 0.0
    assert all(not m.reason for m in report.matched)
    assert all(t.cause != "operator" for t in (*report.backtest_only, *report.reality_only))
    # matched trades: same entry bar, entries at the same price (next open, no slippage here)
    assert all(abs(m.entry_ms_real - m.entry_ms_backtest) <= 5_000 for m in report.matched)
    check_attribution(report)
    # exported like a backtest report
    folder = export_drift(report, tmp_path / "reports", PERIOD_FROM)
    assert folder.name.endswith("_drift_paper-synthetics")
    data = json.loads((folder / "drift.json").read_text())
    assert data["unexplained"] == 0 and len(data["matched"]) == len(report.matched)
    with (folder / "drift.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(report.matched) + len(report.backtest_only) + len(report.reality_only)


async def test_drift_attributes_a_rejected_confirmation_and_a_manual_close(
    tmp_path: Path,
) -> None:
    config, done = await run_node(tmp_path, operator=True)
    assert None not in (done["rejected"], done["closed"], done["flattened"])
    report = await asyncio.to_thread(compute_drift, config, WALLET, PERIOD_FROM)
    print(report.summary())
    signal = done["rejected"]
    rejected = [t for t in report.backtest_only if "confirmation rejected by test" in t.reason]
    assert len(rejected) == 1, report.summary()
    (trade,) = rejected
    assert trade.symbol == signal.symbol and trade.side == signal.side.sign
    assert trade.cause == "operator"
    symbol, closed_ms = done["closed"]
    closed = [m for m in report.matched if "close_position by test" in m.reason]
    assert len(closed) == 1, report.summary()
    assert closed[0].symbol == symbol and abs(closed[0].exit_ms_real - closed_ms) <= 5_000
    assert closed[0].exit_ms_real < closed[0].exit_ms_backtest
    symbols, flat_ms = done["flattened"]
    flattened = [m for m in report.matched if "flatten_all by test" in m.reason]
    assert {m.symbol for m in flattened} == symbols, report.summary()
    assert all(abs(m.exit_ms_real - flat_ms) <= 5_000 for m in flattened)
    # the operator's account: the refused trade's PnL and the closed trade's difference (and
    # whatever they knocked on); nothing is left unexplained
    assert report.unexplained == [], report.summary()
    op = [t for t in (*report.backtest_only, *report.reality_only) if t.cause == "operator"]
    expected = (
        closed[0].pnl_diff
        + sum(t.pnl if t.side_of == "reality" else -t.pnl for t in op)
        + sum(m.pnl_diff for m in report.matched if m.cause == "operator" and m is not closed[0])
    )
    assert abs(report.attribution["operator"] - expected) < 1e-9
    assert report.attribution["operator"] != 0.0
    check_attribution(report)


def test_the_drift_command_names_bad_input_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    default = Path(__file__).resolve().parents[2] / "configs" / "default.toml"
    base = ["drift", "--config", str(default), "--set", f"storage.state_dir={tmp_path}"]
    assert main([*base, "--wallet", "paper:nowhere"]) == 2
    assert "--wallet 'paper:nowhere': unknown domain 'nowhere'" in capsys.readouterr().err
    assert main([*base, "--wallet", "synthetics"]) == 2
    assert "expected paper:<domain> or live:<domain>" in capsys.readouterr().err
    assert main([*base, "--wallet", "paper:synthetics"]) == 2
    assert "no state database" in capsys.readouterr().err
    assert (
        main([*base, "--wallet", "paper:synthetics", "--from", "2025-11-18", "--to", "2025-11-17"])
        == 2
    )
    assert "--from must be before --to" in capsys.readouterr().err
