"""Venue construction: each config `kind` maps to a builder (data, not branches).

A VenueHandle bundles a venue's DataClient, its ExecClients per account and its fill model for
paper wallets trading on its prices. A builder gets the state folder (None: keep nothing on disk);
the sim venue keeps its accounts' books there in `sim-{name}.db`, as a real venue remembers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


VENUE_BUILDERS: dict[str, VenueBuilder] = {"sim": _build_sim}


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
