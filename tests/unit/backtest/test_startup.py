"""What a first backtest loads: the vector engine's imports stay off the node's heavy parts, and
the package names re-exported lazily still resolve to the very objects of their modules."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("tradeterm.risk.engine", "tradeterm.execution.engine", "tradeterm.portfolio.book",
         "tradeterm.storage.db", "tradeterm.venues.sim.venue", "sqlite_utils")  # fmt: skip


def test_the_vector_engine_imports_none_of_the_node() -> None:
    code = (
        "import sys; import tradeterm.backtest.engines, tradeterm.backtest.vector.wrapper, "
        "tradeterm.venues.sim.replay; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_lazily_exported_names_are_their_modules_objects() -> None:
    import tradeterm.execution as execution
    import tradeterm.portfolio as portfolio
    import tradeterm.risk as risk
    import tradeterm.venues.sim as sim
    from tradeterm.execution.engine import ExecutionEngine
    from tradeterm.portfolio.book import Portfolio
    from tradeterm.risk.engine import RiskEngine
    from tradeterm.venues.sim.venue import SimVenue

    assert (risk.RiskEngine, execution.ExecutionEngine) == (RiskEngine, ExecutionEngine)
    assert (portfolio.Portfolio, sim.SimVenue) == (Portfolio, SimVenue)
    for package in (risk, execution, portfolio, sim):
        assert all(getattr(package, name) is not None for name in package.__all__)
    try:
        risk.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "tradeterm.risk" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
