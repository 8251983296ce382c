"""The per-pair slippage fit recovers the cost model's terms from noisy fills, resists
outliers and never prices favourable slippage."""

from __future__ import annotations

import random

import pytest

from tradeterm.domain.costs import slip_fraction
from tradeterm.domain.slippage import (
    SlippageSample,
    fit_slippage,
    percentile,
    slippage_bps,
    summarize,
)


def _sample(
    i: int, bps: float, vol_bps: float, *, half: float = 0.0, liq: str = "taker"
) -> SlippageSample:
    return SlippageSample(f"f{i}", f"o{i}", "paper:crypto_perp", "bybit", "BTCUSDT", 1, "entry",
                          liq, 1.0, 100.0, 100.0, 100.0, bps + half, half, vol_bps / 100.0,
                          vol_bps, i)  # fmt: skip


def test_slippage_is_signed_adverse_positive() -> None:
    assert slippage_bps(1, 100.0, 100.1) == pytest.approx(10.0)  # bought above
    assert slippage_bps(-1, 100.0, 99.9) == pytest.approx(10.0)  # sold below
    assert slippage_bps(1, 100.0, 99.95) == pytest.approx(-5.0)  # price improvement


def test_fit_recovers_fixed_and_vol_scaled_terms_despite_outliers() -> None:
    rng = random.Random(7)
    fixed, coef = 3.0, 0.05
    samples = []
    for i in range(400):
        vol = rng.uniform(20.0, 200.0)
        samples.append(_sample(i, fixed + coef * vol + rng.gauss(0.0, 0.5), vol, half=4.0))
    samples += [_sample(1000 + i, 500.0, 50.0) for i in range(8)]  # fat-finger fills
    samples += [_sample(2000 + i, 99.0, 50.0, liq="maker") for i in range(20)]  # not fitted
    fit = fit_slippage("bybit", "BTCUSDT", samples, 123)
    assert fit is not None
    assert fit.n == 408
    assert fit.fixed_bps == pytest.approx(fixed, abs=0.5)
    assert fit.atr_coef == pytest.approx(coef, abs=0.006)
    assert fit.residual < 3.0
    # in the cost model's terms: the same fraction slip_fraction computes
    price, atr = 100.0, 1.2
    assert slip_fraction(fit.fixed_bps, fit.atr_coef, atr, price) * 1e4 == pytest.approx(
        fit.expected_bps(atr / price * 1e4)
    )


def test_without_volatility_spread_the_fit_is_the_median_and_never_negative() -> None:
    flat = [_sample(i, b, 80.0) for i, b in enumerate([1.0, 2.0, 2.5, 3.0, 250.0])]
    fit = fit_slippage("bybit", "BTCUSDT", flat, 0)
    assert fit is not None and fit.atr_coef == 0.0 and fit.fixed_bps == pytest.approx(2.5)
    better = [_sample(i, -3.0 + 0.01 * i, 50.0 + i) for i in range(30)]  # favourable fills
    fit = fit_slippage("bybit", "BTCUSDT", better, 0)
    assert fit is not None and fit.fixed_bps == 0.0 and fit.atr_coef >= 0.0
    assert fit_slippage("bybit", "BTCUSDT", [_sample(0, 1.0, 1.0, liq="maker")], 0) is None


def test_summary_statistics() -> None:
    stats = summarize("bybit", "BTCUSDT", [_sample(i, float(i), 10.0) for i in range(1, 11)])
    assert (stats.n, stats.mean_bps, stats.median_bps) == (10, 5.5, 5.5)
    assert stats.p90_bps == pytest.approx(percentile([float(i) for i in range(1, 11)], 0.9))
    assert stats.p90_bps == pytest.approx(9.1)
