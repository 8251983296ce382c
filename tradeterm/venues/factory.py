"""Venue construction: each config `kind` maps to a builder (data, not branches).

A VenueHandle bundles a venue's DataClient, its ExecClients per account and its fill model for
paper wallets trading on its prices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tradeterm.clock import Clock
from tradeterm.config.models import FillModelConfig, SimVenueConfig, VenueConfig
from tradeterm.errors import ConfigError
from tradeterm.venues.base import DataClient, ExecClient


@dataclass
class VenueHandle:
    """One configured venue at run time."""

    name: str
    kind: str
    data: DataClient
    exec_factory: Callable[[str], ExecClient]
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    close: Callable[[], object] | None = None

    def exec_client(self, account: str) -> ExecClient:
        return self.exec_factory(account)


def _build_sim(name: str, cfg: VenueConfig, clock: Clock) -> VenueHandle:
    from tradeterm.venues.sim.venue import SimVenue

    assert isinstance(cfg, SimVenueConfig)
    sim = SimVenue(name, cfg, clock)
    return VenueHandle(name, "sim", sim.data, sim.exec_client, cfg.fill_model, sim.close)


VENUE_BUILDERS: dict[str, Callable[[str, VenueConfig, Clock], VenueHandle]] = {"sim": _build_sim}


def build_venue(name: str, cfg: VenueConfig, clock: Clock) -> VenueHandle:
    """The run-time venue for a config entry; ConfigError for kinds without an adapter yet."""
    builder = VENUE_BUILDERS.get(cfg.kind)
    if builder is None:
        raise ConfigError(
            f"venues.{name}.kind: the '{cfg.kind}' adapter is not available in this version"
            f" (available: {', '.join(sorted(VENUE_BUILDERS))})"
        )
    return builder(name, cfg, clock)
