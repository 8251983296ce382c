"""Issue 11 item 8: domains the config does not provide read "unavailable" in `status` and
cannot be switched on; with --paper-only, promotion to a stage that trades live works (on paper
wallets), as the README says; without it, it is refused with the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeterm.clock import SimClock
from tradeterm.control import Control
from tradeterm.domain.enums import Domain
from tradeterm.errors import ControlError
from tradeterm.node import NodeOptions, build_node
from tradeterm.testing.node_kit import busy_config

START_MS = 1_763_726_400_000


async def test_status_says_unavailable_for_domains_the_config_lacks(tmp_path: Path) -> None:
    node = build_node(busy_config(tmp_path), SimClock(START_MS), NodeOptions(metrics_server=False))
    control = Control(node)
    await node.start()
    try:
        status = control.status()
        by_domain = {d.domain: d for d in status.domains}
        assert by_domain[Domain.SYNTHETICS].available
        assert not by_domain[Domain.CRYPTO_SPOT].available
        line = next(x for x in status.text().splitlines() if x.startswith("domains: "))
        assert "synthetics=paper" in line and "crypto_spot=unavailable" in line
        assert "crypto_spot=paper" not in line
        with pytest.raises(ControlError, match="crypto_spot is unavailable"):
            await control.toggle_domain(Domain.CRYPTO_SPOT, True, source="cli")
        await control.toggle_domain(Domain.CRYPTO_SPOT, False, source="cli")  # off is harmless
        gated = {g.domain for g in control.gate_report().domains}
        assert gated == {Domain.SYNTHETICS}  # no gate on a domain nothing provides
    finally:
        await node.stop()


@pytest.mark.parametrize("paper_only", [True, False])
async def test_promotion_to_a_live_stage_with_paper_only(tmp_path: Path, paper_only: bool) -> None:
    node = build_node(
        busy_config(tmp_path),
        SimClock(START_MS),
        NodeOptions(metrics_server=False, paper_only=paper_only),
    )
    control = Control(node)
    await node.start()
    try:
        if not paper_only:
            with pytest.raises(ControlError, match="or run with --paper-only"):
                await control.promote(source="cli", force=True)
            assert node.rollout.index == 1
            return
        change = await control.promote(source="cli", force=True)
        assert (change.from_index, change.to_index) == (1, 2)
        assert node.rollout.needs_live()  # stage 2 trades synthetics live...
        assert node.rollout.domain_mode(Domain.SYNTHETICS) == "paper"  # ...on paper here
        assert node.rollout.route(Domain.SYNTHETICS, explore=False) == "paper:synthetics"
        assert not node.live
    finally:
        await node.stop()
