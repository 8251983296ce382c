"""The one cost model: what a trade really pays between the price a strategy saw and the cash
that ends up in the wallet.

The risk gate uses it ex ante (expected fill prices, reward:risk net of costs, the cost of a
round trip in R), the paper matching engine ex post (the same spread, slippage and fee rules
produce the fills), and the vector backtester inside its kernels. So every function here is a
plain function of floats: no objects, no branches on types, nothing numba could not compile
(`tradeterm.backtest.vector.nb` wraps them with `numba.njit`; the live path calls them as they
are and never imports numba).

Conventions (per unit of quantity; `side` is +1 long, -1 short; `cs` the contract size):
- An entry at market fills at the touch (ask for a buy, bid for a sell) moved `slip` (a fraction
  of price) against the trader: `(ref + side * half_spread) * (1 + side * slip)`.
- A stop is a resting stop-market order: it triggers when the last price crosses it and fills at
  the touch beyond it, slipped: `(stop - side * half_spread) * (1 - side * slip)`. A gap through
  the stop fills worse; the gate assumes no gap (the cap on stop width and the kill switch bound
  the rest).
- A take profit is a resting limit order: it fills at its price, paying the maker fee.
- Fees are notional x rate on each leg; funding (perpetuals) is the expected rate per 8 hours x
  the notional x the 8-hour periods of the expected hold, charged as a cost whatever its sign
  (the gate must not count on being paid).
- The slippage fraction is `slippage_bps / 1e4` (fixed model) plus `slippage_atr * atr / price`
  (volatility-scaled model; 0 turns it off).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FUNDING_PERIOD_HOURS = 8.0
"""Perpetual funding is exchanged every 8 hours (00:00, 08:00, 16:00 UTC)."""


@dataclass(frozen=True, slots=True)
class CostModel:
    """The costs of trading one instrument on one venue.

    taker_fee_rate / maker_fee_rate: fractions of notional per fill (maker may be negative: a
    rebate); slippage_bps: fixed adverse slippage of market and stop fills; slippage_atr: extra
    slippage as a fraction of the signal's ATR (volatility-scaled model); half_spread: the
    default distance of bid and ask from the mid, in price, used when no live quote is known;
    funding_rate_8h: expected funding per 8 hours as a fraction of notional (0 for anything but
    perpetuals); contract_size: units of the underlying per contract.
    """

    taker_fee_rate: float = 0.0005
    maker_fee_rate: float = 0.0002
    slippage_bps: float = 2.0
    slippage_atr: float = 0.0
    half_spread: float = 0.0
    funding_rate_8h: float = 0.0
    contract_size: float = 1.0

    def slip(self, price: float, atr: float = 0.0) -> float:
        """The adverse slippage of a market or stop fill, as a fraction of price."""
        return slip_fraction(self.slippage_bps, self.slippage_atr, atr, price)

    def economics(
        self,
        side: int,
        ref: float,
        stop: float,
        target: float,
        *,
        half_spread: float | None = None,
        atr: float = 0.0,
        hold_hours: float = 0.0,
        maker_entry: bool = False,
    ) -> TradeEconomics:
        """What an entry at `ref` with this stop and target is worth net of every cost."""
        hs = self.half_spread if half_spread is None else half_spread
        return trade_economics(
            side,
            ref,
            stop,
            target,
            hs,
            self.slip(ref, atr),
            self.taker_fee_rate,
            self.maker_fee_rate,
            self.funding_rate_8h,
            hold_hours,
            self.contract_size,
            maker_entry,
        )


@dataclass(frozen=True, slots=True)
class TradeEconomics:
    """An entry's expected prices and its money per unit of quantity, net of costs.

    entry / stop_exit / target_exit: the prices the three fills are expected at.
    risk: money lost per unit if the stop is hit (price move, spread, slippage, both fees,
    funding). reward: money made per unit if the target is hit, net of the same. cost: what the
    stop round trip pays beyond the bare move from mid to stop (spread, slippage, fees, funding).
    """

    entry: float
    stop_exit: float
    target_exit: float
    risk: float
    reward: float
    cost: float

    @property
    def reward_risk(self) -> float:
        """Reward:risk net of costs (0 when nothing is at risk or the target loses)."""
        return net_reward_risk(self.reward, self.risk)

    @property
    def cost_r(self) -> float:
        """The round trip's cost as a fraction of the money at risk (R)."""
        return self.cost / self.risk if self.risk > 0.0 else math.inf

    @property
    def beyond_target(self) -> bool:
        """True when the entry is expected to fill at or past the take profit."""
        return reward_beyond_target(self.reward)


# ---- pure functions (numba-compatible: floats in, floats out) ----------------------------------
def slip_fraction(slippage_bps: float, slippage_atr: float, atr: float, price: float) -> float:
    """Adverse slippage as a fraction of price: fixed bps plus a share of the ATR."""
    vol = slippage_atr * atr / price if price > 0.0 and atr > 0.0 else 0.0
    return slippage_bps / 10_000.0 + vol


def entry_fill_price(side: int, ref: float, half_spread: float, slip: float) -> float:
    """A market entry's fill: the touch on the far side, slipped against the trader."""
    return (ref + side * half_spread) * (1.0 + side * slip)


def stop_fill_price(side: int, stop: float, half_spread: float, slip: float) -> float:
    """A stop-market exit of a `side` position, triggered at `stop` without a gap."""
    return (stop - side * half_spread) * (1.0 - side * slip)


def market_exit_price(side: int, ref: float, half_spread: float, slip: float) -> float:
    """A market exit of a `side` position at mid `ref` (the touch on the near side, slipped)."""
    return (ref - side * half_spread) * (1.0 - side * slip)


def fee(price: float, qty: float, contract_size: float, rate: float) -> float:
    """The fee of one fill: notional (price x qty x contract size) times the rate."""
    return price * qty * contract_size * rate


def funding_cost(price: float, contract_size: float, rate_8h: float, hold_hours: float) -> float:
    """Expected funding per unit over `hold_hours`, charged whatever the rate's sign."""
    if hold_hours <= 0.0 or rate_8h == 0.0:
        return 0.0
    return abs(rate_8h) * price * contract_size * hold_hours / FUNDING_PERIOD_HOURS


def reward_beyond_target(reward: float) -> bool:
    """A target that pays nothing (or no finite amount) net of costs: the entry would fill at or
    beyond it."""
    return reward <= 0.0 or not math.isfinite(reward)


def net_reward_risk(reward: float, risk: float) -> float:
    """Reward over risk, 0 when nothing is at risk or the reward is not positive."""
    if risk <= 0.0 or reward <= 0.0:
        return 0.0
    return reward / risk


def economics_values(
    side: int,
    ref: float,
    stop: float,
    target: float,
    half_spread: float,
    slip: float,
    taker_fee_rate: float,
    maker_fee_rate: float,
    funding_rate_8h: float,
    hold_hours: float,
    contract_size: float,
    maker_entry: bool,
) -> tuple[float, float, float, float, float, float]:
    """(entry, stop_exit, target_exit, risk, reward, cost) per unit: `trade_economics` as a
    plain tuple, the form the numba kernels use."""
    cs = contract_size
    if maker_entry:
        entry = ref
        entry_fee = fee(entry, 1.0, cs, maker_fee_rate)
    else:
        entry = entry_fill_price(side, ref, half_spread, slip)
        entry_fee = fee(entry, 1.0, cs, taker_fee_rate)
    stop_exit = stop_fill_price(side, stop, half_spread, slip)
    target_exit = target
    funding = funding_cost(entry, cs, funding_rate_8h, hold_hours)
    stop_fee = fee(stop_exit, 1.0, cs, taker_fee_rate)
    target_fee = fee(target_exit, 1.0, cs, maker_fee_rate)
    risk = side * (entry - stop_exit) * cs + entry_fee + stop_fee + funding
    reward = side * (target_exit - entry) * cs - entry_fee - target_fee - funding
    bare = side * (ref - stop) * cs
    return entry, stop_exit, target_exit, risk, reward, risk - bare


def trade_economics(
    side: int,
    ref: float,
    stop: float,
    target: float,
    half_spread: float,
    slip: float,
    taker_fee_rate: float,
    maker_fee_rate: float,
    funding_rate_8h: float,
    hold_hours: float,
    contract_size: float,
    maker_entry: bool = False,
) -> TradeEconomics:
    """Expected fills and net money per unit of an entry at mid `ref` (see the module text).

    With `maker_entry` the entry is a resting limit at `ref` (filled at its price, maker fee);
    otherwise a market order at the touch.
    """
    return TradeEconomics(
        *economics_values(
            side,
            ref,
            stop,
            target,
            half_spread,
            slip,
            taker_fee_rate,
            maker_fee_rate,
            funding_rate_8h,
            hold_hours,
            contract_size,
            maker_entry,
        )
    )


def realised_cost(
    side: int,
    ideal_entry: float,
    entry: float,
    ideal_exit: float,
    exit_price: float,
    qty: float,
    contract_size: float,
    fees: float,
    funding: float,
) -> float:
    """What a closed trade paid beyond its ideal prices: slippage and spread on both legs (a
    fill better than ideal counts as negative cost), plus fees and funding paid."""
    entry_slip = side * (entry - ideal_entry) * qty * contract_size
    exit_slip = side * (ideal_exit - exit_price) * qty * contract_size
    return entry_slip + exit_slip + fees + funding
