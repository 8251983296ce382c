"""The per-pair slippage models in force, and the job that refits them from recorded fills.

`refit` reads every pair's fills of the last `window_days` from each wallet database (paper and
live separately: their fills are different evidence), fits the pairs with at least
`min_fills` taker fills (tradeterm.domain.slippage.fit_slippage) and appends the fits to that
database's `slippage_fits`. `fit(key)` is the model for a market: a live fit when there is
one (real fills), else a paper one.

With `costs.slippage = "fitted"` the node prices trades with them: `cost_model` puts a pair's
fitted fixed bps and ATR coefficient into the venue's cost model (the gate's and backtests'
terms), `fill_model` gives paper matching the fitted slippage at the pair's median volatility
(the matching model has no ATR). Pairs without a fit keep the configured model. With
`costs.fees = "venue"` both take the venue's maker/taker rates for the market when it reports
them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from tradeterm.clock import Clock
from tradeterm.config.models import CostsConfig, FillModelConfig
from tradeterm.domain.costs import CostModel
from tradeterm.domain.slippage import SlippageFit, fit_slippage
from tradeterm.errors import StorageError
from tradeterm.storage import slippage as slip_db
from tradeterm.storage.db import Storage

log = logging.getLogger(__name__)

DAY_MS = 86_400_000

FeeRates = Callable[[str, str], tuple[float, float] | None]
"""(venue, symbol) -> the venue's (maker, taker) fee rates for the market, None when unknown."""


def load_fits(stores: list[Storage]) -> dict[str, SlippageFit]:
    """The newest fit per market key across databases, a later database winning (pass paper
    first, live last: live fits are real fills)."""
    fits: dict[str, SlippageFit] = {}
    for store in stores:
        fits.update(slip_db.latest_fits(store))
    return fits


def apply_fit(model: CostModel, fit: SlippageFit | None) -> CostModel:
    """`model` with a fitted pair's slippage terms (unchanged without a fit)."""
    if fit is None:
        return model
    return replace(model, slippage_bps=fit.fixed_bps, slippage_atr=fit.atr_coef)


class SlippageBook:
    """Fitted per-pair slippage (and venue fee tiers) for the node's cost model and paper fills."""

    def __init__(
        self,
        config: CostsConfig,
        clock: Clock,
        stores: list[Storage],
        *,
        fee_rates: FeeRates | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._stores = stores
        self._fee_rates = fee_rates
        self.fits: dict[str, SlippageFit] = load_fits(stores)
        self.refits = 0

    @property
    def fitted(self) -> bool:
        return self.config.slippage == "fitted"

    def fit(self, key: str) -> SlippageFit | None:
        return self.fits.get(key)

    def refit(self) -> list[SlippageFit]:
        """Fit every pair with enough fills in the window; returns the new fits."""
        now = self._clock.now_ms()
        since = now - int(self.config.window_days * DAY_MS)
        made: list[SlippageFit] = []
        for store in self._stores:
            for venue, symbol, _n in slip_db.pairs(store):
                samples = slip_db.load_samples(store, venue, symbol, since_ms=since)
                taker = [s for s in samples if s.liquidity == "taker"]
                if len(taker) < self.config.min_fills:
                    continue
                fit = fit_slippage(venue, symbol, taker, now)
                if fit is not None:
                    slip_db.save_fit(store, fit)
                    made.append(fit)
        self.fits = load_fits(self._stores)
        self.refits += 1
        return made

    async def run(self) -> None:
        """Refit every `refit_every_s` seconds on the clock (a node task)."""
        while True:
            await self._clock.sleep(self.config.refit_every_s)
            try:
                made = self.refit()
                if made:
                    log.info("slippage refit: %d pair(s)", len(made))
            except StorageError as exc:
                log.warning("slippage refit failed: %s", exc)

    # ---- the models in force -----------------------------------------------------------------
    def _fees(self, venue: str, symbol: str) -> tuple[float, float] | None:
        if self.config.fees != "venue" or self._fee_rates is None:
            return None
        return self._fee_rates(venue, symbol)

    def cost_model(self, venue: str, symbol: str, model: CostModel) -> CostModel:
        """The cost model in force for a market, from the configured one."""
        fees = self._fees(venue, symbol)
        if fees is not None:
            model = replace(model, maker_fee_rate=fees[0], taker_fee_rate=fees[1])
        if self.fitted:
            model = apply_fit(model, self.fit(f"{venue}:{symbol}"))
        return model

    def fill_model(self, venue: str, symbol: str, base: FillModelConfig) -> FillModelConfig | None:
        """A paper market's own fill model (None: the venue's configured one)."""
        update: dict[str, float] = {}
        fees = self._fees(venue, symbol)
        if fees is not None:
            update["maker_fee_rate"], update["taker_fee_rate"] = fees
        fit = self.fit(f"{venue}:{symbol}") if self.fitted else None
        if fit is not None:
            update["slippage_bps"] = min(500.0, fit.expected_bps())
        return base.model_copy(update=update) if update else None
