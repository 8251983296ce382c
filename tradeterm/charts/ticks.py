"""Tick positions and labels both renderers share (dates on time axes)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

DAY_MS = 86_400_000


def span(values: list[np.ndarray]) -> tuple[float, float] | None:
    """(min, max) over the finite values of several arrays, None when there are none."""
    finite = [v[np.isfinite(v)] for v in values if v.size]
    finite = [v for v in finite if v.size]
    if not finite:
        return None
    return float(min(v.min() for v in finite)), float(max(v.max() for v in finite))


def time_label(ms: float, span_ms: float) -> str:
    moment = datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    if span_ms >= 60 * DAY_MS:
        return moment.strftime("%Y-%m-%d")
    if span_ms >= 2 * DAY_MS:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M")


def time_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], list[str]]:
    """`count` evenly spaced ticks over [lo, hi] labelled as UTC dates or times."""
    if hi <= lo:
        return [lo], [time_label(lo, 0.0)]
    positions = [float(p) for p in np.linspace(lo, hi, count)]
    return positions, [time_label(p, hi - lo) for p in positions]
