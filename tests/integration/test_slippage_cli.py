"""`tradeterm slippage show / refit` over real paper fills in a state folder, and
`tradeterm backtest --slippage fitted` priced with the fit (refused, exit 2, without one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_kit import default_config_in, run
from tests.unit.execution.kit import MIN, PAPER_SYN, R100, T0, build_rig, decision, signal
from tradeterm.config.models import FillModelConfig

SLIPPY = FillModelConfig(taker_fee_rate=0.0, maker_fee_rate=0.0, slippage_bps=5.0)


def refused(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1, err


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    return default_config_in(tmp_path)


async def _paper_round_trips(state: Path, count: int) -> None:
    """`count` entries and manual closes on R_100 through the real execution engine."""
    rig = await build_rig(state, model=SLIPPY)
    try:
        for i in range(count):
            ts = 2 * i * MIN
            price = 100.0 + 0.25 * i
            await rig.tick(R100, ts, price, spread=0.2)
            sig = signal(entry=price, stop=price - 2, target=price + 6, ts_ms=T0 + ts, atr=1.0)
            await rig.engine.on_decision(decision(sig))
            await rig.tick(R100, ts + MIN, price + 0.5, spread=0.2)
            await rig.engine.close_position(PAPER_SYN, R100.key, "round trip")
    finally:
        await rig.engine.stop()
        rig.stores.close()


async def test_show_refit_and_a_backtest_priced_with_the_fit(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = ("--config", str(config))
    code, _out, err = run(capsys, "slippage", "show", *c)
    refused(code, err, "no state database")

    await _paper_round_trips(tmp_path / "state", 12)  # 24 taker fills
    code, out, err = run(capsys, "slippage", "show", *c)
    assert code == 0, err
    (row,) = [line for line in out.splitlines() if "sim:R_100" in line]
    cells = row.split()
    assert cells[:3] == ["paper", "sim:R_100", "24"]
    assert cells[6:9] == ["-", "1.00", "configured"]  # no fit yet; the config's 1 bps priced
    code, _out, err = run(capsys, "slippage", "show", "--pair", "BTCUSDT", *c)
    refused(code, err, "--pair BTCUSDT: no recorded fills for that pair (recorded: sim:R_100)")

    bt = ("backtest", "--strategy", "ema_trend", "--symbol", "R_100", "--bars", "3000", "--json")
    code, _out, err = run(capsys, *bt, "--slippage", "fitted", *c)
    refused(code, err, "--slippage fitted: no fitted slippage for R_100")

    code, out, err = run(capsys, "slippage", "refit", *c)
    assert code == 0 and "no pair has 20 taker fills in the last 30 days" in out, err
    # the fills are from 2024 (the rig's clock): widen the window to reach them
    code, out, err = run(capsys, "slippage", "refit", "--set", "costs.window_days=3650", *c)
    assert code == 0 and out.startswith("sim:R_100: n=24 fixed"), err
    code, out, err = run(capsys, "slippage", "show", "--pair", "R_100", "--json", *c)
    assert code == 0, err
    (doc,) = json.loads(out)
    assert doc["fills"] == 24 and doc["fit"]["n"] == 24
    fitted_bps = doc["fit"]["fixed_bps"] + doc["fit"]["atr_coef"] * doc["fit"]["vol_bps"]
    assert fitted_bps == pytest.approx(5.0, abs=0.05)  # beyond the spread: the model's 5 bps
    assert doc["configured_bps"] == 1.0 and doc["in_force"] == "configured"

    code, out, err = run(capsys, *bt, *c)
    assert code == 0, err
    configured = json.loads(out)
    assert configured["slippage"] == {"model": "configured", "fill_slippage_bps": 1.0}
    code, out, err = run(capsys, *bt, "--slippage", "fitted", *c)
    assert code == 0, err
    fitted = json.loads(out)
    used = fitted["slippage"]
    assert used["model"] == "fitted" and used["fill_slippage_bps"] == pytest.approx(fitted_bps)
    assert used["pairs"]["R_100"]["pair"] == "sim:R_100"
    run_doc = json.loads((Path(fitted["report"]) / "run.json").read_text())
    assert run_doc["slippage"]["model"] == "fitted"
    assert run_doc["settings"]["slippage_bps"] == pytest.approx(fitted_bps)
    assert configured["trade_count"] > 0

    # a trade both runs took (same bar, same side) entered at a worse price with the fit
    def entries(doc: dict[str, object]) -> dict[tuple[int, int], float]:
        trades = json.loads((Path(str(doc["report"])) / "trades.json").read_text())
        return {(t["entry_ms"], t["side"]): t["entry_price"] for t in trades}

    cheap, dear = entries(configured), entries(fitted)
    common = sorted(set(cheap) & set(dear))
    assert common
    for ms, side in common:
        sign = 1 if side in (1, "long", "buy") else -1
        worse = sign * (dear[(ms, side)] - cheap[(ms, side)]) / cheap[(ms, side)] * 1e4
        assert worse == pytest.approx(fitted_bps - 1.0, abs=0.05)  # (1+5bps)/(1+1bps)
