"""calibration.schedule / calibration.drift config: intervals, defaults, one clear error."""

from __future__ import annotations

import pytest

from tradeterm.config import TradetermConfig, config_from_dict
from tradeterm.config.models import every_ms
from tradeterm.errors import ConfigError

HOUR = 3_600_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [("weekly", 168 * HOUR), ("daily", 24 * HOUR), ("hourly", HOUR), ("7d", 168 * HOUR),
     ("12h", 12 * HOUR), ("90m", 90 * 60_000), ("2w", 336 * HOUR), (" Weekly ", 168 * HOUR)],
)  # fmt: skip
def test_intervals(text: str, ms: int) -> None:
    assert every_ms(text) == ms


def test_defaults_are_off_and_sensible() -> None:
    cal = TradetermConfig().calibration
    assert not cal.schedule.enabled and cal.schedule.jobs == 1 and cal.schedule.every == "weekly"
    assert cal.drift.enabled and cal.drift.min_trades == 20


@pytest.mark.parametrize("bad", ["sometimes", "0d", "7", "d", "-1h", "1.5d"])
def test_a_bad_interval_is_one_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"calibration": {"schedule": {"every": bad}}})
    text = str(info.value) + " ".join(getattr(info.value, "problems", []))
    assert "calibration.schedule.every" in text and "not an interval" in text
