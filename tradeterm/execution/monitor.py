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

When the position's stop and target rest at the venue (`protected`), those orders are the first
line: the monitor closes the position itself only when the price has stayed through the stop or
target for `stop_grace_s` (the venue's order did not work: rejected, lost, a venue fault). That
is the second line.

The monitor only proposes; the engine submits the exit (never a second one while one works) or
moves the stop through the risk engine's check. Work per tick is O(positions on that market)
with no allocation unless something happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradeterm.config.models import ExecutionConfig, RiskConfig
from tradeterm.domain.calendar import in_weekend_window, parse_weekly_cutoff
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.orders import EntryPlan, OrderPurpose
from tradeterm.domain.positions import Position
from tradeterm.domain.timeframes import TIMEFRAME_MS


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
        self._grace_ms = round(config.stop_grace_s * 1000)
        self._instruments = instruments
        weekend = risk_config is not None and risk_config.avoid_weekend_carry
        self._weekend_cutoff = (
            parse_weekly_cutoff(risk_config.weekend_cutoff_utc)
            if weekend and risk_config is not None
            else -1
        )
        self._best: dict[tuple[str, str], float] = {}
        self._breached: dict[tuple[str, str], int] = {}

    def check(
        self,
        position: Position,
        plan: EntryPlan | None,
        tick: Tick,
        *,
        protected: bool = False,
    ) -> MonitorAction | None:
        """What to do with `position` at this tick (None: nothing). `protected`: its stop and
        target rest at the venue, so the monitor waits out the grace before acting on them."""
        if protected and not self._grace_over(position, tick):
            exit_call = self._timed_exit(position, plan, tick.ts_ms)
            if exit_call is not None:
                return exit_call
            if self._trail_atr > 0 and plan is not None and plan.atr > 0:
                return self._trail(position, plan.atr, tick.price)
            return None
        return self._check(position, plan, tick)

    def _grace_over(self, position: Position, tick: Tick) -> bool:
        """True once the price has stayed through the stop or target for the grace period."""
        slot = (position.wallet_id, position.key)
        breached = (position.stop_loss > 0 and position.stop_hit(tick.price)) or (
            position.target_hit(tick.price)
        )
        if not breached:
            self._breached.pop(slot, None)
            return False
        since = self._breached.setdefault(slot, tick.ts_ms)
        return tick.ts_ms - since >= self._grace_ms

    def _check(
        self, position: Position, plan: EntryPlan | None, tick: Tick
    ) -> MonitorAction | None:
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
        """Drop what was remembered about a closed position (its best price, its breach)."""
        self._best.pop((wallet_id, key), None)
        self._breached.pop((wallet_id, key), None)

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
