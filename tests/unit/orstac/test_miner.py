"""The ORSTAC miner on the shared DBot workspaces, plus files that are not bots."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import _shared_dir
from tradeterm.orstac import mine_directory, mine_file, seed_document

ORSTAC = _shared_dir() / "orstac_xml"


@pytest.fixture(scope="module")
def seed() -> dict:
    return seed_document(mine_directory(ORSTAC))


def test_every_shared_bot_is_read(seed: dict) -> None:
    assert seed["source"]["files"] == 126 and seed["source"].get("skipped", 0) == 0
    assert next(iter(seed["symbols"])) == "R_100"  # the community's favourite index


def test_indicator_periods_and_thresholds(seed: dict) -> None:
    rsi = seed["indicators"]["rsi"]
    assert rsi["period"]["median"] == 14.0
    assert rsi["overbought"]["median"] > 50 > rsi["oversold"]["median"]
    assert seed["indicators"]["bb"]["period"]["median"] == 20.0


def test_martingale_is_recorded_as_rejected(seed: dict) -> None:
    rejected = seed["rejected"]["martingale"]
    assert rejected["files"] > 0 and "never" in rejected["reason"]
    assert "martingale" not in {k.lower() for k in seed if k != "rejected"}


def test_one_bot(tmp_path: Path) -> None:
    bot = mine_file(ORSTAC / "BollingerBot.xml")
    assert bot.symbols == ["R_100"] and 60 in bot.candle_intervals


def test_broken_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    shutil.copy(ORSTAC / "BollingerBot.xml", tmp_path / "good.xml")
    (tmp_path / "truncated.xml").write_text((ORSTAC / "BollingerBot.xml").read_text()[:500])
    (tmp_path / "html.xml").write_text("<html><body>no bot</body></html>")
    (tmp_path / "bomb.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml>&b;</xml>'
    )
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    report = mine_directory(tmp_path)
    assert [b.name for b in report.bots] == ["good.xml"]
    assert set(report.skipped) == {"truncated.xml", "html.xml", "bomb.xml", "notes.bin"}


def test_cli_writes_a_toml_seed(tmp_path: Path) -> None:
    out = tmp_path / "seed_params.toml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradeterm",
            "orstac-seed",
            "--input",
            str(ORSTAC),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(out.read_text())["rejected"]["martingale"]["files"] > 0
    missing = subprocess.run(
        [sys.executable, "-m", "tradeterm", "orstac-seed", "--input", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
