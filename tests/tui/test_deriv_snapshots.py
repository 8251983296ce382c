"""Deriv contracts in the positions pane, at 80x24 and 160x48: contract id, multiplier, stake,
TP/SL in currency, stop-out price and live PnL (narrow: the contract id and multiplier give way
first). Update with `--snapshot-update` and look at the SVGs before committing them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.panes.conftest import DERIV_CONTRACT, Host, position, wallet
from tradeterm.tui.panes import PositionsPane
from tradeterm.tui.views import WalletsView

SnapCompare = Callable[..., bool]

CONTRACTS = (
    position("deriv:R_100", **{**DERIV_CONTRACT, "unrealized": 0.64, "age_s": 95}),
    position(
        "deriv:1HZ100V",
        symbol="1HZ100V",
        side="sell",
        qty=0.043211,
        entry=2314.77,
        mark=2309.12,
        unrealized=0.24,
        stop_loss=2322.10,
        take_profit=0.0,
        decimals=2,
        contract="250000021",
        multiplier=20.0,
        stake=5.0,
        sl_amount=1.41,
        stop_out=2371.66,
        age_s=31,
    ),
)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_deriv_contracts_in_the_positions_pane(
    snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    pane = PositionsPane()
    view = WalletsView(
        (
            wallet(
                "live:synthetics",
                "LIVE",
                positions=CONTRACTS,
                multipliers=True,
                equity=10_001.12,
                balance=9_874.73,
                unrealized=0.88,
                exposure=2_206.34,
            ),
        )
    )

    async def run(pilot: Pilot[Any]) -> None:
        pane.view = view
        for _ in range(20):
            await pilot.pause()

    assert snap_compare(Host(pane), terminal_size=size, run_before=run)
