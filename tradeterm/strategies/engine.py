"""The strategy engine: every enabled strategy instance, on every market and timeframe it trades,
evaluated at each closed bar on the live window that ends at that bar.

One StrategyRunner per (instance, market, timeframe). A runner whose strategy raises is disabled
(StrategyError: disable that strategy, keep the rest) and the operator is alerted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeterm.bus import Bus
from tradeterm.clock import Clock
from tradeterm.config.models import StrategyConfig
from tradeterm.domain import events as ev
from tradeterm.domain.enums import Domain
from tradeterm.domain.market import Bar
from tradeterm.domain.series import BarSeries
from tradeterm.domain.signals import Signal
from tradeterm.errors import StrategyError
from tradeterm.strategies.registry import build_params, get_strategy
from tradeterm.strategies.runner import StrategyRunner

log = logging.getLogger(__name__)

WindowLookup = Callable[[str, str], BarSeries | None]


@dataclass(frozen=True, slots=True)
class Market:
    """A market a domain trades: venue, symbol and its domain."""

    venue: str
    symbol: str
    domain: Domain

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


def build_runners(
    configs: Mapping[str, StrategyConfig], markets: Iterable[Market]
) -> list[StrategyRunner]:
    """One runner per enabled instance x market x timeframe. A market matches an instance when its
    domain is listed in `domains` or its symbol (or `venue:symbol`) in `symbols`."""
    market_list = list(markets)
    runners: list[StrategyRunner] = []
    for instance, cfg in configs.items():
        if not cfg.enabled:
            continue
        strategy = get_strategy(cfg.strategy or instance)
        params = build_params(cfg.strategy or instance, cfg.params)
        wanted = set(cfg.symbols)
        for market in market_list:
            if market.domain not in cfg.domains and not ({market.symbol, market.key} & wanted):
                continue
            for timeframe in cfg.timeframes:
                runners.append(
                    StrategyRunner(
                        strategy,
                        params,
                        venue=market.venue,
                        symbol=market.symbol,
                        timeframe=timeframe,
                        confirm_timeframe=cfg.confirm_timeframe,
                        instance=instance,
                    )
                )
    return runners


class StrategyEngine:
    """Evaluates runners on closed bars and publishes their signals."""

    def __init__(
        self, runners: Iterable[StrategyRunner], windows: WindowLookup, clock: Clock
    ) -> None:
        self._windows = windows
        self._clock = clock
        self._by_market: dict[tuple[str, str], list[StrategyRunner]] = defaultdict(list)
        for runner in runners:
            self._by_market[(f"{runner.venue}:{runner.symbol}", runner.timeframe)].append(runner)
        self.enabled = True
        self.disabled: dict[str, str] = {}
        self._bus: Bus | None = None

    @property
    def runners(self) -> list[StrategyRunner]:
        return [r for group in self._by_market.values() for r in group]

    def replace_runners(self, runners: Iterable[StrategyRunner]) -> None:
        """Evaluate these runners from the next bar on (a reload of promoted parameters)."""
        by_market: dict[tuple[str, str], list[StrategyRunner]] = defaultdict(list)
        for runner in runners:
            by_market[(f"{runner.venue}:{runner.symbol}", runner.timeframe)].append(runner)
        self._by_market = by_market

    def required_bars(self) -> dict[str, int]:
        """Per timeframe, the deepest window any runner needs (sizes windows and warm-up)."""
        need: dict[str, int] = {}
        for (_key, timeframe), group in self._by_market.items():
            need[timeframe] = max([need.get(timeframe, 0), *(r.required_bars for r in group)])
        return need

    def markets(self) -> dict[str, set[str]]:
        """Per market key, the timeframes some runner evaluates."""
        out: dict[str, set[str]] = defaultdict(set)
        for key, timeframe in self._by_market:
            out[key].add(timeframe)
        return dict(out)

    def on_bar(self, bar: Bar) -> tuple[list[Signal], list[str]]:
        """Signals of every runner on this bar's market and timeframe; and runners disabled now."""
        group = self._by_market.get((bar.key, bar.timeframe))
        if not group or not self.enabled:
            return [], []
        window = self._windows(bar.key, bar.timeframe)
        if window is None or len(window) == 0 or int(window.open_ms[-1]) != bar.open_ms:
            return [], []
        signals: list[Signal] = []
        failed: list[str] = []
        for runner in list(group):
            try:
                signal = runner.on_bar(window)
            except StrategyError as exc:
                group.remove(runner)
                self.disabled[f"{runner.label} {runner.market}"] = exc.msg
                failed.append(exc.msg)
                log.error("strategy disabled: %s", exc.msg)
                continue
            if signal is not None:
                signals.append(signal)
        return signals, failed

    async def attach(self, bus: Bus) -> None:
        self._bus = bus
        bus.subscribe(ev.BAR, self._on_bar_msg, inline=True, name="strategies.bar")

    async def _on_bar_msg(self, _topic: str, message: Any) -> None:
        assert self._bus is not None
        signals, failed = self.on_bar(message)
        for text in failed:
            await self._bus.publish(
                ev.ALERT,
                ev.Alert("error", f"strategy disabled: {text}", self._clock.now_ms(), ev.SIGNAL),
            )
        for signal in signals:
            await self._bus.publish(ev.SIGNAL, signal)
