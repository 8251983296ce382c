"""`tradeterm status` of a running daemon says where drift judging and re-calibration stand."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.integration.daemon_kit import cli, start_daemon, status, wait_for, write_config
from tradeterm.config import dump_config, load_config


def test_status_lists_unjudged_arms_and_the_schedule(tmp_path: Path) -> None:
    base = write_config(tmp_path)
    cfg = load_config(base)
    schedule = cfg.calibration.schedule.model_copy(update={"enabled": True, "every": "3d"})
    calibration = cfg.calibration.model_copy(update={"schedule": schedule})
    config = tmp_path / "recal.toml"
    config.write_text(dump_config(cfg.model_copy(update={"calibration": calibration})))
    proc = start_daemon(config)
    try:
        wait_for(lambda: status(config), timeout=60)
        text = cli(config, "status").stdout
        assert "drift: 0 arm(s) within bounds, 0 drifting, 0 waiting" in text
        assert (
            "drift: not judged (no promotion): breakout, ema_trend, impulse_fade, mean_revert"
            in text
        )
        assert "re-calibration: every 3d, last 30 days, 50 trials, 1 job(s), nice 10" in text
        shown = json.loads(cli(config, "status", "--json").stdout)["calibration"]
        assert any(line.startswith("re-calibration: every 3d") for line in shown)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
