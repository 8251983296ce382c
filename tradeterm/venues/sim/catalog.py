"""The synthetic indices the sim venue offers: symbol, model, cadence, pip and instrument.

Symbols and pips follow Deriv (volatility R_10..R_100 and 1HZ10V..1HZ100V, Crash/Boom 500/1000,
Step Index, Jump 10..100). Start levels are Deriv-like defaults; callers may override them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from tradeterm.domain.enums import ContractKind, Domain
from tradeterm.domain.instruments import Instrument
from tradeterm.errors import ConfigError
from tradeterm.venues.sim.generators import (
    DEFAULT_CHUNK,
    CrashBoomModel,
    IndexGenerator,
    IndexModel,
    JumpModel,
    StepModel,
    VolatilityModel,
    symbol_rng,
)

HALF_SPREAD_BPS = 0.25
"""Default half spread of a synthetic quote: bid and ask sit this far either side of it."""


class IndexFamily(StrEnum):
    """Which law drives an index."""

    VOLATILITY = "volatility"
    CRASH = "crash"
    BOOM = "boom"
    STEP = "step"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One synthetic index: what it is called, how it moves, how often it ticks, and its pip.

    sigma: annual volatility (volatility and jump indices); n: one event in n ticks on average
    (crash/boom); event_scale: multiplies the mean crash/spike size; half_spread_pips: distance of
    bid and ask from the quote.
    """

    symbol: str
    display_name: str
    family: IndexFamily
    interval_ms: int
    pip: float
    start_price: float
    lot_step: float
    sigma: float = 0.0
    n: float = 0.0
    event_scale: float = 1.0
    half_spread_pips: int = 1

    @property
    def half_spread(self) -> float:
        """Bid/ask distance from the quote, in price."""
        return self.half_spread_pips * self.pip

    def model(self) -> IndexModel:
        """The price law of this index."""
        interval_s = self.interval_ms / 1000.0
        if self.family is IndexFamily.VOLATILITY:
            return VolatilityModel(self.sigma, interval_s)
        if self.family is IndexFamily.JUMP:
            return JumpModel(self.sigma, interval_s)
        if self.family is IndexFamily.STEP:
            return StepModel(step=self.pip, pip=self.pip)
        direction = -1 if self.family is IndexFamily.CRASH else 1
        return CrashBoomModel(self.n, interval_s, direction, self.event_scale)

    def generator(
        self,
        *,
        seed: int,
        start_ms: int,
        start_price: float | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> IndexGenerator:
        """A generator of this index's ticks from `start_ms`, seeded from (seed, symbol)."""
        return IndexGenerator(
            self.model(),
            pip=self.pip,
            interval_ms=self.interval_ms,
            rng=symbol_rng(seed, self.symbol),
            start_ms=start_ms,
            start_price=start_price if start_price is not None else self.start_price,
            chunk_size=chunk_size,
        )

    def instrument(self, venue: str) -> Instrument:
        """The tradeable instrument of this index on `venue`."""
        return Instrument(
            venue=venue,
            symbol=self.symbol,
            kind=ContractKind.SYNTHETIC,
            domain=Domain.SYNTHETICS,
            tick_size=self.pip,
            lot_step=self.lot_step,
            min_qty=self.lot_step,
            min_notional=1.0,
            base=self.symbol,
            quote="USD",
            display_name=self.display_name,
            half_spread=self.half_spread,
        )


def _spec(
    symbol: str,
    name: str,
    family: IndexFamily,
    interval_s: int,
    pip: float,
    start: float,
    *,
    sigma: float = 0.0,
    n: float = 0.0,
) -> IndexSpec:
    """A table row; lot step and spread follow from the start level."""
    lot_step = 0.001 if start >= 2000 else 0.01
    spread = round(start * HALF_SPREAD_BPS / 1e4 / pip)
    half_spread_pips = 1 if family is IndexFamily.STEP else max(1, spread)
    return IndexSpec(
        symbol=symbol,
        display_name=name,
        family=family,
        interval_ms=interval_s * 1000,
        pip=pip,
        start_price=start,
        lot_step=lot_step,
        sigma=sigma,
        n=n,
        half_spread_pips=half_spread_pips,
    )


_V, _C, _B, _S, _J = (
    IndexFamily.VOLATILITY,
    IndexFamily.CRASH,
    IndexFamily.BOOM,
    IndexFamily.STEP,
    IndexFamily.JUMP,
)

INDEX_SPECS: tuple[IndexSpec, ...] = (
    _spec("R_10", "Volatility 10 Index", _V, 2, 0.001, 6500.0, sigma=0.10),
    _spec("R_25", "Volatility 25 Index", _V, 2, 0.001, 2900.0, sigma=0.25),
    _spec("R_50", "Volatility 50 Index", _V, 2, 0.0001, 180.0, sigma=0.50),
    _spec("R_75", "Volatility 75 Index", _V, 2, 0.0001, 95000.0, sigma=0.75),
    _spec("R_100", "Volatility 100 Index", _V, 2, 0.01, 1200.0, sigma=1.00),
    _spec("1HZ10V", "Volatility 10 (1s) Index", _V, 1, 0.01, 9000.0, sigma=0.10),
    _spec("1HZ25V", "Volatility 25 (1s) Index", _V, 1, 0.01, 4500.0, sigma=0.25),
    _spec("1HZ50V", "Volatility 50 (1s) Index", _V, 1, 0.01, 250.0, sigma=0.50),
    _spec("1HZ75V", "Volatility 75 (1s) Index", _V, 1, 0.01, 5000.0, sigma=0.75),
    _spec("1HZ100V", "Volatility 100 (1s) Index", _V, 1, 0.01, 1500.0, sigma=1.00),
    _spec("CRASH500", "Crash 500 Index", _C, 1, 0.001, 5000.0, n=500),
    _spec("CRASH1000", "Crash 1000 Index", _C, 1, 0.001, 7000.0, n=1000),
    _spec("BOOM500", "Boom 500 Index", _B, 1, 0.001, 8000.0, n=500),
    _spec("BOOM1000", "Boom 1000 Index", _B, 1, 0.001, 13000.0, n=1000),
    _spec("stpRNG", "Step Index", _S, 1, 0.1, 8000.0),
    _spec("JD10", "Jump 10 Index", _J, 1, 0.01, 6000.0, sigma=0.10),
    _spec("JD25", "Jump 25 Index", _J, 1, 0.01, 4000.0, sigma=0.25),
    _spec("JD50", "Jump 50 Index", _J, 1, 0.01, 5000.0, sigma=0.50),
    _spec("JD75", "Jump 75 Index", _J, 1, 0.01, 3000.0, sigma=0.75),
    _spec("JD100", "Jump 100 Index", _J, 1, 0.01, 8000.0, sigma=1.00),
)
"""Every synthetic index the sim venue knows, in display order."""

_BY_SYMBOL: Mapping[str, IndexSpec] = MappingProxyType({s.symbol: s for s in INDEX_SPECS})
KNOWN_SYMBOLS: tuple[str, ...] = tuple(_BY_SYMBOL)


def index_spec(symbol: str) -> IndexSpec | None:
    """The spec of a known synthetic index, or None."""
    return _BY_SYMBOL.get(symbol)


def resolve_symbols(
    venue: str,
    symbols: Sequence[str],
    *,
    start_prices: Mapping[str, float] | None = None,
) -> list[IndexSpec]:
    """The specs a sim venue offers: `symbols` (empty = all known), with start-price overrides.

    ConfigError names `venues.<venue>.symbols` and every unknown symbol.
    """
    wanted = list(symbols) or list(KNOWN_SYMBOLS)
    unknown = [s for s in wanted if s not in _BY_SYMBOL]
    if unknown:
        known = ", ".join(KNOWN_SYMBOLS)
        problems = [
            f"venues.{venue}.symbols: unknown synthetic index '{s}' (known: {known})"
            for s in unknown
        ]
        raise ConfigError(problems[0], problems)
    overrides = dict(start_prices or {})
    specs = []
    for symbol in dict.fromkeys(wanted):
        spec = _BY_SYMBOL[symbol]
        if symbol in overrides:
            if overrides[symbol] <= 0:
                raise ConfigError(f"venues.{venue}: start price of '{symbol}' must be positive")
            spec = replace(spec, start_price=float(overrides[symbol]))
        specs.append(spec)
    return specs
