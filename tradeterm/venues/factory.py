"""Venue construction: each config `kind` maps to a builder (data, not branches).

A VenueHandle bundles a venue's DataClient, its ExecClients per account and its fill model for
paper wallets trading on its prices. A builder gets the state folder (None: keep nothing on disk);
the sim venue keeps its accounts' books there in `sim-{name}.db`, as a real venue remembers them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tradeterm.clock import Clock
from tradeterm.config.models import FillModelConfig, SimVenueConfig, VenueConfig
from tradeterm.domain.costs import CostModel
from tradeterm.domain.enums import ContractKind
from tradeterm.domain.instruments import Instrument
from tradeterm.errors import ConfigError
from tradeterm.venues.base import DataClient, ExecClient

DEFAULT_FUNDING_RATE_8H = 0.0001
"""Expected funding per 8 hours of a perpetual when the venue gives nothing better (0.01%)."""


def fill_model_costs(model: FillModelConfig, instrument: Instrument) -> CostModel:
    """The cost model of a fill model on one instrument: its fees and slippage, the
    instrument's typical spread and contract size, the default funding rate for perpetuals."""
    perp = instrument.kind is ContractKind.PERPETUAL
    return CostModel(
        taker_fee_rate=model.taker_fee_rate,
        maker_fee_rate=model.maker_fee_rate,
        slippage_bps=model.slippage_bps,
        half_spread=instrument.half_spread,
        funding_rate_8h=DEFAULT_FUNDING_RATE_8H if perp else 0.0,
        contract_size=instrument.contract_size,
    )


@dataclass
class VenueHandle:
    """One configured venue at run time. `cost_factory` (optional) prices trades on the venue's
    own fee schedule; by default the fill model's fees and slippage are the cost model."""

    name: str
    kind: str
    data: DataClient
    exec_factory: Callable[[str], ExecClient]
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    close: Callable[[], object] | None = None
    cost_factory: Callable[[Instrument], CostModel] | None = None
    fee_rates: Callable[[str], tuple[float, float] | None] | None = None
    """The venue's own (maker, taker) fee rates of a market when it reports them (ccxt)."""
    load_fees: Callable[[Sequence[str]], Awaitable[int]] | None = None
    """Ask the venue for the account's fee tier of these markets (needs keys); returns the
    markets updated."""
    live_cash_from_venue: bool = False
    """A live wallet opened on this venue for the first time starts with the account's
    balance (Deriv), not the configured one."""

    def exec_client(self, account: str) -> ExecClient:
        return self.exec_factory(account)

    def cost_model(self, instrument: Instrument) -> CostModel:
        """What trading `instrument` here costs (the risk gate's and paper fills' model)."""
        if self.cost_factory is not None:
            return self.cost_factory(instrument)
        return fill_model_costs(self.fill_model, instrument)


VenueBuilder = Callable[[str, VenueConfig, Clock, Path | None], VenueHandle]
"""Builds one configured venue: (name, config, clock, state folder or None)."""


def sim_state_path(state_dir: Path, name: str) -> Path:
    """Where the sim venue `name` keeps its accounts' books inside a state folder."""
    return state_dir / f"sim-{name}.db"


def _build_sim(name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None) -> VenueHandle:
    from tradeterm.venues.sim.venue import SimVenue

    assert isinstance(cfg, SimVenueConfig)
    state_path = sim_state_path(state_dir, name) if state_dir is not None else None
    sim = SimVenue(name, cfg, clock, state_path=state_path)
    return VenueHandle(name, "sim", sim.data, sim.exec_client, cfg.fill_model, sim.close)


def _build_binance(
    name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None
) -> VenueHandle:
    from tradeterm.venues.crypto.factory import build_binance_futures

    return build_binance_futures(name, cfg)


def _build_bybit(name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None) -> VenueHandle:
    from tradeterm.venues.crypto.factory import build_bybit

    return build_bybit(name, cfg)


VENUE_BUILDERS: dict[str, VenueBuilder] = {
    "sim": _build_sim,
    "binance_futures": _build_binance,
    "bybit": _build_bybit,
}


def _build_deriv(name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None) -> VenueHandle:
    from tradeterm.venues.deriv import build_deriv

    return build_deriv(name, cfg, clock, state_dir)


VENUE_BUILDERS["deriv"] = _build_deriv


def build_venue(
    name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None = None
) -> VenueHandle:
    """The run-time venue for a config entry; ConfigError for kinds without an adapter yet.
    With `state_dir`, venues that keep books of their own (the sim venue) keep them there."""
    builder = VENUE_BUILDERS.get(cfg.kind)
    if builder is None:
        raise ConfigError(
            f"venues.{name}.kind: the '{cfg.kind}' adapter is not available in this version"
            f" (available: {', '.join(sorted(VENUE_BUILDERS))})"
        )
    return builder(name, cfg, clock, state_dir)
