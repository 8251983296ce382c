"""The bare single-pass numba loops of the backtest benchmark: the practical limit.

Each workload of bench/backtest.py written as one loop over the bars, indicators updated in
place (the same arithmetic as tradeterm's kernels, TA-Lib's seeds and fused multiply-adds, so
the trades are the same), nothing allocated, no records, no general machinery.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tradeterm.indicators.nb import _fma, _true_range


@njit(cache=True)
def _ema_step(i, x, n, k, total, prev):
    """One step of a TA-Lib EMA: (value or NaN, running seed total)."""
    if i < n:
        total += x
        if i == n - 1:
            return total / n, total
        return np.nan, total
    return _fma(x - prev, k, prev), total


@njit(cache=True)
def _exit(pos, qty, entry, price, fee, cash):
    return cash + (price - entry) * qty * pos - price * qty * fee


@njit(cache=True)
def ema_cross_bare(o, h, lo, c, fast, slow, cash, fee, long_short, atr_n, sl_mult, tp_mult):
    """W1/W3: EMA(fast)/EMA(slow) cross decided at the close, acted on at the next open; all-in
    with `fee` per side; `long_short` reverses on the opposite cross; `sl_mult`/`tp_mult` > 0
    put a stop and a target that many ATR(atr_n) from the fill (intrabar: open -> low/high ->
    high/low -> close). Returns (final equity, trades)."""
    n = c.shape[0]
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    ef = es = np.nan
    tf = ts = 0.0
    prev_spread = np.nan
    signal = 0
    atr = np.nan
    tr_total = 0.0
    beta = (atr_n - 1) / atr_n
    alpha = 1.0 - beta
    sig_atr = np.nan
    pos = 0
    qty = entry = 0.0
    stop = target = np.nan
    entry_bar = -1
    trades = 0
    for i in range(n):
        if i > 0:
            px = o[i]
            if pos != 0 and signal == -pos:
                cash = _exit(pos, qty, entry, px, fee, cash)
                trades += 1
                pos = 0
            if pos == 0 and (signal == 1 or (long_short and signal == -1)):
                qty = cash / (px * (1.0 + fee))
                cash -= px * qty * 1.0 * fee
                pos = signal
                entry = px
                entry_bar = i
                if sl_mult > 0:
                    stop = px - pos * (sl_mult * sig_atr)
                    target = px + pos * (tp_mult * sig_atr)
        if pos != 0 and sl_mult > 0:
            low_first = c[i] >= o[i]
            for step in range(2):
                price = lo[i] if low_first == (step == 0) else h[i]
                hit_stop = (price - stop) * pos <= 0
                hit_target = (price - target) * pos >= 0
                if hit_stop or hit_target:
                    level = stop if hit_stop else target
                    gap = (o[i] - level) * pos
                    beyond = gap <= 0 if hit_stop else gap >= 0
                    fill = o[i] if beyond and i != entry_bar else level
                    cash = _exit(pos, qty, entry, fill, fee, cash)
                    trades += 1
                    pos = 0
                    break
        x = c[i]
        ef, tf = _ema_step(i, x, fast, kf, tf, ef)
        es, ts = _ema_step(i, x, slow, ks, ts, es)
        if sl_mult > 0 and i > 0:
            tr = _true_range(h[i], lo[i], c[i - 1])
            if i <= atr_n:
                tr_total += tr
                if i == atr_n:
                    atr = tr_total / atr_n
            else:
                atr = _fma(beta, atr, alpha * tr)
        sig_atr = atr
        spread = ef - es
        signal = 0
        if spread > 0 and prev_spread <= 0:
            signal = 1
        elif spread < 0 and prev_spread >= 0:
            signal = -1
        prev_spread = spread
    if pos != 0:
        cash = _exit(pos, qty, entry, c[n - 1], fee, cash)
        trades += 1
    return cash, trades


@njit(cache=True)
def ema_cross_grid_bare(o, h, lo, c, fasts, slows, cash, fee):
    """W2: every (fast, slow) pair, long only, one pass each. Returns the final equities."""
    out = np.empty(fasts.shape[0])
    for k in range(fasts.shape[0]):
        out[k], _ = ema_cross_bare(o, h, lo, c, fasts[k], slows[k], cash, fee, False, 14, 0.0, 0.0)
    return out
