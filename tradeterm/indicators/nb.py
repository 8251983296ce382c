"""Numba kernels for the indicators strategies use: numpy float64 in, float64 out, no pandas.

Every kernel replays TA-Lib's own loop (same warm-up, same seed, same order of operations, the
same fused multiply-adds), so a strategy gets the number a TA-Lib user gets, bar for bar. The
golden tests hold each `*_nb` equal to its TA-Lib twin in `talib_.py` (bit-identical on the shared
market data with the TA-Lib C library 0.8.x that the project pins).

Warm-up: bars without enough history are NaN, exactly where TA-Lib puts NaN (its lookback:
SMA/EMA/BBANDS/MAX/MIN/zscore n-1, RSI/ATR/DI n, ADX 2n-1, TRANGE 1). TA-Lib's unstable periods
are assumed at their default 0 (EMA/RSI/ATR/ADX seeded from the first n bars only).

Missing data, as TA-Lib's Python wrapper treats it:
- Leading NaNs are skipped: the kernel starts at the first bar where every input is known and
  the warm-up counts from there, so k leading NaNs give k + lookback NaNs in front. All-NaN
  input gives all-NaN output.
- A NaN after the first known bar goes into the arithmetic as in TA-Lib, which differs by
  indicator and is rarely what a strategy wants: a missing close poisons SMA/EMA/BBANDS/zscore
  (NaN for every later bar) and pins RSI at 0.0, while the true-range family shrugs it off; a
  missing high or low turns ATR NaN, freezes ADX and pins +DI/-DI at 0.0. Clean gaps first.

Periods are not validated here; the typed wrappers in `tradeterm.indicators` do that.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

# --------------------------------------------------------------------------- helpers
#
# Loops run over slices that start at a fixed offset (e.g. `x[n - 1:]` beside `x[:m - n + 1]`)
# rather than over `x[i - n + 1]`: numba then needs no negative-index fix-up per element and
# LLVM can vectorise the non-recursive loops (true range is ~5x faster this way).


@intrinsic
def _fma(typingctx, a, b, c):
    """a*b + c with one rounding (C fma()), as TA-Lib's EMA / ATR / BBANDS use it."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@njit(cache=True)
def _start1(x):
    """First bar whose value is known (TA-Lib wrapper's begidx; the last bar when none is)."""
    m = x.shape[0]
    for i in range(m):
        if not np.isnan(x[i]):
            return i
    return max(m - 1, 0)


@njit(cache=True)
def _start3(a, b, c):
    """First bar where all three series are known (the last bar when there is none)."""
    m = a.shape[0]
    for i in range(m):
        if not (np.isnan(a[i]) or np.isnan(b[i]) or np.isnan(c[i])):
            return i
    return max(m - 1, 0)


@njit(cache=True)
def _warm_up(out, lookback):
    """NaN over the first `lookback` bars (all of them when the series is shorter).

    Returns False when no bar gets a value."""
    m = out.shape[0]
    out[: min(lookback, m)] = np.nan
    return m > lookback


@njit(cache=True)
def _true_range(high, low, prev_close):
    """Wilder's true range of one bar, compared in TA-Lib's order (a NaN close is ignored)."""
    greatest = high - low
    v = abs(prev_close - high)
    if v > greatest:
        greatest = v
    v = abs(prev_close - low)
    if v > greatest:
        greatest = v
    return greatest


# --------------------------------------------------------------------------- moving averages


@njit(cache=True)
def _sma_into(x, n, out):
    if not _warm_up(out, n - 1):
        return
    m = x.shape[0]
    total = 0.0
    for i in range(n - 1):
        total += x[i]
    lead, trail, o = x[n - 1 :], x[: m - n + 1], out[n - 1 :]
    for k in range(m - n + 1):
        total += lead[k]
        window = total
        total -= trail[k]
        o[k] = window / n


@njit(cache=True)
def sma_nb(x, n):
    """Simple moving average of the last n values (TA-Lib SMA; first value at bar n-1)."""
    out = np.empty(x.shape[0])
    b = _start1(x)
    out[:b] = np.nan
    _sma_into(x[b:], n, out[b:])
    return out


@njit(cache=True)
def ema_step_nb(x, prev, k):
    """One step of the EMA recursion past its seed: prev + k * (x - prev), one rounding."""
    return _fma(x - prev, k, prev)


@njit(cache=True)
def ema_stream_nb(i, x, n, k, total, prev):
    """The EMA of `ema_nb` one value at a time, for kernels that fuse it into their own loop:
    bar i (counted from the first value, none missing) of value x; `total` is the running seed
    sum, `prev` the last EMA (NaN before the seed). Returns (EMA at i or NaN, total). Equals
    `ema_nb` bit for bit for n >= 2 on a series without leading NaNs."""
    if i < n:
        total += x
        if i == n - 1:
            return total / n, total
        return np.nan, total
    return ema_step_nb(x, prev, k), total


@njit(cache=True)
def _ema_into(x, n, out):
    if not _warm_up(out, n - 1):
        return
    if n == 1:
        out[:] = x
        return
    k = 2.0 / (n + 1)
    total = 0.0
    for i in range(n):
        total += x[i]
    prev = total / n
    out[n - 1] = prev
    tail, o = x[n:], out[n:]
    for i in range(tail.shape[0]):
        prev = ema_step_nb(tail[i], prev, k)
        o[i] = prev


@njit(cache=True)
def ema_nb(x, n):
    """Exponential moving average, k = 2/(n+1), seeded with the SMA of the first n values;
    n = 1 is the input itself."""
    out = np.empty(x.shape[0])
    b = _start1(x)
    out[:b] = np.nan
    _ema_into(x[b:], n, out[b:])
    return out


# --------------------------------------------------------------------------- oscillators


@njit(cache=True)
def _rsi_into(x, n, out):
    if not _warm_up(out, n):
        return
    m = x.shape[0]
    inv = 1.0 / n
    gain = 0.0
    loss = 0.0
    for i in range(1, n + 1):
        d = x[i] - x[i - 1]
        up = d if d > 0.0 else 0.0
        gain += up
        loss += up - d
    loss *= inv
    gain *= inv
    s = gain + loss
    out[n] = 100.0 * (gain / s) if s > 0.0 else 0.0
    cur, before, o = x[n + 1 :], x[n : m - 1], out[n + 1 :]
    for k in range(m - n - 1):
        d = cur[k] - before[k]
        loss *= n - 1
        gain *= n - 1
        up = d if d > 0.0 else 0.0
        gain += up
        loss += up - d
        loss *= inv
        gain *= inv
        s = gain + loss
        o[k] = 100.0 * (gain / s) if s > 0.0 else 0.0


@njit(cache=True)
def rsi_nb(close, n):
    """Wilder's RSI (0..100) as TA-Lib computes it; 0.0 when the window had no move at all."""
    out = np.empty(close.shape[0])
    b = _start1(close)
    out[:b] = np.nan
    _rsi_into(close[b:], n, out[b:])
    return out


@njit(cache=True)
def _true_range_into(h, lo, c, out):
    if not _warm_up(out, 1):
        return
    hh, ll, pc, o = h[1:], lo[1:], c[:-1], out[1:]
    for k in range(o.shape[0]):
        o[k] = _true_range(hh[k], ll[k], pc[k])


@njit(cache=True)
def true_range_nb(high, low, close):
    """True range of each bar against the previous close (TA-Lib TRANGE; bar 0 is NaN)."""
    out = np.empty(close.shape[0])
    b = _start3(high, low, close)
    out[:b] = np.nan
    _true_range_into(high[b:], low[b:], close[b:], out[b:])
    return out


@njit(cache=True)
def _atr_into(h, lo, c, n, out):
    if not _warm_up(out, n):
        return
    m = c.shape[0]
    beta = (n - 1) / n
    alpha = 1.0 - beta
    total = 0.0
    for i in range(1, n + 1):
        total += _true_range(h[i], lo[i], c[i - 1])
    prev = total / n
    out[n] = prev
    hh, ll, pc, o = h[n + 1 :], lo[n + 1 :], c[n : m - 1], out[n + 1 :]
    for k in range(m - n - 1):
        prev = _fma(beta, prev, alpha * _true_range(hh[k], ll[k], pc[k]))
        o[k] = prev


@njit(cache=True)
def atr_nb(high, low, close, n):
    """Average true range, Wilder-smoothed, seeded with the mean TR of bars 1..n (TA-Lib ATR).

    n = 1 is the true range itself."""
    if n <= 1:
        return true_range_nb(high, low, close)
    out = np.empty(close.shape[0])
    b = _start3(high, low, close)
    out[:b] = np.nan
    _atr_into(high[b:], low[b:], close[b:], n, out[b:])
    return out


# --------------------------------------------------------------------------- bands and channels


@njit(cache=True)
def _window_variance(window, inv):
    """Two-pass variance of one window around its own mean, and the new shift and sums."""
    acc = 0.0
    for v in window:
        acc += v
    shift = acc * inv
    s1 = 0.0
    s2 = 0.0
    for v in window:
        t = v - shift
        s1 += t
        s2 += t * t
    mean1 = s1 * inv
    var = s2 * inv - mean1 * mean1
    if var < 0.000000000001 * (s2 * inv):
        var = 0.0
    return var, shift, s1, s2


@njit(cache=True)
def _mean_std_into(x, n, mean_out, std_out, as_zscore):
    """Rolling SMA and population standard deviation, TA-Lib's way (or, with `as_zscore`,
    the z-score written straight into `mean_out`; `std_out` is then not touched).

    The mean is TA-Lib's SMA running sum. The variance comes from running sums of deviations
    from a shift near the window (raw squares would cancel catastrophically at BTC prices);
    the shift is re-anchored on the window mean with a fresh two-pass sum when the variance
    gets small against those sums, when a large value leaves the window, and every 32 windows.
    A re-anchored variance under 1e-12 of its mean squared deviation is exactly 0 (flat)."""
    _warm_up(std_out, n - 1)
    if not _warm_up(mean_out, n - 1):
        return
    m = x.shape[0]
    inv = 1.0 / n
    shift = x[0]
    total = 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(n - 1):
        total += x[j]
        t = x[j] - shift
        s1 += t
        s2 += t * t
    countdown = 32 * n
    lead, trail = x[n - 1 :], x[: m - n + 1]
    mean_o, std_o = mean_out[n - 1 :], std_out[n - 1 :]
    for k in range(m - n + 1):
        total += lead[k]
        t = lead[k] - shift
        s1 += t
        s2 += t * t
        mean1 = s1 * inv
        var = s2 * inv - mean1 * mean1
        mean = total / n
        total -= trail[k]
        t = trail[k] - shift
        s1 -= t
        t *= t
        s2 -= t
        countdown -= 1
        if var < 0.000001 * (s2 * inv) or t > 1000000.0 * s2 or countdown <= 0:
            countdown = 32 * n
            var, shift, s1, s2 = _window_variance(x[k : k + n], inv)
            t = trail[k] - shift
            s1 -= t
            s2 -= t * t
        std = np.sqrt(var) if var != 0.0 else 0.0
        if as_zscore:
            mean_o[k] = (lead[k] - mean) / std if std != 0.0 else np.nan
        else:
            mean_o[k] = mean
            std_o[k] = std


@njit(cache=True)
def bbands_nb(x, n, nbdev_up, nbdev_dn):
    """Bollinger bands: (upper, middle, lower) = SMA ± k × population std of the last n values."""
    m = x.shape[0]
    # One block for the three bands: three separate 8 MB allocations per call make glibc hand
    # memory back and fault it in again every time (5x slower on 1M bars).
    block = np.empty(3 * m)
    upper, middle, lower = block[:m], block[m : 2 * m], block[2 * m :]
    b = _start1(x)
    middle[:b] = np.nan
    _mean_std_into(x[b:], n, middle[b:], upper[b:], False)  # upper holds the std for now
    start = min(b + n - 1, m)
    upper[:b] = np.nan
    lower[:start] = np.nan
    mid, up, lo = middle[start:], upper[start:], lower[start:]
    if nbdev_up == nbdev_dn:
        for k in range(mid.shape[0]):
            width = up[k] * nbdev_up
            lo[k] = mid[k] - width
            up[k] = mid[k] + width
    else:  # TA-Lib fuses the upper band's multiply-add in this branch only
        for k in range(mid.shape[0]):
            std = up[k]
            lo[k] = mid[k] - std * nbdev_dn
            up[k] = _fma(std, nbdev_up, mid[k])
    return upper, middle, lower


@njit(cache=True)
def _rolling_extreme_into(x, n, out, sign):
    """TA-Lib MAX (sign=+1) / MIN (sign=-1) by its van Herk / Gil-Werman block scan.

    For each block of n bars: suffix extremes of the block (backward pass), prefix extremes
    of the next block (forward pass); each window straddles the two and takes the better.
    A fixed handful of comparisons per bar whatever n is. A NaN is passed over or kept
    depending on where it falls in its block, exactly as in TA-Lib."""
    if not _warm_up(out, n - 1):
        return
    m = x.shape[0]
    suf = np.empty(n)
    pre = np.empty(n)
    block = 0
    today = n - 1
    while today < m:
        blk = x[block : block + n]
        best = blk[n - 1] * sign
        suf[n - 1] = best
        for k in range(n - 2, -1, -1):
            v = blk[k] * sign
            best = v if v > best else best
            suf[k] = best
        out[today] = suf[0] * sign
        today += 1
        if today >= m:
            break
        avail = min(m - today, n - 1)
        nxt, o = x[block + n : block + n + avail], out[today : today + avail]
        best = x[block + n] * sign
        pre[0] = best
        for k in range(1, avail):
            v = nxt[k] * sign
            best = v if v > best else best
            pre[k] = best
        for k in range(avail):
            older = suf[k + 1]
            newer = pre[k]
            o[k] = (newer if newer > older else older) * sign
        today += avail
        block += n


@njit(cache=True)
def donchian_nb(high, low, n):
    """Donchian channel: (highest high, lowest low) of the last n bars (TA-Lib MAX / MIN)."""
    m = high.shape[0]
    block = np.empty(m + low.shape[0])  # one allocation, as in bbands_nb
    upper, lower = block[:m], block[m:]
    b = _start1(high)
    upper[:b] = np.nan
    _rolling_extreme_into(high[b:], n, upper[b:], 1.0)
    b = _start1(low)
    lower[:b] = np.nan
    _rolling_extreme_into(low[b:], n, lower[b:], -1.0)
    return upper, lower


@njit(cache=True)
def nr7_nb(high, low, n=7):
    """Narrow-range bar flag: 1.0 when this bar's high-low range is the narrowest of the last n
    ranges (ties count), else 0.0. NaN for the first n-1 bars and wherever any range in the
    window is unknown. No TA-Lib twin; `talib_.nr7_reference` is the pandas reference."""
    m = high.shape[0]
    out = np.empty(m)
    last_nan = -1
    for i in range(m):
        r = high[i] - low[i]
        if np.isnan(r):
            last_nan = i
        if i < n - 1 or last_nan > i - n:
            out[i] = np.nan
            continue
        flag = 1.0
        for j in range(i - n + 1, i):
            if high[j] - low[j] < r:
                flag = 0.0
                break
        out[i] = flag
    return out


# --------------------------------------------------------------------------- statistics


@njit(cache=True)
def zscore_nb(x, n):
    """How many population standard deviations the value sits from its n-bar SMA.

    Equals (x - TA-Lib SMA) / TA-Lib STDDEV; NaN where the window is flat (std 0)."""
    out = np.empty(x.shape[0])
    b = _start1(x)
    out[:b] = np.nan
    _mean_std_into(x[b:], n, out[b:], out[b:], True)
    return out


# --------------------------------------------------------------------------- directional movement


@njit(cache=True)
def _dm(h, lo, prev_h, prev_lo):
    """One-bar (+DM, -DM) by Wilder's rule: only the larger outside move counts."""
    up = h - prev_h
    down = prev_lo - lo
    if down > 0 and up < down:
        return 0.0, down
    if up > 0 and up > down:
        return up, 0.0
    return 0.0, 0.0


@njit(cache=True)
def _di_into(h, lo, c, n, out, plus):
    """TA-Lib PLUS_DI / MINUS_DI (n >= 2): 100 × smoothed DM / smoothed TR, from bar n."""
    if not _warm_up(out, n):
        return
    m = c.shape[0]
    dm_sum = 0.0
    tr_sum = 0.0
    for i in range(1, n):
        p, q = _dm(h[i], lo[i], h[i - 1], lo[i - 1])
        dm_sum += p if plus else q
        tr_sum += _true_range(h[i], lo[i], c[i - 1])
    hh, ll, o = h[n:], lo[n:], out[n:]
    ph, pl, pc = h[n - 1 : m - 1], lo[n - 1 : m - 1], c[n - 1 : m - 1]
    for k in range(m - n):
        p, q = _dm(hh[k], ll[k], ph[k], pl[k])
        dm_sum = dm_sum - dm_sum / n + (p if plus else q)
        tr_sum = tr_sum - tr_sum / n + _true_range(hh[k], ll[k], pc[k])
        o[k] = 100.0 * (dm_sum / tr_sum) if tr_sum > 0.0 else 0.0


@njit(cache=True)
def _di(high, low, close, n, plus):
    out = np.empty(close.shape[0])
    b = _start3(high, low, close)
    out[:b] = np.nan
    _di_into(high[b:], low[b:], close[b:], n, out[b:], plus)
    return out


@njit(cache=True)
def plus_di_nb(high, low, close, n):
    """+DI: the share (0..100) of the smoothed true range made of upward directional moves."""
    return _di(high, low, close, n, True)


@njit(cache=True)
def minus_di_nb(high, low, close, n):
    """-DI: the share (0..100) of the smoothed true range made of downward directional moves."""
    return _di(high, low, close, n, False)


@njit(cache=True)
def _adx_into(h, lo, c, n, out):
    """TA-Lib ADX: DX summed over bars n..2n-1 seeds the first ADX, then Wilder smoothing.

    A bar whose DX is undefined (no range, or no directional move) leaves ADX unchanged."""
    if not _warm_up(out, 2 * n - 1):
        return
    m = c.shape[0]
    pdm = 0.0
    mdm = 0.0
    tr = 0.0
    for i in range(1, n):
        p, q = _dm(h[i], lo[i], h[i - 1], lo[i - 1])
        pdm += p
        mdm += q
        tr += _true_range(h[i], lo[i], c[i - 1])
    adx = 0.0
    hh, ll, o = h[n:], lo[n:], out[n:]
    ph, pl, pc = h[n - 1 : m - 1], lo[n - 1 : m - 1], c[n - 1 : m - 1]
    for k in range(m - n):
        p, q = _dm(hh[k], ll[k], ph[k], pl[k])
        mdm -= mdm / n
        pdm -= pdm / n
        mdm += q
        pdm += p
        tr = tr - tr / n + _true_range(hh[k], ll[k], pc[k])
        dx = -1.0  # undefined
        if tr != 0.0:
            minus = 100.0 * (mdm / tr)
            plus = 100.0 * (pdm / tr)
            s = minus + plus
            if s != 0.0:
                dx = 100.0 * (abs(minus - plus) / s)
        if k < n - 1:
            if dx >= 0.0:
                adx += dx
            continue
        if k == n - 1:
            adx = (adx + dx) / n if dx >= 0.0 else adx / n
        elif dx >= 0.0:
            adx = (adx * (n - 1) + dx) / n
        o[k] = adx


@njit(cache=True)
def adx_nb(high, low, close, n):
    """Average directional index (0..100): Wilder-smoothed |+DI - -DI| / (+DI + -DI), trend
    strength regardless of direction. First value at bar 2n-1 (TA-Lib ADX)."""
    out = np.empty(close.shape[0])
    b = _start3(high, low, close)
    out[:b] = np.nan
    _adx_into(high[b:], low[b:], close[b:], n, out[b:])
    return out
