"""The risk rules, one small pure function each.

Two kinds:
- `check_*` gates answer None when the entry may go ahead, or a short reason the operator reads
  ("reward:risk 2.4 net of costs < 3", "daily loss cap: -6.2% of day-start equity <= -6%").
- `cap` is the one resizing rule: given what is already used of a limit and what one unit of the
  order uses, the largest quantity that fits. The engine applies it to each limit in turn (pair
  exposure, portfolio exposure, leverage, balance) and to the no-martingale limit on money at
  risk; a cap of 0 means the limit leaves no room at all.

Numbers are plain floats; every rule is cheap enough for the tick -> order hot path. Each gate's
decision is a small predicate of floats (`*_ok`, `fill_side_fault`, `cap_qty`): numba-compatible,
so the vector backtester compiles these same functions (`tradeterm.backtest.vector.nb`) and the
`check_*` wrappers only add the words.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.clock import format_ms
from tradeterm.domain.calendar import DAY_MS, in_weekend_window
from tradeterm.domain.costs import TradeEconomics, reward_beyond_target
from tradeterm.domain.enums import Side, TradingState
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.signals import Signal

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
def check_trading_state(state: TradingState, reason: str, scope: str = "") -> str | None:
    """HALTED stops everything; REDUCING stops new entries (every intent is an entry).
    `scope` names a wallet whose own kill switch halted it (empty: the whole node)."""
    where = f" ({scope})" if scope else ""
    if state is TradingState.HALTED:
        return f"trading HALTED{where}: {reason}" if reason else f"trading HALTED{where}"
    if state is TradingState.REDUCING:
        why = f" ({reason})" if reason else ""
        return f"trading REDUCING{where}: no new entries{why}"
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


def check_shortable(instrument: Instrument, side: Side) -> str | None:
    """Spot markets cannot be sold short (nothing is borrowed)."""
    if side is Side.BUY or instrument.shortable:
        return None
    return f"{instrument.symbol} is a spot market: shorts are not allowed"


def fill_side_fault(
    sign: int, entry: float, stop_exit: float, take_profit: float, reward: float
) -> int:
    """Where an expected entry fill sits: 0 between its stop and its take profit (fine), 1 at or
    beyond the take profit (or the target would not pay), 2 at or beyond the stop."""
    if (take_profit - entry) * sign <= 0 or reward_beyond_target(reward):
        return 1
    if (entry - stop_exit) * sign <= 0:
        return 2
    return 0


def check_fill_side(econ: TradeEconomics, signal: Signal, decimals: int = 2) -> str | None:
    """The expected entry fill must stay between the stop and the take profit: an entry that
    would fill at or beyond its own target (or stop) is refused."""
    sign = signal.side.sign
    entry = econ.entry
    fault = fill_side_fault(sign, entry, econ.stop_exit, signal.take_profit, econ.reward)
    if fault == 1:
        return (
            f"entry would fill at {price_text(entry, decimals)}, at or beyond its take profit "
            f"{price_text(signal.take_profit, decimals)}"
        )
    if fault == 2:
        return (
            f"entry would fill at {price_text(entry, decimals)}, at or beyond its stop "
            f"{price_text(signal.stop_loss, decimals)}"
        )
    return None


def stop_cost_ok(risk: float, cost: float, multiple: float) -> bool:
    """The bare stop distance (risk less costs, per unit) is at least `multiple` round-trip
    costs."""
    return cost <= 0.0 or risk - cost >= multiple * cost * (1 - _EPS)


def check_stop_cost(econ: TradeEconomics, multiple: float, decimals: int = 2) -> str | None:
    """The stop must be at least `multiple` round-trip costs away: a stop inside a few costs is
    lost to fees, spread and slippage however right the idea was."""
    if stop_cost_ok(econ.risk, econ.cost, multiple):
        return None
    bare = econ.risk - econ.cost
    ratio = bare / econ.cost if econ.cost > 0 else 0.0
    return (
        f"stop only {ratio:.1f}x its round-trip cost away "
        f"({bare:.{max(2, decimals)}f} vs cost {econ.cost:.{max(2, decimals)}f} per unit; "
        f"need {multiple:g}x)"
    )


def reward_risk_ok(net: float, minimum: float) -> bool:
    """Reward:risk net of costs is at least `minimum`."""
    return net + _EPS >= minimum


def check_reward_risk(net: float, gross: float, minimum: float) -> str | None:
    """Reward:risk at the expected fills, net of costs, must be at least `minimum`."""
    if reward_risk_ok(net, minimum):
        return None
    return f"reward:risk {net:.2f} net of costs < {minimum:g} (gross {gross:.2f})"


def stop_width_ok(stop_distance: float, atr: float, max_stop_atr: float) -> bool:
    """The stop is at most `max_stop_atr` ATRs away (always true without an ATR)."""
    return atr <= 0.0 or stop_distance <= max_stop_atr * atr * (1 + _EPS)


def check_stop_width(stop_distance: float, atr: float, max_stop_atr: float) -> str | None:
    """The stop may be at most `max_stop_atr` ATRs from the entry (skipped without an ATR)."""
    if stop_width_ok(stop_distance, atr, max_stop_atr):
        return None
    return f"stop {stop_distance / atr:.1f} ATR wide > max {max_stop_atr:g} ATR"


def check_weekend(ts_ms: int, cutoff_minute: int, cutoff_text: str) -> str | None:
    """No entries from the weekly cut-off until Monday 00:00 UTC (weekend-carry avoidance)."""
    if not in_weekend_window(ts_ms, cutoff_minute):
        return None
    return f"weekend: no entries from {cutoff_text} UTC until Mon 00:00 UTC"


def daily_loss_ok(equity: float, day_start_equity: float, cap: float) -> bool:
    """The wallet has lost less than `cap` of its day-start equity (true without a day start)."""
    return day_start_equity <= 0.0 or equity / day_start_equity - 1.0 > -cap + _EPS


def check_daily_loss(equity: float, day_start_equity: float, cap: float) -> str | None:
    """Entries stop once the wallet has lost `cap` of its day-start equity (UTC day)."""
    if daily_loss_ok(equity, day_start_equity, cap):
        return None
    change = equity / day_start_equity - 1.0
    return f"daily loss cap: {pct(change)} of day-start equity <= -{pct(cap)}"


def symbol_loss_ok(pnl_today: float, day_start_equity: float, cap: float) -> bool:
    """A market's realised loss today is under `cap` of day-start equity."""
    if day_start_equity <= 0.0 or pnl_today >= 0.0:
        return True
    return -pnl_today / day_start_equity + _EPS < cap


def check_symbol_loss(
    key: str, pnl_today: float, day_start_equity: float, cap: float
) -> str | None:
    """Entries on a market stop once its realised PnL today is a loss of `cap` of day-start
    equity or more."""
    if symbol_loss_ok(pnl_today, day_start_equity, cap):
        return None
    lost = -pnl_today / day_start_equity
    return f"symbol loss cap: {key} lost {pct(lost)} of equity today >= {pct(cap)}"


def cooldown_over(until_ms: int, now_ms: int) -> bool:
    """An arm's cooldown has ended."""
    return now_ms >= until_ms


def check_cooldown(arm: str, until_ms: int, losses: int, now_ms: int) -> str | None:
    """After a run of losses an arm rests until `until_ms`."""
    if cooldown_over(until_ms, now_ms):
        return None
    same_day = until_ms // DAY_MS == now_ms // DAY_MS
    when = format_ms(until_ms, "%H:%M" if same_day else "%a %H:%M")
    return f"cooldown: {losses} losses on {arm} until {when} UTC"


def open_positions_ok(open_count: int, maximum: int) -> bool:
    """Room for one more position."""
    return open_count < maximum


def check_open_positions(open_count: int, maximum: int) -> str | None:
    """A wallet holds at most `maximum` positions, counting entries still working and awaiting
    confirmation (adding to an existing one is not a new one)."""
    if open_positions_ok(open_count, maximum):
        return None
    return f"max open positions: {open_count} of {maximum} already open or pending"


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


# ---- the resizing rule ---------------------------------------------------------------------------
def cap_qty(qty: float, per_unit: float, used: float, limit: float) -> float:
    """The largest quantity (at most `qty`) whose use, `per_unit` each, fits in what is left of
    `limit` after `used` (0 when nothing is left). The one cap behind every resizing rule."""
    if per_unit <= 0.0 or qty * per_unit <= (limit - used) * (1 + _EPS):
        return qty
    return max(0.0, limit - used) / per_unit


def cap(
    qty: float, per_unit: float, used: float, limit: float, label: str, unit: str = ""
) -> Cap | None:
    """`cap_qty` with the note the operator reads when it binds ("pair exposure cap 15% on
    sim:R_100: notional 180.00 -> 150.00 (open 0.00 of limit 150.00)"); None when it fits."""
    allowed = cap_qty(qty, per_unit, used, limit)
    if allowed >= qty:
        return None
    return Cap(
        allowed,
        f"{label}: {unit}{qty * per_unit:.2f} -> {allowed * per_unit:.2f} "
        f"(used {used:.2f} of limit {limit:.2f})",
    )
