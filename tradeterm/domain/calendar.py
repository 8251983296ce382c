"""The weekly calendar rule shared by the risk gate (no entries) and the position monitor (close
before the weekend): one weekend window, from a weekly cut-off such as 'Fri 20:00' UTC until the
next Monday 00:00 UTC."""

from __future__ import annotations

DAY_MS = 86_400_000
WEEK_MINUTES = 7 * 24 * 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


def parse_weekly_cutoff(text: str) -> int:
    """'Fri 20:00' -> minutes after Monday 00:00 UTC (ValueError on a malformed cut-off)."""
    day, _, clock = text.strip().partition(" ")
    hours, _, minutes = clock.partition(":")
    if day not in WEEKDAYS or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"weekly cut-off {text!r} is not 'Day HH:MM'")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"weekly cut-off {text!r} is not a time of day")
    return WEEKDAYS.index(day) * 1440 + int(hours) * 60 + int(minutes)


def minute_of_week(ts_ms: int) -> int:
    """Minutes since the Monday 00:00 UTC before `ts_ms`."""
    return (ts_ms // 60_000 + _EPOCH_WEEKDAY * 1440) % WEEK_MINUTES


def in_weekend_window(ts_ms: int, cutoff_minute: int) -> bool:
    """True from the weekly cut-off (minutes after Monday 00:00 UTC) until Monday 00:00 UTC."""
    return minute_of_week(ts_ms) >= cutoff_minute
