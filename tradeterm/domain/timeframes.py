"""Bar timeframes: names, durations and UTC-aligned bucket arithmetic."""

from __future__ import annotations

TIMEFRAME_MS: dict[str, int] = {
    "1s": 1_000,
    "5s": 5_000,
    "15s": 15_000,
    "30s": 30_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "1d": 86_400_000,
}

BUILDER_TIMEFRAMES: tuple[str, ...] = ("1s", "5s", "15s", "1m", "5m", "15m", "1h", "4h", "1d")
"""The timeframes the live bar builders produce from ticks."""


def timeframe_ms(timeframe: str) -> int:
    """Duration of one bar in milliseconds; ValueError names the bad timeframe."""
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        known = ", ".join(TIMEFRAME_MS)
        raise ValueError(f"unknown timeframe '{timeframe}' (known: {known})") from None


def bucket_open(ts_ms: int, timeframe: str) -> int:
    """Open time of the UTC-aligned bar that contains `ts_ms`."""
    size = timeframe_ms(timeframe)
    return ts_ms - (ts_ms % size)


def is_higher(higher: str, lower: str) -> bool:
    """True when `higher` is a whole multiple (> 1) of `lower`."""
    hi, lo = timeframe_ms(higher), timeframe_ms(lower)
    return hi > lo and hi % lo == 0
