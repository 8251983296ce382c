"""The gate's and paper fills' cost model for a Deriv multiplier: the two legs' fees add up to
the commission Deriv charges once (PROTOCOLS.md section 3), and nothing else is charged."""

import pytest

from tradeterm.config.models import DerivVenueConfig
from tradeterm.domain.costs import fee
from tradeterm.domain.enums import ContractKind, Domain
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.multipliers import commission_for
from tradeterm.venues.deriv import multiplier_costs


def test_round_trip_fees_equal_the_multiplier_commission() -> None:
    cfg = DerivVenueConfig()
    inst = Instrument("deriv", "R_100", ContractKind.SYNTHETIC, Domain.SYNTHETICS, 0.01, 0.001)
    model = multiplier_costs(cfg, inst)
    spot, stake, multiplier = 65258.19, 100.0, 10
    qty = stake * multiplier / spot  # the notional of the contract, in index units
    both_legs = fee(spot, qty, 1.0, model.taker_fee_rate) * 2
    assert both_legs == pytest.approx(commission_for(stake, multiplier), abs=0.005)
    assert both_legs == pytest.approx(0.504, abs=1e-9)  # Deriv's fixture: 0.504 on 1000 notional
    assert model.slippage_bps == 0.0 and model.funding_rate_8h == 0.0
