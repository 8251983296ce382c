"""Numba kernels of the vector engine.

ONE source of truth: every rule here is the live code's own pure function, compiled. The cost
model (`domain/costs.py`), margin and liquidation (`domain/margin.py`), sizing and Kelly
(`risk/sizing.py`), the gates and the one cap rule (`risk/limits.py`), the loss memory
(`risk/memory.py`), the kill switch (`risk/killswitch.py`), the paper fill rules
(`venues/sim/matching.py`), the sim venue's quotes (`venues/sim/tape.py`), funding
(`domain/funding.py`), increments (`domain/instruments.py`), position maths
(`domain/positions.py`), the wallet's day roll (`portfolio/wallets.py`) and the bandit's
evidence decay (`allocator/bandit.py`) are wrapped here with `numba.njit` (the `*_nb` names) or
registered with `register_jitable` so that they compile where another rule calls them. Nothing
is re-derived; what this module adds is the ORDER in which the node applies them, tick by tick:

per bar, four ticks (open, low/high, high/low, close: the replay feed's path; `worst` puts the
extreme against an open position first), and per tick of a symbol, as the node does:
  1. the resting stop-market and take-profit limit of its position are matched (matching.py);
  2. funding boundaries passed are charged (perpetuals; the paper executor's rule);
  3. the position monitor: stop/target breached longer than the grace (second line), max hold,
     time stop, weekend, trailing stop;
  4. on a bar's first tick the previous bar has closed: its signal goes to the allocator (a
     free market takes it) and the risk gate (risk/engine.py's order of evaluation), and an
     approved entry fills at once at the market, then its stop and target rest.
After every fill and funding charge, after every timestamp and before the first tick of a new
UTC day, the wallet is marked (peak, day start, kill switch); a tripped kill switch halts
entries and flattens the wallet once the tick is done.

Numba's disk cache is keyed on each function's own file: after editing a rule module, clear
the `__pycache__` numba files (`*.nbi`, `*.nbc`) so kernels that call it recompile.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from tradeterm.allocator import bandit
from tradeterm.backtest.vector import records as rec
from tradeterm.domain import calendar, costs, funding, instruments, margin, positions, signals
from tradeterm.indicators.nb import ema_stream_nb
from tradeterm.portfolio import wallets
from tradeterm.risk import killswitch, limits, memory, sizing
from tradeterm.venues.sim import matching, tape

# ---- the shared rules, compiled -------------------------------------------------------------
# Rules another rule calls must compile where they are called (register_jitable); the rest are
# reached through their `*_nb` dispatchers below.
_NESTED = (
    costs.entry_fill_price,
    costs.stop_fill_price,
    costs.fee,
    costs.funding_cost,
    costs.reward_beyond_target,
    margin.bracket_index,
    margin.maintenance_margin,
    margin.liquidation_price_at,
    sizing.kelly_fraction,
    sizing.notional_qty,
    sizing.risk_qty,
    matching.market_touch,
    calendar.minute_of_week,
)
for _rule in _NESTED:
    register_jitable(_rule)

slip_fraction_nb = njit(cache=True)(costs.slip_fraction)
entry_fill_price_nb = njit(cache=True)(costs.entry_fill_price)
fee_nb = njit(cache=True)(costs.fee)
net_reward_risk_nb = njit(cache=True)(costs.net_reward_risk)
economics_values_nb = njit(cache=True)(costs.economics_values)
is_liquidated_nb = njit(cache=True)(margin.is_liquidated)
maintenance_margin_nb = njit(cache=True)(margin.maintenance_margin)
bracket_index_nb = njit(cache=True)(margin.bracket_index)
entry_qty_nb = njit(cache=True)(sizing.entry_qty)
vol_target_units_nb = njit(cache=True)(sizing.vol_target_units)
kelly_risk_fraction_nb = njit(cache=True)(sizing.kelly_risk_fraction)
fill_side_fault_nb = njit(cache=True)(limits.fill_side_fault)
stop_cost_ok_nb = njit(cache=True)(limits.stop_cost_ok)
reward_risk_ok_nb = njit(cache=True)(limits.reward_risk_ok)
stop_width_ok_nb = njit(cache=True)(limits.stop_width_ok)
daily_loss_ok_nb = njit(cache=True)(limits.daily_loss_ok)
symbol_loss_ok_nb = njit(cache=True)(limits.symbol_loss_ok)
cooldown_over_nb = njit(cache=True)(limits.cooldown_over)
open_positions_ok_nb = njit(cache=True)(limits.open_positions_ok)
cap_qty_nb = njit(cache=True)(limits.cap_qty)
symbol_day_pnl_nb = njit(cache=True)(memory.symbol_day_pnl)
pnl_today_nb = njit(cache=True)(memory.pnl_today)
risked_on_loss_nb = njit(cache=True)(memory.risked_on_loss)
loss_streak_step_nb = njit(cache=True)(memory.loss_streak_step)
martingale_amount_nb = njit(cache=True)(memory.martingale_amount)
drawdown_from_nb = njit(cache=True)(killswitch.drawdown_from)
trips_nb = njit(cache=True)(killswitch.trips)
market_touch_nb = njit(cache=True)(matching.market_touch)
stop_touch_nb = njit(cache=True)(matching.stop_touch)
stop_triggers_nb = njit(cache=True)(matching.stop_triggers)
limit_fillable_nb = njit(cache=True)(matching.limit_fillable)
quote_bid_nb = njit(cache=True)(tape.quote_bid)
quote_ask_nb = njit(cache=True)(tape.quote_ask)
funding_slot_nb = njit(cache=True)(funding.funding_slot)
funding_payment_nb = njit(cache=True)(funding.funding_payment)
rate_at_nb = njit(cache=True)(funding.rate_at)
floor_to_step_nb = njit(cache=True)(instruments.floor_to_step)
stop_away_nb = njit(cache=True)(instruments.stop_away)
tradeable_qty_nb = njit(cache=True)(instruments.tradeable_qty)
linear_pnl_nb = njit(cache=True)(positions.linear_pnl)
stop_hit_nb = njit(cache=True)(positions.stop_hit)
target_hit_nb = njit(cache=True)(positions.target_hit)
consistent_nb = njit(cache=True)(signals.consistent)
utc_day_start_nb = njit(cache=True)(wallets.utc_day_start)
day_rolled_nb = njit(cache=True)(wallets.day_rolled)
evidence_decay_nb = njit(cache=True)(bandit.evidence_decay)
arm_win_rate_nb = njit(cache=True)(bandit.arm_win_rate)
arm_payoff_nb = njit(cache=True)(bandit.arm_payoff)
in_weekend_window_nb = njit(cache=True)(calendar.in_weekend_window)

DAY_MS = calendar.DAY_MS
MAX_MISSED_FUNDING = 90
FUNDING_INTERVAL_MS = funding.FUNDING_INTERVAL_MS

# ---- state layouts (columns of float64 matrices; times in ms are exact in a float64) --------
# per symbol: position, its resting orders, the monitor, the last quote, funding, loss memory
# and the arm's record (one strategy instance: one arm per symbol)
(
    S_SIDE, S_QTY, S_ENTRY, S_OPENED, S_STOP, S_TP, S_INIT_STOP, S_FEES, S_FUNDING, S_REALIZED,
    S_RPU, S_LAST_FUND, S_ATR, S_ENTRY_BAR, S_WATER,
    S_STOP_ON, S_STOP_PX, S_STOP_TAG, S_TP_ON, S_TP_PX, S_TP_ARRIVED, S_BREACH, S_BEST,
    S_PRICE, S_BID, S_ASK, S_LOW_FIRST, S_FUND_SEEN,
    S_STREAK, S_COOL_UNTIL, S_LOSS_DAY, S_LOSS_AMT, S_SYM_DAY, S_SYM_PNL,
    S_A_SEEN, S_A_PULLS, S_A_WINS, S_A_LOSSES, S_A_WIN_R, S_A_LOSS_R, S_A_ASOF,
    NS,
) = range(42)  # fmt: skip
# the wallet
(
    W_BAL, W_PEAK, W_DAY_EQ, W_DAY_MS, W_FEES, W_FUNDING, W_HALTED, W_TRIPPED, W_FLATTEN,
    W_LIQ_BAR, W_NTRADES, W_NORDERS, NW,
) = range(13)  # fmt: skip
# per-symbol parameters (instrument, quote rule, cost model)
(
    P_CS, P_LOT, P_QDEC, P_MIN_QTY, P_MIN_NOTIONAL, P_TICK, P_PDEC, P_HS, P_SCALE, P_TAKER,
    P_MAKER, P_SLIP_BPS, P_SLIP_ATR, P_FUND8H, P_PERP, P_SHORTABLE, P_LEV, P_DEFAULT_HS, NP,
) = range(19)  # fmt: skip
# run settings: floats
(
    C_POS_FRAC, C_RISK_FRAC, C_KELLY_CAP, C_MAX_PAIR, C_MAX_PORT, C_DAILY_CAP, C_SYMBOL_CAP,
    C_MAX_DD, C_MIN_RR, C_MIN_STOP_COST, C_HOLD_HOURS, C_MAX_STOP_ATR, C_VOL_TARGET,
    C_BARS_PER_YEAR, C_TRAIL_ATR, C_HALFLIFE, C_FILL_SLIP, C_DEFAULT_FUND, NC,
) = range(19)  # fmt: skip
# run settings: integers
(
    I_COOL_LOSSES, I_COOL_MS, I_MAX_OPEN, I_MAX_HOLD_MS, I_TIME_STOP_BARS, I_BAR_MS, I_GRACE_MS,
    I_WEEKEND_CUTOFF, I_FLATTEN_KILL, I_RESTING, I_VOL_SIZING, I_FUNDING_ON, I_FILL_CLOSE,
    I_WORST, I_CROSS, I_T0, I_KELLY_MIN, I_LIQUIDATION, I_LEARNING, NI,
) = range(20)  # fmt: skip


# ---- the wallet ------------------------------------------------------------------------------
@njit(cache=True)
def equity_nb(S, W, P):
    """Balance plus every position's unrealised PnL at its mark (Portfolio.equity)."""
    eq = W[W_BAL]
    for k in range(S.shape[0]):
        if S[k, S_SIDE] != 0.0:
            side = int(S[k, S_SIDE])
            eq += linear_pnl_nb(side, S[k, S_ENTRY], S[k, S_PRICE], S[k, S_QTY], P[k, P_CS])
    return eq


@njit(cache=True)
def mark_wallet_nb(S, W, P, C, I, now):
    """The wallet marked to market (Portfolio.snapshot, then the kill switch): the UTC day rolls
    on the first mark of a new day, the peak carries up, the kill switch trips once."""
    eq = equity_nb(S, W, P)
    if day_rolled_nb(now, int(W[W_DAY_MS])):
        W[W_DAY_EQ] = eq
        W[W_DAY_MS] = utc_day_start_nb(now)
    W[W_PEAK] = max(W[W_PEAK], eq)
    if W[W_TRIPPED] == 0.0 and trips_nb(drawdown_from_nb(W[W_PEAK], eq), C[C_MAX_DD]):
        W[W_TRIPPED] = 1.0
        W[W_HALTED] = 1.0
        if I[I_FLATTEN_KILL] != 0:
            W[W_FLATTEN] = 1.0


# ---- fills -----------------------------------------------------------------------------------
@njit(cache=True)
def _order_record(W, orders, k, g, now, side, qty, price, fill_fee, purpose):
    n = int(W[W_NORDERS])
    if n < orders.shape[0]:
        o = orders[n]
        o["symbol"] = k
        o["bar"] = g
        o["ts"] = now
        o["side"] = side
        o["qty"] = qty
        o["price"] = price
        o["fee"] = fill_fee
        o["purpose"] = purpose
    W[W_NORDERS] = n + 1


@njit(cache=True)
def learn_nb(S, C, I, k, pnl, risk, r, now):
    """TRADE_CLOSED: the risk engine's loss memory (TradeMemory.on_trade_closed) and the
    allocator's arm record (Bandit.reward, when learning)."""
    day = now // DAY_MS
    has_day = S[k, S_SYM_DAY] >= 0.0
    seen_day = int(S[k, S_SYM_DAY]) if has_day else day
    before = S[k, S_SYM_PNL] if has_day else 0.0
    d, day_pnl = symbol_day_pnl_nb(seen_day, before, day, pnl)
    S[k, S_SYM_DAY] = d
    S[k, S_SYM_PNL] = day_pnl
    if pnl >= 0.0:
        S[k, S_LOSS_DAY] = -1.0
    else:
        S[k, S_LOSS_DAY] = day
        S[k, S_LOSS_AMT] = risked_on_loss_nb(risk, pnl)
    streak, until = loss_streak_step_nb(
        int(S[k, S_STREAK]), pnl, I[I_COOL_LOSSES], I[I_COOL_MS], now
    )
    S[k, S_STREAK] = streak
    if until >= 0:
        S[k, S_COOL_UNTIL] = until
    if I[I_LEARNING] == 0:
        return
    f = 1.0
    if S[k, S_A_SEEN] != 0.0:
        elapsed = now - int(S[k, S_A_ASOF])
        if elapsed > 0 and S[k, S_A_PULLS] > 0.0:
            f = evidence_decay_nb(elapsed, C[C_HALFLIFE])
    won = pnl > 0.0
    S[k, S_A_PULLS] = S[k, S_A_PULLS] * f + 1.0
    S[k, S_A_WINS] = S[k, S_A_WINS] * f + (1.0 if won else 0.0)
    S[k, S_A_LOSSES] = S[k, S_A_LOSSES] * f + (0.0 if won else 1.0)
    S[k, S_A_WIN_R] = S[k, S_A_WIN_R] * f + (r if won else 0.0)
    S[k, S_A_LOSS_R] = S[k, S_A_LOSS_R] * f + (0.0 if won else max(0.0, -r))
    S[k, S_A_ASOF] = max(S[k, S_A_ASOF], float(now)) if S[k, S_A_SEEN] != 0.0 else float(now)
    S[k, S_A_SEEN] = 1.0


@njit(cache=True)
def close_nb(S, W, P, C, I, k, price, rate, reason, now, g, trades, orders):
    """Book the fill that closes symbol k's position at `price`, paying `rate` (the netting and
    wallet rules of the Portfolio), record the round trip, mark the wallet, teach the memory
    and the arm, and forget what rested for the position (the other leg is cancelled)."""
    side = int(S[k, S_SIDE])
    qty = S[k, S_QTY]
    cs = P[k, P_CS]
    realized = linear_pnl_nb(side, S[k, S_ENTRY], price, qty, cs)
    fill_fee = fee_nb(price, qty, cs, rate)
    W[W_BAL] = W[W_BAL] + realized - fill_fee
    W[W_FEES] += fill_fee
    fees = S[k, S_FEES] + fill_fee * (qty / qty)
    pnl = (S[k, S_REALIZED] + realized) - fees - S[k, S_FUNDING]
    exit_price = (qty * price) / qty
    if S[k, S_RPU] > 0.0:
        risk = S[k, S_RPU] * qty
    else:
        initial = S[k, S_INIT_STOP] if S[k, S_INIT_STOP] != 0.0 else S[k, S_STOP]
        risk = max(0.0, (S[k, S_ENTRY] - initial) * side) * qty * cs + fees * (qty / qty)
    r = pnl / risk if risk > 0.0 else 0.0
    n = int(W[W_NTRADES])
    if n < trades.shape[0]:
        t = trades[n]
        t["symbol"] = k
        t["side"] = side
        t["entry_bar"] = int(S[k, S_ENTRY_BAR])
        t["exit_bar"] = g
        t["entry_ms"] = int(S[k, S_OPENED])
        t["exit_ms"] = now
        t["qty"] = qty
        t["entry_price"] = S[k, S_ENTRY]
        t["exit_price"] = exit_price
        t["pnl"] = pnl
        t["fees"] = fees
        t["funding"] = S[k, S_FUNDING]
        t["risk_amount"] = risk
        t["r_multiple"] = r
        t["reason"] = reason
    W[W_NTRADES] = n + 1
    _order_record(W, orders, k, g, now, -side, qty, price, fill_fee, 1)
    S[k, S_SIDE] = 0.0
    S[k, S_QTY] = 0.0
    mark_wallet_nb(S, W, P, C, I, now)
    learn_nb(S, C, I, k, pnl, risk, r, now)
    S[k, S_STOP_ON] = 0.0
    S[k, S_TP_ON] = 0.0
    S[k, S_BREACH] = -1.0
    S[k, S_BEST] = np.nan


@njit(cache=True)
def market_exit_nb(S, W, P, C, I, k, reason, now, g, trades, orders):
    """Close k with a reduce-only market order on its last quote (its resting stop and target
    are cancelled first): the far touch, slipped, taker fee."""
    exit_side = -int(S[k, S_SIDE])
    touch = market_touch_nb(exit_side, S[k, S_BID], S[k, S_ASK])
    price = entry_fill_price_nb(exit_side, touch, 0.0, C[C_FILL_SLIP])
    S[k, S_STOP_ON] = 0.0
    S[k, S_TP_ON] = 0.0
    close_nb(S, W, P, C, I, k, price, P[k, P_TAKER], reason, now, g, trades, orders)


@njit(cache=True)
def _stop_tag(S, k):
    """The reason a stop closes with: "trailing_stop" once the stop has moved, else "stop_loss"."""
    trailed = S[k, S_INIT_STOP] > 0.0 and S[k, S_STOP] != S[k, S_INIT_STOP]
    return rec.R_TRAIL if trailed else rec.R_STOP


@njit(cache=True)
def try_stop_nb(S, W, P, C, I, k, now, g, trades, orders):
    """The resting stop-market on k's last quote: the last price triggers it; it fills at the
    far touch, or at its stop when that is worse (a gap), slipped; taker fee."""
    order_side = -int(S[k, S_SIDE])
    stop = S[k, S_STOP_PX]
    if not stop_triggers_nb(order_side, S[k, S_PRICE], stop):
        return False
    touch = stop_touch_nb(order_side, S[k, S_BID], S[k, S_ASK], stop)
    price = entry_fill_price_nb(order_side, touch, 0.0, C[C_FILL_SLIP])
    reason = int(S[k, S_STOP_TAG])
    S[k, S_STOP_ON] = 0.0
    S[k, S_TP_ON] = 0.0
    close_nb(S, W, P, C, I, k, price, P[k, P_TAKER], reason, now, g, trades, orders)
    return True


@njit(cache=True)
def try_target_nb(S, W, P, C, I, k, now, g, trades, orders):
    """The resting take-profit limit: it fills once the touch reaches it, at its price as a
    maker; on its first look (when placed) a marketable limit takes the touch as a taker."""
    order_side = -int(S[k, S_SIDE])
    limit = S[k, S_TP_PX]
    arrived = S[k, S_TP_ARRIVED] != 0.0
    S[k, S_TP_ARRIVED] = 1.0
    if not limit_fillable_nb(order_side, limit, S[k, S_BID], S[k, S_ASK]):
        return False
    S[k, S_STOP_ON] = 0.0
    S[k, S_TP_ON] = 0.0
    if arrived:
        close_nb(S, W, P, C, I, k, limit, P[k, P_MAKER], rec.R_TARGET, now, g, trades, orders)
    else:
        touch = market_touch_nb(order_side, S[k, S_BID], S[k, S_ASK])
        close_nb(S, W, P, C, I, k, touch, P[k, P_TAKER], rec.R_TARGET, now, g, trades, orders)
    return True


@njit(cache=True)
def protect_nb(S, W, P, C, I, k, now, g, trades, orders):
    """OrderRouter.protect: the stop (then the target) placed to rest for k's position, each
    matched at once against the last quote (a marketable one fills on arrival)."""
    if I[I_RESTING] == 0 or S[k, S_SIDE] == 0.0:
        return
    if S[k, S_STOP] > 0.0 and (S[k, S_STOP_ON] == 0.0 or S[k, S_STOP_PX] != S[k, S_STOP]):
        S[k, S_STOP_ON] = 1.0
        S[k, S_STOP_PX] = S[k, S_STOP]
        S[k, S_STOP_TAG] = _stop_tag(S, k)
        if try_stop_nb(S, W, P, C, I, k, now, g, trades, orders):
            return
    if S[k, S_TP] > 0.0 and S[k, S_TP_ON] == 0.0:
        S[k, S_TP_ON] = 1.0
        S[k, S_TP_PX] = S[k, S_TP]
        S[k, S_TP_ARRIVED] = 0.0
        try_target_nb(S, W, P, C, I, k, now, g, trades, orders)


# ---- funding, the monitor, liquidation ------------------------------------------------------
@njit(cache=True)
def funding_nb(S, W, P, C, I, k, now, fund_ts, fund_rate, fund_off):
    """The paper executor's funding: charges for the 8-hour boundaries this tick passed, at this
    tick's price, booked on an open position (longs pay a positive rate)."""
    slot = funding_slot_nb(now)
    seen = int(S[k, S_FUND_SEEN])
    S[k, S_FUND_SEEN] = slot
    if seen < 0:
        if S[k, S_SIDE] == 0.0:
            return
        since = int(S[k, S_LAST_FUND]) if S[k, S_LAST_FUND] != 0.0 else int(S[k, S_OPENED])
        seen = max(funding_slot_nb(since), slot - MAX_MISSED_FUNDING)
    lo, hi = fund_off[k], fund_off[k + 1]
    for boundary_slot in range(seen + 1, slot + 1):
        if S[k, S_SIDE] == 0.0:
            continue
        boundary = boundary_slot * FUNDING_INTERVAL_MS
        rate = C[C_DEFAULT_FUND]
        if hi > lo:
            rate = rate_at_nb(fund_ts[lo:hi], fund_rate[lo:hi], boundary, C[C_DEFAULT_FUND])
        side = int(S[k, S_SIDE])
        paid = funding_payment_nb(rate, S[k, S_QTY], S[k, S_PRICE], P[k, P_CS], side)
        if boundary <= S[k, S_LAST_FUND]:
            continue
        W[W_BAL] = W[W_BAL] - paid
        W[W_FUNDING] += paid
        S[k, S_FUNDING] = S[k, S_FUNDING] + paid
        S[k, S_LAST_FUND] = boundary
        mark_wallet_nb(S, W, P, C, I, now)


@njit(cache=True)
def _timed_exit(S, I, k, now):
    """Max hold, time stop, weekend carry (-1: none)."""
    held = now - int(S[k, S_OPENED])
    if I[I_MAX_HOLD_MS] > 0 and held >= I[I_MAX_HOLD_MS]:
        return rec.R_MAX_HOLD
    if I[I_TIME_STOP_BARS] > 0 and held >= I[I_TIME_STOP_BARS] * I[I_BAR_MS]:
        return rec.R_TIME
    if I[I_WEEKEND_CUTOFF] >= 0 and in_weekend_window_nb(now, I[I_WEEKEND_CUTOFF]):
        return rec.R_WEEKEND
    return -1


@njit(cache=True)
def _trail(S, W, P, C, I, k, now, g, trades, orders):
    """The trailing stop: best price since entry less k ATRs, rounded away from the market;
    taken only when it tightens (the risk engine refuses widening), then it rests."""
    side = int(S[k, S_SIDE])
    price = S[k, S_PRICE]
    best = S[k, S_BEST]
    if np.isnan(best):
        best = S[k, S_WATER] if S[k, S_WATER] != 0.0 else S[k, S_ENTRY]
    if (price - best) * side > 0:
        best = price
    S[k, S_BEST] = best
    candidate = best - side * C[C_TRAIL_ATR] * S[k, S_ATR]
    candidate = stop_away_nb(candidate, P[k, P_TICK], side, int(P[k, P_PDEC]))
    tighter = (candidate - S[k, S_STOP]) * side > 0
    if tighter and (price - candidate) * side > 0 and candidate > 0.0:
        S[k, S_STOP] = candidate
        protect_nb(S, W, P, C, I, k, now, g, trades, orders)


@njit(cache=True)
def monitor_nb(S, W, P, C, I, k, now, g, trades, orders):
    """PositionMonitor.check: with the stop resting, the monitor acts on a breached stop or
    target only after the grace; max hold, time stop, weekend and trailing as configured."""
    side = int(S[k, S_SIDE])
    price = S[k, S_PRICE]
    if I[I_RESTING] != 0 and S[k, S_STOP_ON] != 0.0:
        breached = (S[k, S_STOP] > 0.0 and stop_hit_nb(side, price, S[k, S_STOP])) or (
            target_hit_nb(side, price, S[k, S_TP])
        )
        over = False
        if not breached:
            S[k, S_BREACH] = -1.0
        else:
            if S[k, S_BREACH] < 0.0:
                S[k, S_BREACH] = now
            over = now - int(S[k, S_BREACH]) >= I[I_GRACE_MS]
        if not over:
            reason = _timed_exit(S, I, k, now)
            if reason >= 0:
                market_exit_nb(S, W, P, C, I, k, reason, now, g, trades, orders)
            elif C[C_TRAIL_ATR] > 0.0 and S[k, S_ATR] > 0.0:
                _trail(S, W, P, C, I, k, now, g, trades, orders)
            return
    if S[k, S_STOP] > 0.0 and stop_hit_nb(side, price, S[k, S_STOP]):
        market_exit_nb(S, W, P, C, I, k, _stop_tag(S, k), now, g, trades, orders)
        return
    if target_hit_nb(side, price, S[k, S_TP]):
        market_exit_nb(S, W, P, C, I, k, rec.R_TARGET, now, g, trades, orders)
        return
    reason = _timed_exit(S, I, k, now)
    if reason >= 0:
        market_exit_nb(S, W, P, C, I, k, reason, now, g, trades, orders)
    elif C[C_TRAIL_ATR] > 0.0 and S[k, S_ATR] > 0.0:
        _trail(S, W, P, C, I, k, now, g, trades, orders)


@njit(cache=True)
def liquidation_nb(S, W, P, I, k, floors, rates, cums):
    """Binance's liquidation test for k's perpetual position at its mark: isolated margin backs
    it with its initial margin; cross with the wallet balance, net of every other position's
    maintenance margin and unrealised PnL."""
    side = int(S[k, S_SIDE])
    qty = S[k, S_QTY] * P[k, P_CS]
    entry = S[k, S_ENTRY]
    mark = S[k, S_PRICE]
    if I[I_CROSS] == 0:
        wb = abs(qty * entry) / max(P[k, P_LEV], 1.0)
        return is_liquidated_nb(side, qty, entry, mark, wb, floors, rates, cums, 0.0, 0.0)
    other_mm = 0.0
    other_upnl = 0.0
    for j in range(S.shape[0]):
        if j == k or S[j, S_SIDE] == 0.0:
            continue
        q = S[j, S_QTY] * P[j, P_CS]
        notional = q * S[j, S_PRICE]
        b = bracket_index_nb(notional, floors)
        other_mm += maintenance_margin_nb(notional, rates[b], cums[b])
        other_upnl += linear_pnl_nb(int(S[j, S_SIDE]), S[j, S_ENTRY], S[j, S_PRICE], q, 1.0)
    wb = W[W_BAL]
    return is_liquidated_nb(side, qty, entry, mark, wb, floors, rates, cums, other_mm, other_upnl)


# ---- the entry: allocator, risk gate, execution ----------------------------------------------
@njit(cache=True)
def _arm_view(S, C, k, now):
    """The arm's (win rate, payoff, closed trades) as the allocator reads them, decayed to now."""
    if S[k, S_A_SEEN] == 0.0:
        return 0.0, 0.0, 0
    f = 1.0
    elapsed = now - int(S[k, S_A_ASOF])
    if elapsed > 0 and S[k, S_A_PULLS] > 0.0:
        f = evidence_decay_nb(elapsed, C[C_HALFLIFE])
    wins = S[k, S_A_WINS] * f
    losses = S[k, S_A_LOSSES] * f
    win_r = S[k, S_A_WIN_R] * f
    loss_r = S[k, S_A_LOSS_R] * f
    return (
        arm_win_rate_nb(wins, losses),
        arm_payoff_nb(wins, losses, win_r, loss_r),
        round(wins + losses),
    )


@njit(cache=True)
def entry_nb(S, W, P, C, I, k, r, side, entry, stop, tp, atr, now, g, trades, orders):
    """A signal of symbol k (row r) at `now`: the allocator takes it when the market is free;
    the risk gate prices it at the current quote, checks it and sizes it (risk/engine.py's
    order); an approved entry is a market order filled at once, then protected."""
    if W[W_HALTED] != 0.0 or S[k, S_SIDE] != 0.0:
        return False
    win_rate, payoff, arm_trades = _arm_view(S, C, k, now)
    if not consistent_nb(side, entry, stop, tp):
        return False
    if side < 0 and P[k, P_SHORTABLE] == 0.0:
        return False
    mid = S[k, S_PRICE]
    bid = S[k, S_BID]
    ask = S[k, S_ASK]
    hs = (ask - bid) / 2.0 if ask > bid > 0.0 else P[k, P_DEFAULT_HS]
    cs = P[k, P_CS]
    slip = slip_fraction_nb(P[k, P_SLIP_BPS], P[k, P_SLIP_ATR], atr, mid)
    e_entry, e_stop_exit, _target_exit, e_risk, e_reward, e_cost = economics_values_nb(
        side, mid, stop, tp, hs, slip, P[k, P_TAKER], P[k, P_MAKER], P[k, P_FUND8H],
        C[C_HOLD_HOURS], cs, False,
    )  # fmt: skip
    equity = equity_nb(S, W, P)
    pair = 0.0
    total = 0.0
    tied = 0.0
    held = 0
    for j in range(S.shape[0]):
        if S[j, S_SIDE] == 0.0:
            continue
        notional = abs(S[j, S_QTY]) * S[j, S_PRICE] * P[j, P_CS]
        total += notional
        if j == k:
            pair += notional
        tied += abs(S[j, S_QTY] * S[j, S_ENTRY] * P[j, P_CS]) / P[j, P_LEV]
        held += 1
    day_start = W[W_DAY_EQ]
    ok = fill_side_fault_nb(side, e_entry, e_stop_exit, tp, e_reward) == 0
    ok = stop_cost_ok_nb(e_risk, e_cost, C[C_MIN_STOP_COST]) and ok
    ok = reward_risk_ok_nb(net_reward_risk_nb(e_reward, e_risk), C[C_MIN_RR]) and ok
    ok = stop_width_ok_nb(abs(entry - stop), atr, C[C_MAX_STOP_ATR]) and ok
    if I[I_WEEKEND_CUTOFF] >= 0 and in_weekend_window_nb(now, I[I_WEEKEND_CUTOFF]):
        ok = False
    ok = daily_loss_ok_nb(equity, day_start, C[C_DAILY_CAP]) and ok
    sym_pnl = 0.0
    if S[k, S_SYM_DAY] >= 0.0:
        sym_pnl = pnl_today_nb(int(S[k, S_SYM_DAY]), S[k, S_SYM_PNL], now)
    base = day_start if day_start != 0.0 else equity
    ok = symbol_loss_ok_nb(sym_pnl, base, C[C_SYMBOL_CAP]) and ok
    if S[k, S_COOL_UNTIL] >= 0.0 and not cooldown_over_nb(int(S[k, S_COOL_UNTIL]), now):
        ok = False
    ok = open_positions_ok_nb(held, I[I_MAX_OPEN]) and ok
    if not ok or equity <= 0.0:
        return False
    risk_fraction = kelly_risk_fraction_nb(
        C[C_RISK_FRAC], arm_trades, win_rate, payoff, C[C_KELLY_CAP], False, I[I_KELLY_MIN]
    )
    if risk_fraction < 0.0:
        return False
    qty = entry_qty_nb(equity, C[C_POS_FRAC], risk_fraction, e_entry, e_risk, cs)
    if I[I_VOL_SIZING] != 0:
        qty = min(qty, vol_target_units_nb(equity, C[C_VOL_TARGET], atr, C[C_BARS_PER_YEAR], cs))
    unit_notional = e_entry * cs
    leverage = P[k, P_LEV]
    entry_fee = unit_notional * P[k, P_TAKER]
    qty = cap_qty_nb(qty, unit_notional, pair, C[C_MAX_PAIR] * equity)
    qty = cap_qty_nb(qty, unit_notional, total, C[C_MAX_PORT] * equity)
    qty = cap_qty_nb(qty, unit_notional, total, leverage * equity)
    qty = cap_qty_nb(qty, unit_notional / leverage + entry_fee, tied, W[W_BAL])
    last = martingale_amount_nb(int(S[k, S_LOSS_DAY]), S[k, S_LOSS_AMT], now)
    if last >= 0.0:
        qty = cap_qty_nb(qty, e_risk, 0.0, last)
    if qty <= 0.0:
        return False
    lot = P[k, P_LOT]
    qdec = int(P[k, P_QDEC])
    lot_qty = floor_to_step_nb(qty, lot, qdec)
    if not tradeable_qty_nb(
        lot_qty, e_entry, P[k, P_MIN_QTY], lot, P[k, P_MIN_NOTIONAL], cs
    ):  # fmt: skip
        return False
    risk_amount = lot_qty * e_risk
    order_qty = floor_to_step_nb(lot_qty, lot, qdec)
    if order_qty <= 0.0:
        return False
    price = entry_fill_price_nb(side, market_touch_nb(side, bid, ask), 0.0, C[C_FILL_SLIP])
    fill_fee = fee_nb(price, order_qty, cs, P[k, P_TAKER])
    W[W_BAL] = W[W_BAL] + 0.0 - fill_fee
    W[W_FEES] += fill_fee
    S[k, S_SIDE] = side
    S[k, S_QTY] = order_qty
    S[k, S_ENTRY] = price
    S[k, S_OPENED] = now
    S[k, S_STOP] = stop
    S[k, S_TP] = tp
    S[k, S_INIT_STOP] = stop
    S[k, S_FEES] = fill_fee
    S[k, S_FUNDING] = 0.0
    S[k, S_REALIZED] = 0.0
    S[k, S_RPU] = risk_amount / lot_qty
    S[k, S_LAST_FUND] = now
    S[k, S_ATR] = atr
    S[k, S_ENTRY_BAR] = g
    S[k, S_WATER] = price
    S[k, S_STOP_ON] = 0.0
    S[k, S_TP_ON] = 0.0
    S[k, S_BREACH] = -1.0
    S[k, S_BEST] = np.nan
    _order_record(W, orders, k, g, now, side, order_qty, price, fill_fee, 0)
    mark_wallet_nb(S, W, P, C, I, now)
    protect_nb(S, W, P, C, I, k, now, g, trades, orders)
    return True


# ---- the run ---------------------------------------------------------------------------------
@njit(cache=True)
def flatten_nb(S, W, P, C, I, now, g, trades, orders):
    """The kill switch's flatten-all: every position closed at market, in symbol order."""
    W[W_FLATTEN] = 0.0
    for k in range(S.shape[0]):
        if S[k, S_SIDE] != 0.0:
            market_exit_nb(S, W, P, C, I, k, rec.R_KILL, now, g, trades, orders)


@njit(cache=True)
def tick_nb(
    S, W, P, C, I, k, b, phase, now, g, price, sig_side, sig_entry, sig_stop, sig_tp, sig_atr,
    prev_bar, open_ms, fund_ts, fund_rate, fund_off, floors, rates, cums, trades, orders,
):  # fmt: skip
    """One tick of symbol k, in the node's order (see the module text)."""
    S[k, S_PRICE] = price
    S[k, S_BID] = quote_bid_nb(price, P[k, P_HS], P[k, P_SCALE])
    S[k, S_ASK] = quote_ask_nb(price, P[k, P_HS], P[k, P_SCALE])
    if S[k, S_SIDE] != 0.0:
        filled = S[k, S_STOP_ON] != 0.0 and try_stop_nb(S, W, P, C, I, k, now, g, trades, orders)
        if not filled and S[k, S_TP_ON] != 0.0:
            try_target_nb(S, W, P, C, I, k, now, g, trades, orders)
    if I[I_FUNDING_ON] != 0 and P[k, P_PERP] != 0.0:
        funding_nb(S, W, P, C, I, k, now, fund_ts, fund_rate, fund_off)
    if S[k, S_SIDE] != 0.0:
        monitor_nb(S, W, P, C, I, k, now, g, trades, orders)
    if I[I_LIQUIDATION] != 0 and S[k, S_SIDE] != 0.0 and P[k, P_PERP] != 0.0:
        if liquidation_nb(S, W, P, I, k, floors, rates, cums):
            if W[W_LIQ_BAR] < 0.0:
                W[W_LIQ_BAR] = g
            if I[I_CROSS] == 0:
                S[k, S_BID] = S[k, S_PRICE]
                S[k, S_ASK] = S[k, S_PRICE]
                market_exit_nb(S, W, P, C, I, k, rec.R_LIQ, now, g, trades, orders)
            else:
                for j in range(S.shape[0]):
                    if S[j, S_SIDE] != 0.0:
                        S[j, S_BID] = S[j, S_PRICE]
                        S[j, S_ASK] = S[j, S_PRICE]
                        market_exit_nb(S, W, P, C, I, j, rec.R_LIQ, now, g, trades, orders)
            S[k, S_BID] = quote_bid_nb(price, P[k, P_HS], P[k, P_SCALE])
            S[k, S_ASK] = quote_ask_nb(price, P[k, P_HS], P[k, P_SCALE])
    row = -1
    if I[I_FILL_CLOSE] == 0:
        if phase == 0:
            prev = prev_bar[b]
            if prev >= 0 and open_ms[prev] >= I[I_T0]:
                row = prev
    elif phase == 3:
        row = b
    if row >= 0 and sig_side[row] != 0:
        entry_nb(
            S, W, P, C, I, k, row, int(sig_side[row]), sig_entry[row], sig_stop[row],
            sig_tp[row], sig_atr[row], now, g, trades, orders,
        )  # fmt: skip


@njit(cache=True)
def _tick_price(S, I, k, b, phase, o, h, lo, c):
    """The replay feed's path through bar b: open, the extreme visited first (a bullish bar dips
    first), the other extreme, the close. `worst` visits the extreme against k's position first."""
    if phase == 0:
        return o[b]
    if phase == 3:
        return c[b]
    if phase == 1:
        low_first = c[b] >= o[b]
        if I[I_WORST] != 0 and S[k, S_SIDE] != 0.0:
            low_first = S[k, S_SIDE] > 0.0
        S[k, S_LOW_FIRST] = 1.0 if low_first else 0.0
        return lo[b] if low_first else h[b]
    return h[b] if S[k, S_LOW_FIRST] != 0.0 else lo[b]


@njit(cache=True)
def new_state_nb(nsym):
    S = np.zeros((nsym, NS), dtype=np.float64)
    for k in range(nsym):
        S[k, S_BREACH] = -1.0
        S[k, S_BEST] = np.nan
        S[k, S_FUND_SEEN] = -1.0
        S[k, S_COOL_UNTIL] = -1.0
        S[k, S_LOSS_DAY] = -1.0
        S[k, S_SYM_DAY] = -1.0
    return S


@njit(cache=True)
def simulate_nb(
    open_ms, o, h, lo, c, sym, sig_side, sig_entry, sig_stop, sig_tp, sig_atr,
    grp_bounds, grp_bars, prev_bar, fund_ts, fund_rate, fund_off,
    P, C, I, floors, rates, cums, cash, trades, orders, equity,
):  # fmt: skip
    """One backtest under the risk gate, every symbol sharing one wallet. Groups are the bars
    opening at one time (one per entry of the run's axis), bars listed in symbol order; the
    ticks of a group play phase by phase, symbols in order within a phase. Writes `trades`,
    `orders` and `equity` (per group, after its close); returns the wallet state."""
    nsym = P.shape[0]
    S = new_state_nb(nsym)
    W = np.zeros(NW, dtype=np.float64)
    t0 = I[I_T0]
    W[W_BAL] = cash
    W[W_PEAK] = cash
    W[W_DAY_EQ] = cash
    W[W_DAY_MS] = utc_day_start_nb(t0)
    W[W_LIQ_BAR] = -1.0
    equity[:] = cash
    quarter = I[I_BAR_MS] // 4
    day = t0 // DAY_MS
    last_now = t0
    last_g = 0
    for g in range(grp_bounds.shape[0] - 1):
        first, stop = grp_bounds[g], grp_bounds[g + 1]
        bar_open = open_ms[grp_bars[first]]
        if bar_open < t0:
            continue
        for phase in range(4):
            now = bar_open + phase * quarter
            if now // DAY_MS != day:
                day = now // DAY_MS
                mark_wallet_nb(S, W, P, C, I, now)
                if W[W_FLATTEN] != 0.0:
                    flatten_nb(S, W, P, C, I, now, g, trades, orders)
            for j in range(first, stop):
                b = grp_bars[j]
                k = sym[b]
                price = _tick_price(S, I, k, b, phase, o, h, lo, c)
                tick_nb(
                    S, W, P, C, I, k, b, phase, now, g, price, sig_side, sig_entry, sig_stop,
                    sig_tp, sig_atr, prev_bar, open_ms, fund_ts, fund_rate, fund_off, floors,
                    rates, cums, trades, orders,
                )  # fmt: skip
                if W[W_FLATTEN] != 0.0:
                    flatten_nb(S, W, P, C, I, now, g, trades, orders)
            mark_wallet_nb(S, W, P, C, I, now)
            if W[W_FLATTEN] != 0.0:
                flatten_nb(S, W, P, C, I, now, g, trades, orders)
            last_now = now
        equity[g] = equity_nb(S, W, P)
        last_g = g
    for k in range(nsym):
        if S[k, S_SIDE] != 0.0:
            market_exit_nb(S, W, P, C, I, k, rec.R_END, last_now, last_g, trades, orders)
    if grp_bounds.shape[0] > 1:
        equity[last_g] = equity_nb(S, W, P)
    return W


@njit(cache=True)
def simulate_grid_nb(
    open_ms, o, h, lo, c, sym, sig_side, sig_entry, sig_stop, sig_tp, sig_atr,
    grp_bounds, grp_bars, prev_bar, fund_ts, fund_rate, fund_off,
    P, C, I, floors, rates, cums, cash, trades, orders, equity, wallets,
):  # fmt: skip
    """`simulate_nb` for every row of the signal matrices (one row per parameter set) in one
    call: row i writes trades[i], orders[i], equity[i] and wallets[i]."""
    for i in range(sig_side.shape[0]):
        wallets[i] = simulate_nb(
            open_ms, o, h, lo, c, sym, sig_side[i], sig_entry[i], sig_stop[i], sig_tp[i],
            sig_atr[i], grp_bounds, grp_bars, prev_bar, fund_ts, fund_rate, fund_off, P, C, I,
            floors, rates, cums, cash, trades[i], orders[i], equity[i],
        )  # fmt: skip


# ---- research mode: raw signals, no risk gate ------------------------------------------------
@njit(cache=True)
def _signal_exit(pos, qty, entry, price, fee_rate, cash, trades, n, entry_bar, bar, reason):
    """Close a research-mode position at `price` (fee paid); returns the cash after it."""
    realized = linear_pnl_nb(pos, entry, price, qty, 1.0)
    fee_paid = fee_nb(price, qty, 1.0, fee_rate)
    if n < trades.shape[0]:
        t = trades[n]
        t["symbol"] = 0
        t["side"] = pos
        t["entry_bar"] = entry_bar
        t["exit_bar"] = bar
        t["qty"] = qty
        t["entry_price"] = entry
        t["exit_price"] = price
        t["pnl"] = realized - fee_paid
        t["fees"] = fee_paid
        t["reason"] = reason
    return cash + realized - fee_paid


@njit(cache=True)
def research_nb(
    o, h, lo, c, fast_line, slow_line, fast_n, slow_n, long_short, long_entry, long_exit,
    short_entry, short_exit, stop_dist, stop_mult, target_dist, target_mult, cash,
    fee_rate, slip, fraction, worst, trades, equity,
):  # fmt: skip
    """Research mode (no risk gate), one run. Its signals come from four boolean arrays
    (`long_entry`, `long_exit`, `short_entry`, `short_exit`; the other three must be given with
    the first) or, when `long_entry` is None, from a cross of two lines: `fast_line` and
    `slow_line` as given, or when those are None the EMAs of periods `fast_n`, `slow_n` >= 2 of
    the closes computed in this loop (`ema_stream_nb`, the indicator's own step; closes with no
    leading NaN). A long entry when fast - slow turns > 0 from <= 0, a long exit when it turns
    < 0 from >= 0 and, with `long_short`, the reverse for shorts (the comparisons of
    `(spread > 0) & (before <= 0)`; NaN compares false): no signal array is materialised.

    Signals decided at a bar's close act at the next open (exit first, then entry; an exit and
    an opposite entry on one bar reverse), sized at `fraction` of the cash (fee included:
    all-in is 1.0). With `stop_dist`/`target_dist` (else None), a stop and a target
    `mult * dist` (of the signal bar; NaN: none) from the fill rest from the entry on; inside a
    bar the price walks open -> low/high -> high/low -> close (a bullish bar dips first) or,
    with `worst`, against the position first; a level the bar opens beyond fills at the open,
    else at the level. Fees on every fill, slippage on market fills. Writes `trades` (up to its
    length; entry fees are in the next exit's record as part of pnl) and, unless None, `equity`
    per bar. Returns (trade count, which may exceed `trades`' length; final equity).

    Every optional input is None or an array, never a flag: numba compiles one variant per
    combination with the unused branches pruned, so a feature a run does not use costs nothing
    (a runtime flag here cost ~2x on the W1 loop)."""
    n_bars = o.shape[0]
    pos = 0
    qty = 0.0
    entry = 0.0
    stop = np.nan
    target = np.nan
    entry_bar = 0
    n = 0
    go_long = exit_long = go_short = exit_short = False
    before = np.nan
    kf = 2.0 / (fast_n + 1)
    ks = 2.0 / (slow_n + 1)
    ef = es = np.nan
    tf = ts = 0.0
    for i in range(n_bars):
        if i > 0:
            px = o[i]
            if pos != 0 and ((pos > 0 and exit_long) or (pos < 0 and exit_short)):
                fill = px * (1.0 - pos * slip)
                cash = _signal_exit(pos, qty, entry, fill, fee_rate, cash, trades, n, entry_bar,
                                    i, rec.R_SIGNAL)  # fmt: skip
                n += 1
                pos = 0
            if pos == 0:
                side = 1 if go_long else (-1 if go_short else 0)
                if side != 0:
                    fill = px * (1.0 + side * slip)
                    qty = fraction * cash / (fill * (1.0 + fee_rate))
                    cash -= fee_nb(fill, qty, 1.0, fee_rate)
                    pos = side
                    entry = fill
                    entry_bar = i
                    if stop_dist is not None:
                        stop = fill - side * (stop_mult * stop_dist[i - 1])
                    if target_dist is not None:
                        target = fill + side * (target_mult * target_dist[i - 1])
        if stop_dist is not None or target_dist is not None:
            if pos != 0:
                low_first = c[i] >= o[i]
                if worst:
                    low_first = pos > 0
                for step in range(2):
                    price = lo[i] if low_first == (step == 0) else h[i]
                    # a NaN level (no stop or target) compares false: never hit
                    hit_stop = (price - stop) * pos <= 0
                    hit_target = (price - target) * pos >= 0
                    if hit_stop or hit_target:
                        level = stop if hit_stop else target
                        beyond = (
                            (o[i] - level) * pos <= 0 if hit_stop else (o[i] - level) * pos >= 0
                        )
                        fill = o[i] if beyond and i != entry_bar else level
                        reason = rec.R_STOP if hit_stop else rec.R_TARGET
                        cash = _signal_exit(pos, qty, entry, fill, fee_rate, cash, trades, n,
                                            entry_bar, i, reason)  # fmt: skip
                        n += 1
                        pos = 0
                        break
        if equity is not None:
            equity[i] = cash + (linear_pnl_nb(pos, entry, c[i], qty, 1.0) if pos != 0 else 0.0)
        if long_entry is not None:
            go_long = long_entry[i]
            exit_long = long_exit[i]
            go_short = short_entry[i]
            exit_short = short_exit[i]
        else:
            if fast_line is not None:
                spread = fast_line[i] - slow_line[i]
            else:
                ef, tf = ema_stream_nb(i, c[i], fast_n, kf, tf, ef)
                es, ts = ema_stream_nb(i, c[i], slow_n, ks, ts, es)
                spread = ef - es
            up = spread > 0 and before <= 0
            down = spread < 0 and before >= 0
            before = spread
            go_long = up
            exit_long = down
            go_short = long_short and down
            exit_short = up
    if pos != 0:
        cash = _signal_exit(pos, qty, entry, c[n_bars - 1], fee_rate, cash, trades, n, entry_bar,
                            n_bars - 1, rec.R_END)  # fmt: skip
        n += 1
        if equity is not None:
            equity[n_bars - 1] = cash
    return n, cash


@njit(cache=True)
def research_grid_nb(
    o, h, lo, c, fasts, slows, long_short, long_entry, long_exit, short_entry, short_exit,
    stop_dist, stop_mult, target_dist, target_mult, cash, fee_rate, slip, fraction, worst,
    trades, equity, counts, finals,
):  # fmt: skip
    """`research_nb` for every parameter set in one call: row i of the boolean matrices
    (`long_entry` given) or, when `long_entry` is None, the EMA cross of periods fasts[i] over
    slows[i], each set's EMAs computed in its own pass (no signal or EMA arrays held). Stops
    and targets are shared by every set. Writes trades[i], counts[i], finals[i] and, unless
    None, equity[i]."""
    for i in range(counts.shape[0]):
        if long_entry is not None:
            if equity is not None:
                counts[i], finals[i] = research_nb(
                    o, h, lo, c, None, None, 2, 2, False, long_entry[i], long_exit[i],
                    short_entry[i], short_exit[i], stop_dist, stop_mult, target_dist,
                    target_mult, cash, fee_rate, slip, fraction, worst, trades[i], equity[i],
                )  # fmt: skip
            else:
                counts[i], finals[i] = research_nb(
                    o, h, lo, c, None, None, 2, 2, False, long_entry[i], long_exit[i],
                    short_entry[i], short_exit[i], stop_dist, stop_mult, target_dist,
                    target_mult, cash, fee_rate, slip, fraction, worst, trades[i], None,
                )  # fmt: skip
        else:
            if equity is not None:
                counts[i], finals[i] = research_nb(
                    o, h, lo, c, None, None, fasts[i], slows[i], long_short, None, None, None,
                    None, stop_dist, stop_mult, target_dist, target_mult, cash, fee_rate, slip,
                    fraction, worst, trades[i], equity[i],
                )  # fmt: skip
            else:
                counts[i], finals[i] = research_nb(
                    o, h, lo, c, None, None, fasts[i], slows[i], long_short, None, None, None,
                    None, stop_dist, stop_mult, target_dist, target_mult, cash, fee_rate, slip,
                    fraction, worst, trades[i], None,
                )  # fmt: skip
