"""Margin and liquidation maths for leveraged positions (linear USDT-margined perpetuals).

Binance USD-M formulas (../shared/venues/PROTOCOLS.md section 4.4), used by the paper executor,
the vector backtester (wrapped with numba.njit there) and the crypto adapters, so one
implementation decides when a position is liquidated everywhere:

- maintenance margin MM = notional x MMR_b - cum_b, bracket b chosen by notional;
- liquidation price, one-way mode:
  LP = (WB - TMM1 + UPNL1 + cum - side * Q * EP) / (Q * MMR - side * Q)
  with WB the wallet balance backing the position (isolated: its margin; cross: the whole
  wallet), TMM1 / UPNL1 the maintenance margin and unrealised PnL of every OTHER cross position
  (0 when isolated), side +1 long / -1 short, Q the size in units, EP the entry price;
- a position is liquidated when its margin balance (WB + unrealised PnL at mark) falls to the
  maintenance margin or below.

Plain functions of floats and float arrays only (numba-compatible). NaN means "no liquidation
price" (a fully collateralised position cannot be liquidated).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# Binance's historical BTCUSDT brackets: notional floor, maintenance margin rate, cum amount.
# The cum amounts follow cum_b = floor_b * (MMR_b - MMR_{b-1}) + cum_{b-1}.
DEFAULT_BRACKET_FLOORS: tuple[float, ...] = (
    0.0, 50_000.0, 250_000.0, 1_000_000.0, 10_000_000.0, 20_000_000.0, 50_000_000.0,
    100_000_000.0, 200_000_000.0,
)  # fmt: skip
DEFAULT_BRACKET_MMR: tuple[float, ...] = (
    0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25,
)  # fmt: skip


def bracket_cums(floors: F64, rates: F64) -> F64:
    """The cum amounts of a bracket table: cum_b = floor_b * (MMR_b - MMR_{b-1}) + cum_{b-1}."""
    cums = np.zeros(floors.shape[0], dtype=np.float64)
    for b in range(1, floors.shape[0]):
        cums[b] = floors[b] * (rates[b] - rates[b - 1]) + cums[b - 1]
    return cums


def default_brackets() -> tuple[F64, F64, F64]:
    """(floors, maintenance margin rates, cum amounts) of the default bracket table."""
    floors = np.asarray(DEFAULT_BRACKET_FLOORS, dtype=np.float64)
    rates = np.asarray(DEFAULT_BRACKET_MMR, dtype=np.float64)
    return floors, rates, bracket_cums(floors, rates)


def bracket_index(notional: float, floors: F64) -> int:
    """The bracket a notional falls in (the last floor at or below it)."""
    index = 0
    for b in range(floors.shape[0]):
        if abs(notional) >= floors[b]:
            index = b
    return index


def maintenance_margin(notional: float, rate: float, cum: float) -> float:
    """MM = |notional| x MMR - cum (never below 0)."""
    return max(0.0, abs(notional) * rate - cum)


def initial_margin(notional: float, leverage: float) -> float:
    """Margin an isolated position ties up: |notional| / leverage."""
    return abs(notional) / max(leverage, 1.0)


def liquidation_price_at(
    side: int,
    qty: float,
    entry: float,
    wallet_balance: float,
    rate: float,
    cum: float,
    other_mm: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """Binance's one-way liquidation price for one bracket (NaN when there is none)."""
    q = abs(qty)
    denominator = q * rate - side * q
    if q <= 0.0 or denominator == 0.0:
        return math.nan
    price = (wallet_balance - other_mm + other_upnl + cum - side * q * entry) / denominator
    return price if price > 0.0 else math.nan


def liquidation_price(
    side: int,
    qty: float,
    entry: float,
    wallet_balance: float,
    floors: F64,
    rates: F64,
    cums: F64,
    other_mm: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """The liquidation price with the bracket of the notional at entry, recomputed once with
    the bracket of the notional at the liquidation price when that differs (Binance FAQ)."""
    b = bracket_index(qty * entry, floors)
    price = liquidation_price_at(
        side, qty, entry, wallet_balance, rates[b], cums[b], other_mm, other_upnl
    )
    if math.isnan(price):
        return price
    at = bracket_index(qty * price, floors)
    if at != b:
        price = liquidation_price_at(
            side, qty, entry, wallet_balance, rates[at], cums[at], other_mm, other_upnl
        )
    return price


def is_liquidated(
    side: int,
    qty: float,
    entry: float,
    mark: float,
    wallet_balance: float,
    floors: F64,
    rates: F64,
    cums: F64,
    other_mm: float = 0.0,
    other_upnl: float = 0.0,
) -> bool:
    """Margin balance (wallet + unrealised PnL at mark, less other positions' needs) at or
    below this position's maintenance margin."""
    q = abs(qty)
    if q <= 0.0:
        return False
    notional = q * mark
    b = bracket_index(notional, floors)
    mm = maintenance_margin(notional, rates[b], cums[b])
    upnl = side * (mark - entry) * q
    return wallet_balance - other_mm + other_upnl + upnl <= mm
