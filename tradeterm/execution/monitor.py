"""The position monitor: on every price, decide whether a position must close or its stop move.

Checked in this order, first match wins:
1. stop loss hit (last price at or through the stop) -> STOP_LOSS ("trailing_stop" once trailed)
2. take profit hit -> TAKE_PROFIT
3. max hold (the plan's `max_hold_ms`, from RiskConfig.max_hold_minutes) -> EXIT "max_hold"
4. time stop (ExecutionConfig.time_stop_bars bars of the signal's timeframe) -> EXIT "time_stop"
5. weekend carry (RiskConfig.avoid_weekend_carry: from the weekly cut-off to Monday 00:00 UTC)
   -> EXIT "weekend"
6. trailing stop (ExecutionConfig.trailing_stop_atr > 0): best price since entry minus k x ATR
   (plus for shorts), rounded away from the market; proposed only when it tightens the stop.

The monitor only proposes; the engine submits the exit (never a second one while one works) or
moves the stop through the risk engine's check and the Portfolio. Work per tick is O(positions
on that market) with no allocation unless something happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradeterm.config.models import ExecutionConfig, RiskConfig
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.domain.timeframes import TIMEFRAME_MS

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_EPOCH_MONDAY_MS = 4 * DAY_MS  # 1970-01-05, the first Monday after the epoch (a Thursday)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class ExitCall:
    """Close the position: `purpose` of the exit order, `tag` (stable, part of the client order
    id) and `reason` (shown to the operator and stored as the trade's exit reason)."""

    purpose: OrderPurpose
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class StopMove:
    """Tighten the stop to `new_stop` (trailing)."""

    new_stop: float


MonitorAction = ExitCall | StopMove


def weekly_cutoff_ms(text: str) -> int:
    """'Fri 20:00' as milliseconds after Monday 00:00 UTC."""
    day, clock = text.split()
    hours, minutes = clock.split(":")
    return _WEEKDAYS.index(day) * DAY_MS + (int(hours) * 60 + int(minutes)) * 60_000


def in_weekend_window(ts_ms: int, cutoff_ms: int) -> bool:
    """True from the weekly cut-off until the next Monday 00:00 UTC."""
    return (ts_ms - _EPOCH_MONDAY_MS) % WEEK_MS >= cutoff_ms


class PositionMonitor:
    """Stops, targets, trailing, time stop, max hold and weekend carry for open positions."""

    def __init__(
        self,
        config: ExecutionConfig,
        risk_config: RiskConfig | None,
        instruments: Mapping[str, Instrument],
    ) -> None:
        self._trail_atr = config.trailing_stop_atr
        self._time_stop_bars = config.time_stop_bars
        self._instruments = instruments
        weekend = risk_config is not None and risk_config.avoid_weekend_carry
        self._weekend_cutoff = (
            weekly_cutoff_ms(risk_config.weekend_cutoff_utc)
            if weekend and risk_config is not None
            else -1
        )
        self._best: dict[tuple[str, str], float] = {}

    def check(self, position: Position, plan: EntryPlan | None, tick: Tick) -> MonitorAction | None:
        """What to do with `position` at this tick (None: nothing)."""
        price = tick.price
        if position.stop_loss > 0 and position.stop_hit(price):
            trailed = position.initial_stop > 0 and position.stop_loss != position.initial_stop
            tag = "trailing_stop" if trailed else "stop_loss"
            return ExitCall(
                OrderPurpose.STOP_LOSS, tag, f"{tag.replace('_', ' ')} {position.stop_loss} hit"
            )
        if position.target_hit(price):
            return ExitCall(
                OrderPurpose.TAKE_PROFIT, "take_profit", f"take profit {position.take_profit} hit"
            )
        exit_call = self._timed_exit(position, plan, tick.ts_ms)
        if exit_call is not None:
            return exit_call
        if self._trail_atr > 0 and plan is not None and plan.atr > 0:
            return self._trail(position, plan.atr, price)
        return None

    def forget(self, wallet_id: str, key: str) -> None:
        """Drop what was remembered about a closed position (its best price)."""
        self._best.pop((wallet_id, key), None)

    def _timed_exit(self, position: Position, plan: EntryPlan | None, now: int) -> ExitCall | None:
        held = now - position.opened_ms
        if position.max_hold_ms > 0 and held >= position.max_hold_ms:
            hours = position.max_hold_ms / 3_600_000
            return ExitCall(OrderPurpose.EXIT, "max_hold", f"max hold {hours:g} h reached")
        if self._time_stop_bars > 0 and plan is not None:
            bar_ms = TIMEFRAME_MS.get(plan.timeframe, 0)
            if bar_ms and held >= self._time_stop_bars * bar_ms:
                return ExitCall(
                    OrderPurpose.EXIT,
                    "time_stop",
                    f"time stop: {self._time_stop_bars} {plan.timeframe} bars",
                )
        if self._weekend_cutoff >= 0 and in_weekend_window(now, self._weekend_cutoff):
            return ExitCall(OrderPurpose.EXIT, "weekend", "weekend carry cut-off")
        return None

    def _trail(self, position: Position, atr: float, price: float) -> StopMove | None:
        slot = (position.wallet_id, position.key)
        sign = position.side.sign
        best = self._best.get(slot)
        if best is None:
            water = position.high_water if sign > 0 else position.low_water
            best = water or position.entry_price
        if (price - best) * sign > 0:
            best = price
        self._best[slot] = best
        candidate = best - sign * self._trail_atr * atr
        instrument = self._instruments.get(position.key)
        if instrument is not None:
            candidate = instrument.stop_price_away(candidate, sign)
        if position.is_tighter_stop(candidate) and (price - candidate) * sign > 0:
            return StopMove(candidate)
        return None
