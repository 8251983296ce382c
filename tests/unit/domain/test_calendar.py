"""The one weekend-window rule shared by the risk gate and the position monitor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradeterm.clock import datetime_to_ms
from tradeterm.domain.calendar import in_weekend_window, parse_weekly_cutoff

T0 = 1_717_372_800_000  # Monday 2024-06-03 00:00 UTC
DAY = 86_400_000
HOUR = 3_600_000


def test_weekend_window_runs_from_the_cutoff_to_monday() -> None:
    cutoff = parse_weekly_cutoff("Fri 20:00")
    assert not in_weekend_window(T0 + 4 * DAY + 19 * HOUR, cutoff)
    assert in_weekend_window(T0 + 4 * DAY + 20 * HOUR, cutoff)
    assert in_weekend_window(T0 + 7 * DAY - 1, cutoff)
    assert not in_weekend_window(T0 + 7 * DAY, cutoff)


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (datetime(2024, 3, 8, 19, 59, tzinfo=UTC), False),  # Friday before the cut-off
        (datetime(2024, 3, 8, 20, 0, tzinfo=UTC), True),
        (datetime(2024, 3, 10, 23, 59, tzinfo=UTC), True),  # Sunday night
        (datetime(2024, 3, 11, 0, 0, tzinfo=UTC), False),  # Monday
    ],
)
def test_window_on_calendar_dates(when: datetime, inside: bool) -> None:
    assert in_weekend_window(datetime_to_ms(when), parse_weekly_cutoff("Fri 20:00")) is inside


@pytest.mark.parametrize("text", ["Friday 8pm", "Fri 25:00", "Fri 20:61", "Fri", ""])
def test_malformed_cutoffs_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cut-off"):
        parse_weekly_cutoff(text)
