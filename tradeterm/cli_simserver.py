"""`tradeterm sim-server KIND`: the protocol simulators (Deriv, Binance USDT-M, Bybit) on loopback.

Each simulator lives in its own module under `tradeterm.venues.sim.servers` and exposes
`add_arguments(parser)` (its options: port, fault switches, ...) and `run(args) -> int`. A kind
appears here only when its module is present, so adding a simulator touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

SERVER_MODULES: dict[str, tuple[str, str]] = {
    "deriv": ("tradeterm.venues.sim.servers.deriv", "Deriv API v3 websocket simulator"),
    "binance-futures": (
        "tradeterm.venues.sim.servers.binance",
        "Binance USDT-M futures REST + websocket simulator",
    ),
    "bybit": (
        "tradeterm.venues.sim.servers.bybit",
        "Bybit v5 spot/linear REST + websocket simulator",
    ),
}


def _module(path: str) -> ModuleType | None:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name == path:
            return None
        raise


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `sim-server KIND ...` for every simulator module present."""
    p = sub.add_parser("sim-server", help="run a venue protocol simulator on loopback")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, (path, text) in SERVER_MODULES.items():
        module = _module(path)
        if module is None:
            continue
        sp = kinds.add_parser(kind, help=text)
        module.add_arguments(sp)
        sp.set_defaults(func=module.run)
