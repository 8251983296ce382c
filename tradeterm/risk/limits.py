"""The risk rules, one small pure function each.

Two kinds:
- `check_*` gates answer None when the entry may go ahead, or a short reason the operator reads
  ("reward:risk 2.4 < 3", "daily loss cap: -6.2% of day-start equity <= -6%").
- `cap_*` resizing rules answer None when the size fits, or a `Cap`: the largest quantity the rule
  allows and a note saying which limit bound it. A cap of 0 means the rule leaves no room at all.

Numbers are plain floats; every rule is cheap enough for the tick -> order hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.clock import format_ms
from tradeterm.domain.enums import Side, TradingState
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.signals import Signal

DAY_MS = 86_400_000
WEEK_MINUTES = 7 * 24 * 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Cap:
    """A resizing rule's answer: the largest quantity it allows, and the limit that bound it."""

    max_qty: float
    note: str


def pct(fraction: float) -> str:
    """A fraction as a short percentage: 0.15 -> "15%", -0.0623 -> "-6.2%"."""
    text = f"{fraction * 100:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text}%"


def price_text(price: float, decimals: int) -> str:
    """A price printed with the instrument's decimals (at least 2)."""
    return f"{price:.{max(2, decimals)}f}"


# ---- gates ---------------------------------------------------------------------------------------
def check_trading_state(state: TradingState, reason: str) -> str | None:
    """HALTED stops everything; REDUCING stops new entries (every intent is an entry)."""
    if state is TradingState.HALTED:
        return f"trading HALTED: {reason}" if reason else "trading HALTED"
    if state is TradingState.REDUCING:
        why = f" ({reason})" if reason else ""
        return f"trading REDUCING: no new entries{why}"
    return None


def check_signal_consistency(signal: Signal) -> str | None:
    """The stop must sit on the losing side of the entry and the target on the winning side."""
    if signal.is_consistent:
        return None
    word = "long" if signal.side is Side.BUY else "short"
    below, above = ("below", "above") if signal.side is Side.BUY else ("above", "below")
    if (signal.entry - signal.stop_loss) * signal.side.sign <= 0:
        return f"stop {signal.stop_loss:g} is not {below} entry {signal.entry:g} on a {word}"
    return f"target {signal.take_profit:g} is not {above} entry {signal.entry:g} on a {word}"


def check_reward_risk(reward_risk: float, minimum: float) -> str | None:
    """Reward:risk must be at least `minimum` (3 means the target is 3x the stop distance)."""
    if reward_risk + _EPS >= minimum:
        return None
    return f"reward:risk {reward_risk:.2f} < {minimum:g}"


def check_stop_width(stop_distance: float, atr: float, max_stop_atr: float) -> str | None:
    """The stop may be at most `max_stop_atr` ATRs from the entry (skipped without an ATR)."""
    if atr <= 0.0 or stop_distance <= max_stop_atr * atr * (1 + _EPS):
        return None
    return f"stop {stop_distance / atr:.1f} ATR wide > max {max_stop_atr:g} ATR"


def parse_weekly_cutoff(text: str) -> int:
    """'Fri 20:00' -> minutes after Monday 00:00 UTC (ValueError on a malformed cut-off)."""
    day, _, clock = text.strip().partition(" ")
    hours, _, minutes = clock.partition(":")
    if day not in WEEKDAYS or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"weekly cut-off {text!r} is not 'Day HH:MM'")
    return WEEKDAYS.index(day) * 1440 + int(hours) * 60 + int(minutes)


def minute_of_week(ts_ms: int) -> int:
    """Minutes since the Monday 00:00 UTC before `ts_ms`."""
    return (ts_ms // 60_000 + _EPOCH_WEEKDAY * 1440) % WEEK_MINUTES


def in_weekend_window(ts_ms: int, cutoff_minute: int) -> bool:
    """True from the weekly cut-off until Monday 00:00 UTC."""
    return minute_of_week(ts_ms) >= cutoff_minute


def check_weekend(ts_ms: int, cutoff_minute: int, cutoff_text: str) -> str | None:
    """No entries from the weekly cut-off until Monday 00:00 UTC (weekend-carry avoidance)."""
    if not in_weekend_window(ts_ms, cutoff_minute):
        return None
    return f"weekend: no entries from {cutoff_text} UTC until Mon 00:00 UTC"


def check_daily_loss(equity: float, day_start_equity: float, cap: float) -> str | None:
    """Entries stop once the wallet has lost `cap` of its day-start equity (UTC day)."""
    if day_start_equity <= 0.0:
        return None
    change = equity / day_start_equity - 1.0
    if change > -cap + _EPS:
        return None
    return f"daily loss cap: {pct(change)} of day-start equity <= -{pct(cap)}"


def check_symbol_loss(
    key: str, pnl_today: float, day_start_equity: float, cap: float
) -> str | None:
    """Entries on a market stop once its realised PnL today is a loss of `cap` of day-start
    equity or more."""
    if day_start_equity <= 0.0 or pnl_today >= 0.0:
        return None
    lost = -pnl_today / day_start_equity
    if lost + _EPS < cap:
        return None
    return f"symbol loss cap: {key} lost {pct(lost)} of equity today >= {pct(cap)}"


def check_cooldown(arm: str, until_ms: int, losses: int, now_ms: int) -> str | None:
    """After a run of losses an arm rests until `until_ms`."""
    if now_ms >= until_ms:
        return None
    same_day = until_ms // DAY_MS == now_ms // DAY_MS
    when = format_ms(until_ms, "%H:%M" if same_day else "%a %H:%M")
    return f"cooldown: {losses} losses on {arm} until {when} UTC"


def check_open_positions(open_count: int, maximum: int) -> str | None:
    """A wallet holds at most `maximum` positions (adding to an existing one is not a new one)."""
    if open_count < maximum:
        return None
    return f"max open positions: {open_count} of {maximum} already open"


def check_kelly_edge(win_rate: float, payoff: float, f_star: float, trades: int) -> str | None:
    """An arm whose record shows no edge (f* <= 0) gets no capital outside exploration."""
    if f_star > 0.0:
        return None
    return (
        f"kelly: no edge after {trades} trades "
        f"(win rate {pct(win_rate)}, payoff {payoff:.2f}, f* {f_star:.3f})"
    )


def check_venue_minimum(instrument: Instrument, qty: float, price: float) -> str | None:
    """After rounding down to the lot step, the order must meet the venue's minimums."""
    lot_qty = instrument.floor_qty(qty)
    if instrument.is_tradeable_qty(lot_qty, price):
        return None
    min_qty = max(instrument.min_qty, instrument.lot_step)
    if lot_qty < min_qty - 1e-12:
        return f"size {qty:.6g} below venue minimum {min_qty:g}"
    notional = lot_qty * price * instrument.contract_size
    return f"notional {notional:.2f} below venue minimum {instrument.min_notional:.2f}"


def check_stop_change(side: Side, current: float, new: float, decimals: int = 2) -> str | None:
    """A stop may only move in the position's favour (tightening); widening is refused."""
    if new <= 0.0:
        return f"stop {new:g} is not a price"
    if current <= 0.0 or (new - current) * side.sign >= 0.0:
        return None
    word = "long" if side is Side.BUY else "short"
    return (
        f"stop may not be widened: {price_text(current, decimals)} -> "
        f"{price_text(new, decimals)} on a {word}"
    )


def check_stale(
    entry: float, mark: float | None, tolerance_bps: float, decimals: int = 2
) -> str | None:
    """At confirmation the price must still be within `tolerance_bps` of the signal's entry."""
    if mark is None or mark <= 0.0:
        return "stale: no current price to compare with the entry"
    if entry <= 0.0:
        return f"stale: entry {entry:g} is not a price"
    moved = abs(mark - entry) / entry * 1e4
    if moved <= tolerance_bps + _EPS:
        return None
    return (
        f"stale: price moved {moved:.1f} bps from entry {price_text(entry, decimals)} "
        f"(limit {tolerance_bps:g})"
    )


# ---- resizing rules ------------------------------------------------------------------------------
def cap_martingale(qty: float, unit_risk: float, last_risk: float, arm: str) -> Cap | None:
    """No martingale: after a loss on an arm, its next trade risks no more than the last one did.

    `unit_risk` is the money lost per unit at the stop; `last_risk` the previous trade's risk.
    """
    if unit_risk <= 0.0 or qty * unit_risk <= last_risk * (1 + _EPS):
        return None
    return Cap(
        last_risk / unit_risk,
        f"no martingale: risk {qty * unit_risk:.2f} -> {last_risk:.2f} "
        f"(the last trade on {arm} lost)",
    )


def cap_pair_exposure(
    qty: float, unit_notional: float, existing: float, equity: float, cap: float, key: str
) -> Cap | None:
    """A market's notional (the open position on it plus this order) stays within `cap` x equity."""
    room = cap * equity - existing
    if qty * unit_notional <= room * (1 + _EPS):
        return None
    allowed = max(0.0, room)
    return Cap(
        allowed / unit_notional,
        f"pair exposure cap {pct(cap)} on {key}: notional {qty * unit_notional:.2f} -> "
        f"{allowed:.2f} (open {existing:.2f}, equity {equity:.2f})",
    )


def cap_portfolio_exposure(
    qty: float, unit_notional: float, total: float, equity: float, cap: float
) -> Cap | None:
    """The wallet's total notional (every open position plus this order) stays within `cap` x
    equity."""
    room = cap * equity - total
    if qty * unit_notional <= room * (1 + _EPS):
        return None
    allowed = max(0.0, room)
    return Cap(
        allowed / unit_notional,
        f"portfolio exposure cap {pct(cap)}: notional {qty * unit_notional:.2f} -> "
        f"{allowed:.2f} (open {total:.2f}, equity {equity:.2f})",
    )


def cap_leverage(
    qty: float, unit_notional: float, total: float, equity: float, max_leverage: float
) -> Cap | None:
    """Total notional over equity stays within `max_leverage`."""
    room = max_leverage * equity - total
    if qty * unit_notional <= room * (1 + _EPS):
        return None
    allowed = max(0.0, room)
    return Cap(
        allowed / unit_notional,
        f"leverage cap {max_leverage:g}x: notional {qty * unit_notional:.2f} -> {allowed:.2f} "
        f"(open {total:.2f}, equity {equity:.2f})",
    )


def cap_balance(qty: float, unit_cash: float, balance: float, tied: float) -> Cap | None:
    """The cash or margin an order needs (with its estimated taker fee, `unit_cash` per unit)
    must fit in the balance left after what open positions tie up."""
    free = balance - tied
    if qty * unit_cash <= free * (1 + _EPS):
        return None
    if free <= 0.0:
        return Cap(
            0.0,
            f"insufficient balance: free {free:.2f} of balance {balance:.2f} "
            f"(open positions tie up {tied:.2f})",
        )
    return Cap(
        free / unit_cash,
        f"balance: needs {qty * unit_cash:.2f}, free {free:.2f} of balance {balance:.2f}",
    )
