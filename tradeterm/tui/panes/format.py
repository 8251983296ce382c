"""How the console writes numbers and times: one place, so every pane reads the same.

Prices keep the market's decimals, PnL always carries its sign, percentages have one decimal,
clock times are UTC "HH:MM:SS" and ages read like "42s", "3m12s", "2h05m". A missing value
(NaN, or a stop that is not set) prints as an em dash so a column never shows "nan".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

MISSING = "—"
"""What a cell shows when there is no value (no stop set, no price yet)."""

ELLIPSIS = "…"


def _finite(value: float) -> bool:
    return math.isfinite(value)


def auto_decimals(value: float) -> int:
    """Decimals a price needs when the market did not say: 2 for big prices, up to 6 for tiny."""
    size = abs(value)
    if size >= 100:
        return 2
    if size >= 1:
        return 4
    if size >= 0.01:
        return 5
    return 6


def row_decimals(*prices: float) -> int:
    """Decimals for prices that sit side by side (entry, mark, SL, TP): those of the largest."""
    finite = [abs(p) for p in prices if _finite(p) and p != 0]
    return auto_decimals(max(finite)) if finite else 2


def fmt_price(value: float, decimals: int | None = None) -> str:
    """A price with the market's decimals (or sensible ones), thousands separated."""
    if not _finite(value):
        return MISSING
    places = auto_decimals(value) if decimals is None else max(decimals, 0)
    return f"{value:,.{places}f}"


def fmt_level(value: float, decimals: int | None = None) -> str:
    """A stop-loss or take-profit level; 0 means "not set" and prints as a dash."""
    if not _finite(value) or value == 0:
        return MISSING
    return fmt_price(value, decimals)


def fmt_qty(value: float) -> str:
    """A quantity without trailing zeros: 3, 0.0125, 1,250."""
    if not _finite(value):
        return MISSING
    text = f"{value:,.8f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def fmt_money(value: float) -> str:
    """An amount of account currency: 1,012.34."""
    if not _finite(value):
        return MISSING
    return f"{value:,.2f}"


def fmt_signed(value: float, decimals: int = 2) -> str:
    """A PnL: always signed, so it reads without colour: +3.21, -0.50."""
    if not _finite(value):
        return MISSING
    if round(value, decimals) == 0:
        value = 0.0
    return f"{value:+,.{decimals}f}"


def fmt_pct(fraction: float, *, signed: bool = False) -> str:
    """A fraction as a percentage with one decimal: 0.031 -> "3.1%" (or "+3.1%" when signed)."""
    if not _finite(fraction):
        return MISSING
    return f"{fraction * 100:+.1f}%" if signed else f"{fraction * 100:.1f}%"


def fmt_pct_points(percent: float) -> str:
    """A value already in percent, signed: 1.234 -> "+1.2%"."""
    if not _finite(percent):
        return MISSING
    if round(percent, 1) == 0:
        percent = 0.0
    return f"{percent:+.1f}%"


def fmt_ratio(value: float) -> str:
    """A reward:risk or payoff ratio with one decimal."""
    if not _finite(value):
        return MISSING
    return f"{value:.1f}"


def fmt_clock(ms: int) -> str:
    """Epoch milliseconds as a UTC wall time "HH:MM:SS"."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


def fmt_hm(ms: int) -> str:
    """Epoch milliseconds as a UTC "HH:MM" (cooldown ends, stage times)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M")


def fmt_age(seconds: float) -> str:
    """How long something has lasted: "42s", "3m12s", "2h05m", "3d04h"."""
    if not _finite(seconds):
        return MISSING
    total = max(int(seconds), 0)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def fmt_seconds(seconds: float) -> str:
    """A short latency-like age: "0.4s" under ten seconds, then like `fmt_age`."""
    if not _finite(seconds):
        return MISSING
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f}s"
    return fmt_age(seconds)


def fmt_ttl(seconds_left: float) -> str:
    """A confirmation's time to live: "42s", "1m05s", or "expired" once it has run out."""
    if seconds_left <= 0:
        return "expired"
    return fmt_age(math.ceil(seconds_left))


def truncate(text: str, width: int) -> str:
    """Cut `text` to `width` characters, marking the cut with an ellipsis."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + ELLIPSIS


def wallet_domain(wallet_id: str) -> str:
    """`paper:synthetics` -> `synthetics` (the badge already says PAPER or LIVE)."""
    return wallet_id.split(":", 1)[-1]
