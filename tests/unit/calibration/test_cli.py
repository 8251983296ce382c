"""`tradeterm calibrate` end to end in-process: the default offline config on a generated
synthetic history, JSON output, promote, status, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_fuzz import PROBLEM_LINE
from tradeterm.calibration.study import load
from tradeterm.cli import main
from tradeterm.storage.active_configs import load_active

REPO = Path(__file__).resolve().parents[3]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrate_promote_status_on_the_default_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = str(REPO / "configs" / "default.toml")
    code, out, err = _run(
        capsys,
        "calibrate",
        "--config",
        cfg,
        "--strategy",
        "breakout",
        "--symbol",
        "R_100",
        "--timeframe",
        "15m",
        "--days",
        "20",
        "--trials",
        "3",
        "--leverage-max",
        "3",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["study"] == "breakout-R_100-15m"
    assert sum(report["trials"].values()) == 3
    assert report["best"] is not None and report["best"]["user_attrs"]["liquidated"] is False
    assert "generated sim history" in err and "3/3 trials" in err
    assert (tmp_path / "state" / "optuna.db").is_file()

    code, out, err = _run(capsys, "calibrate", "promote", "breakout-R_100-15m", "--config", cfg)
    assert code == 0, err
    (active,) = load_active(tmp_path / "state" / "research.db")
    assert active.trial == report["best"]["number"]

    code, out, err = _run(
        capsys, "calibrate", "status", "--study", "breakout-R_100-15m", "--config", cfg, "--json"
    )
    assert code == 0 and json.loads(out)["best_trial"] == report["best"]["number"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calibrate", "--strategy", "nope", "--symbol", "R_100"], "unknown strategy 'nope'"),
        (["calibrate", "--strategy", "breakout"], "give at least one --symbol"),
        (
            ["calibrate", "--strategy", "breakout", "--symbol", "ZZZ"],
            "--symbol ZZZ: not in the candle store",
        ),
        (["calibrate", "--strategy", "breakout", "--symbol", "R_100", "--jobs", "0"], "--jobs 0"),
        (["calibrate", "status", "--study", "missing"], "--study missing: no such study"),
        (["promote", "--study", "missing"], "--study missing: no such study"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = str(REPO / "configs" / "default.toml")
    code, _out, err = _run(capsys, *argv, "--config", cfg)
    assert code == 2
    assert message in err and "Traceback" not in err
    for line in err.strip().splitlines():  # each line names its option, key or file first
        assert PROBLEM_LINE.match(line), line


def test_calibrate_on_shared_futures_files_with_funding(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shared_data: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    seeds = tmp_path / "seeds.toml"
    seeds.write_text("[ema_trend]\nfast = 10\nslow = 40\n")
    argv = [
        "calibrate", "--config", str(REPO / "configs" / "default.toml"),
        "--strategy", "ema_trend", "--symbol", "BTCUSDT,ETHUSDT", "--timeframe", "15m",
        "--data", str(shared_data / "crypto"), "--trials", "3", "--leverage-max", "5",
        "--margin", "both", "--cash", "10000", "--priors", str(seeds), "--json",
    ]  # fmt: skip
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert "usdm_BTCUSDT_15m_2024-02.csv + funding usdm_BTCUSDT_8h_funding_2024-02.csv" in err
    assert "usdm_ETHUSDT_15m_2024-02.csv + funding" in err
    report = json.loads(out)
    assert report["study"] == "ema_trend-BTCUSDT+ETHUSDT-15m"
    best = report["best"]["user_attrs"]
    assert best["funding_paid"] != 0.0  # funding reached the backtest
    assert best["initial_cash"] == 10_000.0  # --cash
    study = load(f"sqlite:///{tmp_path / 'state' / 'optuna.db'}", report["study"])
    second = study.trials[1]  # the seed follows the defaults
    assert second.user_attrs["prior"] == "seeds.toml#1"
    assert (second.params["fast"], second.params["slow"]) == (10, 40)
