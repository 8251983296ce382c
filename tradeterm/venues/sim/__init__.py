"""The embedded simulated venue: the offline default venue and the default test fake.

Synthetic indices modelled on Deriv's (generators, catalog), real candles replayed as a live feed
(replay), the paper fill model (matching), and the venue composing them on one clock (venue).
"""

from typing import TYPE_CHECKING

from tradeterm.imports import lazy_exports

if TYPE_CHECKING:
    from tradeterm.venues.sim.catalog import INDEX_SPECS, KNOWN_SYMBOLS, IndexSpec, index_spec
    from tradeterm.venues.sim.matching import MatchingEngine
    from tradeterm.venues.sim.venue import SimDataClient, SimExecClient, SimVenue, sim_capabilities

__all__ = [
    "INDEX_SPECS",
    "KNOWN_SYMBOLS",
    "IndexSpec",
    "MatchingEngine",
    "SimDataClient",
    "SimExecClient",
    "SimVenue",
    "index_spec",
    "sim_capabilities",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "INDEX_SPECS": "tradeterm.venues.sim.catalog",
        "KNOWN_SYMBOLS": "tradeterm.venues.sim.catalog",
        "IndexSpec": "tradeterm.venues.sim.catalog",
        "index_spec": "tradeterm.venues.sim.catalog",
        "MatchingEngine": "tradeterm.venues.sim.matching",
        "SimDataClient": "tradeterm.venues.sim.venue",
        "SimExecClient": "tradeterm.venues.sim.venue",
        "SimVenue": "tradeterm.venues.sim.venue",
        "sim_capabilities": "tradeterm.venues.sim.venue",
    },
)
