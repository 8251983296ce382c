"""Running a strategy: live, bar by bar, and vectorised over a whole history, through one path.

`vector_signals` is what the vector backtester calls once on the full history. `StrategyRunner`
is what live trading and the event backtester call at each bar close with the rolling window: it
evaluates the same function on the last `required_bars` bars and turns the last row into a
`Signal`. Because the strategy never looks ahead and `required_bars` covers every indicator's
settling time and the higher-timeframe window, the live signal at bar t is the backtest signal at
bar t (tests/unit/strategies/test_parity.py checks it at every bar of real data).

That equality lets the event backtester `preload` a runner with `vector_signals` of the whole
history, evaluated once: `on_bar` then reads the row of the bar that closed instead of
re-evaluating the window, and turns it into the same `Signal`. Bars the preloaded history does
not hold are evaluated on the window as live.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradeterm.domain.enums import Side
from tradeterm.domain.ids import signal_id
from tradeterm.domain.series import BarSeries
from tradeterm.domain.signals import Signal
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import StrategyError
from tradeterm.strategies.base import SignalFrame, StrategyClass, StrategyParams
from tradeterm.strategies.htf import DEFAULT_CONFIRM_PERIOD, confirm, higher_trend, htf_lookback


def required_bars(
    strategy: StrategyClass,
    params: StrategyParams,
    *,
    timeframe: str = "",
    confirm_timeframe: str = "",
    confirm_period: int = DEFAULT_CONFIRM_PERIOD,
) -> int:
    """Closed bars a live window must hold: the strategy's lookback, or the higher-timeframe
    window when a confirm timeframe is set and that is longer."""
    need = strategy.total_lookback(params)
    if confirm_timeframe:
        lower = timeframe_ms(timeframe)
        need = max(need, htf_lookback(lower, timeframe_ms(confirm_timeframe), confirm_period))
    return max(need, 1)


def _infer_bar_ms(bars: BarSeries) -> int:
    steps = np.diff(bars.open_ms)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise StrategyError("cannot tell the bar timeframe from fewer than two bars; pass it")
    return int(steps.min())


def vector_signals(
    strategy: StrategyClass,
    params: StrategyParams,
    bars: BarSeries,
    confirm_timeframe: str = "",
    *,
    timeframe: str = "",
    confirm_period: int = DEFAULT_CONFIRM_PERIOD,
) -> SignalFrame:
    """Signals for every bar of `bars`, as the live runner would emit them bar by bar.

    With `confirm_timeframe`, only signals that agree with the closed higher-timeframe trend
    survive. Pass the bars' `timeframe` with it (when omitted it is taken as the smallest gap
    between bars). Bars before `required_bars - 1` are flat, as the live runner cannot trade them.
    """
    frame = strategy.signals(bars, params)
    need = strategy.total_lookback(params)
    if confirm_timeframe:
        lower_ms = timeframe_ms(timeframe) if timeframe else _infer_bar_ms(bars)
        higher_ms = timeframe_ms(confirm_timeframe)
        frame = confirm(frame, higher_trend(bars, lower_ms, higher_ms, confirm_period))
        need = max(need, htf_lookback(lower_ms, higher_ms, confirm_period))
    return frame.clear_before(need - 1)


class StrategyRunner:
    """One strategy instance on one market and timeframe, evaluated at each bar close.

    `on_bar(window)` takes the rolling window of closed bars ending at the bar that just closed
    and returns that bar's `Signal`, or None (no entry, or not enough history yet). Errors inside
    the strategy become StrategyError naming the strategy and market, so the caller can disable
    this strategy and keep the others running.
    """

    def __init__(
        self,
        strategy: StrategyClass,
        params: StrategyParams,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        confirm_timeframe: str = "",
        instance: str = "",
        confirm_period: int = DEFAULT_CONFIRM_PERIOD,
    ) -> None:
        self.strategy = strategy
        self.params = params
        self.venue = venue
        self.symbol = symbol
        self.timeframe = timeframe
        self.confirm_timeframe = confirm_timeframe
        self.confirm_period = confirm_period
        self.label = instance or strategy.name
        if not isinstance(params, strategy.params_model):
            raise StrategyError(
                f"strategy '{self.label}' needs {strategy.params_model.__name__}, "
                f"got {type(params).__name__}"
            )
        try:
            self.bar_ms = timeframe_ms(timeframe)
            self.required_bars = required_bars(
                strategy,
                params,
                timeframe=timeframe,
                confirm_timeframe=confirm_timeframe,
                confirm_period=confirm_period,
            )
        except ValueError as exc:
            raise StrategyError(f"strategy '{self.label}': {exc}") from None
        self._preloaded: tuple[npt.NDArray[np.int64], SignalFrame] | None = None

    def preload(self, history: BarSeries) -> None:
        """Event backtest: evaluate the strategy once over the whole `history` of this market
        (`vector_signals` with this runner's settings); `on_bar` then reads the rows of those
        bars (see the module text)."""
        frame = self._guarded(history)
        self._preloaded = (np.ascontiguousarray(history.open_ms, dtype=np.int64), frame)

    def signal_times(self) -> npt.NDArray[np.int64]:
        """Open times of the preloaded bars that carry an entry signal (empty if not preloaded)."""
        if self._preloaded is None:
            return np.empty(0, dtype=np.int64)
        opened, frame = self._preloaded
        return opened[frame.signal_rows()]

    def _preloaded_row(self, window: BarSeries) -> int:
        """The preloaded row of the window's last bar, -1 when the history does not hold it."""
        if self._preloaded is None:
            return -1
        opened = self._preloaded[0]
        last = window.open_ms[-1]
        i = int(opened.searchsorted(last))
        return i if i < opened.shape[0] and opened[i] == last else -1

    @property
    def market(self) -> str:
        """`venue:SYMBOL timeframe`, as shown in messages."""
        return f"{self.venue}:{self.symbol} {self.timeframe}"

    def evaluate(self, window: BarSeries) -> SignalFrame:
        """The signal frame over the last `required_bars` bars of `window`."""
        return self._guarded(window.tail(self.required_bars))

    def _guarded(self, bars: BarSeries) -> SignalFrame:
        """`vector_signals` over `bars` with this runner's settings; a failure inside the
        strategy becomes a StrategyError naming the strategy and market."""
        try:
            return vector_signals(
                self.strategy,
                self.params,
                bars,
                self.confirm_timeframe,
                timeframe=self.timeframe,
                confirm_period=self.confirm_period,
            )
        except StrategyError as exc:
            detail = exc.msg.removeprefix(f"strategy '{self.strategy.name}' ")
            raise StrategyError(f"strategy '{self.label}' on {self.market}: {detail}") from exc
        except Exception as exc:
            raise StrategyError(
                f"strategy '{self.label}' failed on {self.market}: {type(exc).__name__}: {exc}"
            ) from exc

    def on_bar(self, window: BarSeries) -> Signal | None:
        """The entry signal of the bar that just closed (the last bar of `window`), if any."""
        row = self._preloaded_row(window)
        if row >= 0:  # the history's warm-up rows are flat, as a short live window is silent
            assert self._preloaded is not None
            frame = self._preloaded[1]
        elif len(window) < self.required_bars:
            return None
        else:
            frame = self.evaluate(window)
        side, entry, stop, target, confidence = frame.row(row)
        if side == 0:
            return None
        bar_open_ms = int(window.open_ms[-1])
        return Signal(
            id=signal_id(self.label, self.venue, self.symbol, self.timeframe, bar_open_ms),
            ts_ms=bar_open_ms + self.bar_ms,
            venue=self.venue,
            symbol=self.symbol,
            timeframe=self.timeframe,
            strategy=self.label,
            strategy_version=self.strategy.version,
            side=Side.from_sign(side),
            entry=entry,
            stop_loss=stop,
            take_profit=target,
            confidence=confidence,
            atr=frame.atr_at(row),
        )
