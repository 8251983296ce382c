"""Pricing an entry before it is sized: where its fills should land and what the round trip
costs, from the live quote and the venue's cost model (tradeterm.domain.costs).

The reference is the current mid, not the signal bar's close: by the time the gate decides (or
the operator confirms) the market has moved, and the fill happens at the market's price. A
limit entry rests at its limit (maker) unless it is already marketable, when it takes the
touch like a market order.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeterm.domain import costs
from tradeterm.domain.costs import CostModel, TradeEconomics
from tradeterm.domain.events import DecisionCosts
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.signals import Signal


@dataclass(frozen=True, slots=True)
class EntryPricing:
    """An entry priced at the current quote: the mid, the half spread used, the slippage
    fraction, the entry reference (mid, or the limit price), whether it rests as a maker, the
    per-unit economics and the hold its funding estimate assumed."""

    mid: float
    half_spread: float
    slip: float
    ref: float
    maker: bool
    econ: TradeEconomics
    hold_hours: float = 0.0

    def costs_for(self, qty: float, signal: Signal, model: CostModel) -> DecisionCosts:
        """The money breakdown of a round trip through the stop for `qty` units."""
        cs = model.contract_size
        econ = self.econ
        s = signal.side.sign
        spread = 0.0 if self.maker else self.half_spread
        spread += self.half_spread
        taker, maker = model.taker_fee_rate, model.maker_fee_rate
        entry_rate = maker if self.maker else taker
        fees = costs.fee(econ.entry, qty, cs, entry_rate) + costs.fee(
            econ.stop_exit, qty, cs, taker
        )
        funding = qty * costs.funding_cost(econ.entry, cs, model.funding_rate_8h, self.hold_hours)
        total = econ.cost * qty
        slippage = total - fees - funding - spread * qty * cs
        bare_risk = s * (self.ref - signal.stop_loss)
        gross = (s * (signal.take_profit - self.ref) / bare_risk) if bare_risk > 0 else 0.0
        return DecisionCosts(
            mark=self.mid,
            ideal_entry=signal.entry,
            expected_entry=econ.entry,
            expected_stop=econ.stop_exit,
            expected_target=econ.target_exit,
            spread=spread * qty * cs,
            slippage=slippage,
            fees=fees,
            funding=funding,
            total=total,
            cost_r=econ.cost_r,
            gross_reward_risk=gross,
            net_reward_risk=econ.reward_risk,
        )


def half_spread_of(quote: Tick | None, instrument: Instrument, model: CostModel) -> float:
    """Half the quoted spread, else the instrument's typical one, else the model's default."""
    if quote is not None and quote.ask > quote.bid > 0.0:
        return (quote.ask - quote.bid) / 2.0
    return instrument.half_spread or model.half_spread


def price_entry(
    signal: Signal,
    instrument: Instrument,
    model: CostModel,
    quote: Tick,
    *,
    limit_offset_bps: float | None = None,
    hold_hours: float = 0.0,
) -> EntryPricing:
    """The entry's expected fills and per-unit economics at `quote` (see the module text).
    `limit_offset_bps` set: a limit entry that far inside the signal price."""
    side = signal.side.sign
    mid = quote.price
    hs = half_spread_of(quote, instrument, model)
    slip = model.slip(mid, signal.atr)
    ref, maker = mid, False
    if limit_offset_bps is not None:
        limit = instrument.round_price(signal.entry * (1.0 - side * limit_offset_bps / 10_000.0))
        touch = mid + side * hs
        if (limit - touch) * side < 0:  # resting: not marketable at the current quote
            ref, maker = limit, True
    econ = costs.trade_economics(
        side,
        ref,
        signal.stop_loss,
        signal.take_profit,
        hs,
        slip,
        model.taker_fee_rate,
        model.maker_fee_rate,
        model.funding_rate_8h,
        hold_hours,
        model.contract_size,
        maker,
    )
    return EntryPricing(mid, hs, slip, ref, maker, econ, hold_hours)
