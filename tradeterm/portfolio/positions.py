"""Net position maths: what one fill does to the position a wallet holds on one market.

Positions are one-way (netted): a wallet holds at most one position per market. A fill on the
position's side adds to it at the volume-weighted entry; an opposite fill reduces it, closes it
or, if larger, closes it and opens the other way at the fill price. PnL is linear:
(exit - entry) x qty x contract size x side sign.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from tradeterm.domain import costs
from tradeterm.domain.events import ClosedTrade, arm_id
from tradeterm.domain.ids import stable_id
from tradeterm.domain.multipliers import held_cash
from tradeterm.domain.orders import EntryPlan, Fill, Order, OrderPurpose
from tradeterm.domain.positions import Position, linear_pnl
from tradeterm.storage.db import Storage

DUST = 1e-9
"""Quantities smaller than this (in lots of any instrument) count as flat."""


@dataclass(frozen=True, slots=True)
class FillEffect:
    """The result of one fill on a position.

    `position` is what is held afterwards (None: flat). `realized` is the gross PnL this fill
    realised. `reduced_qty` is how much of the fill reduced the position (0 when it opened or
    added). `closed` is the position as it stood when this fill closed it (with this fill's PnL
    and its share of the fee booked), None when it did not close.
    """

    position: Position | None
    realized: float
    reduced_qty: float
    closed: Position | None
    held: float = 0.0
    """Cash this fill moved into positions (> 0: a multiplier's stake held; < 0: released)."""


def open_position(
    fill: Fill,
    qty: float,
    fee: float,
    contract_size: float,
    plan: EntryPlan | None,
    signal_id: str,
    multiplier: float = 0.0,
) -> Position:
    """A new position from (part of) a fill, protected by the plan's stop and target. On a
    multiplier (`multiplier` > 0) it holds its stake less the commission as cash."""
    stop = plan.stop_loss if plan is not None else 0.0
    ideal = plan.ideal_entry if plan is not None and plan.ideal_entry > 0 else fill.price
    return Position(
        wallet_id=fill.wallet_id,
        venue=fill.venue,
        symbol=fill.symbol,
        side=fill.side,
        qty=qty,
        entry_price=fill.price,
        opened_ms=fill.ts_ms,
        stop_loss=stop,
        take_profit=plan.take_profit if plan is not None else 0.0,
        initial_stop=stop,
        strategy=plan.strategy if plan is not None else "",
        signal_id=(plan.signal_id if plan is not None and plan.signal_id else signal_id),
        contract_size=contract_size,
        fees=fee,
        high_water=fill.price,
        low_water=fill.price,
        max_hold_ms=plan.max_hold_ms if plan is not None else 0,
        updated_ms=fill.ts_ms,
        risk_per_unit=plan.risk_per_unit if plan is not None else 0.0,
        ideal_entry=ideal,
        last_funding_ms=fill.ts_ms,
        margin=held_cash(qty, fill.price * contract_size, multiplier, fee) if multiplier else 0.0,
        venue_ref=fill.venue_ref,
    )


def apply_fill(
    current: Position | None,
    fill: Fill,
    *,
    contract_size: float,
    plan: EntryPlan | None,
    signal_id: str,
    multiplier: float = 0.0,
) -> FillEffect:
    """The effect of `fill` on `current` (see the module text for the netting rules). With
    `multiplier` > 0 (Deriv multipliers) an opening fill holds the stake less its commission
    as cash (`FillEffect.held`), a reducing one releases its share, and a loss never exceeds
    the cash held (the contract's stop-out pays 0)."""
    if current is None:
        opened = open_position(fill, fill.qty, fill.fee, contract_size, plan, signal_id, multiplier)
        return FillEffect(opened, 0.0, 0.0, None, opened.margin)
    if current.side is fill.side:
        qty = current.qty + fill.qty
        entry = (current.entry_price * current.qty + fill.price * fill.qty) / qty
        fresh = open_position(fill, fill.qty, fill.fee, contract_size, plan, signal_id, multiplier)
        added = replace(
            current,
            qty=qty,
            entry_price=entry,
            fees=current.fees + fill.fee,
            updated_ms=fill.ts_ms,
            risk_per_unit=_weighted(current, fresh, "risk_per_unit"),
            ideal_entry=_weighted(current, fresh, "ideal_entry"),
            margin=current.margin + fresh.margin,
        )
        return FillEffect(added, 0.0, 0.0, None, fresh.margin)
    return _reduce(
        current,
        fill,
        contract_size=contract_size,
        plan=plan,
        signal_id=signal_id,
        multiplier=multiplier,
    )


def _weighted(held: Position, added: Position, name: str) -> float:
    """A per-unit figure of a position that grew, weighted by quantity (0 stays unknown)."""
    a, b = float(getattr(held, name)), float(getattr(added, name))
    if a <= 0.0 or b <= 0.0:
        return 0.0
    return (a * held.qty + b * added.qty) / (held.qty + added.qty)


def _reduce(
    current: Position,
    fill: Fill,
    *,
    contract_size: float,
    plan: EntryPlan | None,
    signal_id: str,
    multiplier: float = 0.0,
) -> FillEffect:
    closing = min(current.qty, fill.qty)
    share = closing / fill.qty if fill.qty > 0 else 1.0
    close_fee = fill.fee * share
    pnl = linear_pnl(
        current.side.sign, current.entry_price, fill.price, closing, current.contract_size
    )
    released = current.margin * closing / current.qty if current.qty > 0 else current.margin
    if current.margin > 0.0:
        pnl = max(pnl, -released)  # a multiplier loses at most its stake (stop-out pays 0)
    booked = replace(
        current,
        realized_pnl=current.realized_pnl + pnl,
        fees=current.fees + close_fee,
        updated_ms=fill.ts_ms,
        margin=current.margin - released,
    )
    left = current.qty - closing
    if left > DUST:
        return FillEffect(replace(booked, qty=left), pnl, closing, None, -released)
    remainder = fill.qty - closing
    reopened = None
    held = -released
    if remainder > DUST:
        reopened = open_position(
            fill, remainder, fill.fee - close_fee, contract_size, plan, signal_id, multiplier
        )
        held += reopened.margin
    return FillEffect(reopened, pnl, closing, booked, held)


def closed_trade(
    closed: Position,
    fill: Fill,
    order: Order,
    plan: EntryPlan | None,
    *,
    exit_qty: float,
    exit_price: float,
) -> ClosedTrade:
    """The round trip of a position closed by `fill`.

    `pnl` is net: realised PnL less every fee and funding paid over the position's life.
    `risk_amount` is R: what the gate planned to lose on this quantity at the stop, net of costs.
    `r_multiple` is the net PnL in R, so a winner has R > 0 and a loser R < 0, always.
    `cost` is what the round trip paid beyond its ideal prices (the mid at the decision, the
    level or mid the exit aimed at): spread and slippage on both legs, fees and funding.
    `exit_reason` is the closing order's reason (e.g. "take_profit", "time_stop") or purpose.
    """
    entry = order.purpose is OrderPurpose.ENTRY
    reason = "reversed" if entry else (order.reason or order.purpose.value)
    arm = (
        plan.arm
        if plan is not None and plan.arm
        else arm_id(closed.strategy, closed.venue, closed.symbol)
    )
    pnl = closed.realized_pnl - closed.fees - closed.funding
    ideal_exit = order.ref_price if order.ref_price > 0 else exit_price
    cost = costs.realised_cost(
        closed.side.sign,
        closed.ideal_entry or closed.entry_price,
        closed.entry_price,
        ideal_exit,
        exit_price,
        exit_qty,
        closed.contract_size,
        closed.fees,
        closed.funding,
    )
    return ClosedTrade(
        id="tr-" + stable_id(closed.signal_id or closed.key, fill.fill_id),
        wallet_id=closed.wallet_id,
        venue=closed.venue,
        symbol=closed.symbol,
        side=closed.side,
        qty=exit_qty,
        entry_price=closed.entry_price,
        exit_price=exit_price,
        opened_ms=closed.opened_ms,
        closed_ms=fill.ts_ms,
        pnl=pnl,
        fees=closed.fees,
        r_multiple=closed.r_multiple(pnl, exit_qty),
        strategy=closed.strategy,
        arm=arm,
        signal_id=closed.signal_id,
        exit_reason=reason,
        explore=plan.explore if plan is not None else False,
        risk_amount=closed.planned_risk(exit_qty),
        cost=cost,
        funding=closed.funding,
    )


def entry_plan(store: Storage, wallet: str, signal_id: str) -> EntryPlan | None:
    """The plan stored with the entry order that opened a position (None if there is none).

    A small query helper: Storage has `order_plan(client_order_id)` but no lookup by signal.
    """
    if not signal_id:
        return None
    rows = list(
        store.db.query(
            "SELECT plan FROM orders WHERE wallet_id = ? AND signal_id = ? AND purpose = 'entry'"
            " AND plan IS NOT NULL ORDER BY created_ms DESC LIMIT 1",
            (wallet, signal_id),
        )
    )
    if not rows:
        return None
    return plan_from_dict(json.loads(rows[0]["plan"]))


def plan_from_dict(data: Mapping[str, object]) -> EntryPlan:
    """An EntryPlan from its stored form (unknown keys ignored, so old rows still load)."""
    names = {f.name for f in dataclasses.fields(EntryPlan)}
    return EntryPlan(**{k: v for k, v in data.items() if k in names})  # type: ignore[arg-type]
