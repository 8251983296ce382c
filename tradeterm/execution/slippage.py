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

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from tradeterm.clock import Clock
from tradeterm.config.models import CostsConfig, FillModelConfig, TradetermConfig
from tradeterm.domain.costs import CostModel
from tradeterm.domain.slippage import SlippageFit, SlippageStats, fit_slippage, summarize
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
        made = [fit for fit in self._refit_pairs() if fit is not None]
        self._loaded()
        return made

    async def refit_async(self) -> list[SlippageFit]:
        """`refit`, yielding to the event loop after each pair (a node with many pairs and
        fills keeps streaming while it refits: about 30 ms per 1000 fills on a desktop)."""
        made: list[SlippageFit] = []
        for fit in self._refit_pairs():
            if fit is not None:
                made.append(fit)
            await asyncio.sleep(0)
        self._loaded()
        return made

    def _refit_pairs(self) -> Iterator[SlippageFit | None]:
        """Each pair's new fit (None: too few fills), stored as it is made."""
        now = self._clock.now_ms()
        since = now - int(self.config.window_days * DAY_MS)
        for store in self._stores:
            for venue, symbol, _n in slip_db.pairs(store):
                samples = slip_db.load_samples(store, venue, symbol, since_ms=since)
                taker = [s for s in samples if s.liquidity == "taker"]
                fit = None
                if len(taker) >= self.config.min_fills:
                    fit = fit_slippage(venue, symbol, taker, now)
                    if fit is not None:
                        slip_db.save_fit(store, fit)
                yield fit

    def _loaded(self) -> None:
        self.fits = load_fits(self._stores)
        self.refits += 1

    async def run(self) -> None:
        """Refit every `refit_every_s` seconds on the clock (a node task)."""
        while True:
            await self._clock.sleep(self.config.refit_every_s)
            try:
                made = await self.refit_async()
                if made:
                    log.info("slippage refit: %d pair(s)", len(made))
            except (StorageError, sqlite3.Error) as exc:  # next round tries again
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


# ---- the report (`tradeterm slippage show`, the console's slippage screen) ------------------------
@dataclass(frozen=True, slots=True)
class SlippageRow:
    """One pair in one wallet database: its recorded slippage, its newest fit, the configured
    slippage it would otherwise be priced with, and which of the two is in force."""

    book: str
    stats: SlippageStats
    fit: SlippageFit | None
    configured_bps: float
    in_force: str

    @property
    def key(self) -> str:
        return self.stats.key


def configured_slippage_bps(config: TradetermConfig, venue: str) -> float:
    """The configured slippage of a venue's fills (its fill model; the default model when the
    venue has none)."""
    vcfg = config.venues.get(venue)
    model = getattr(vcfg, "fill_model", None) if vcfg is not None else None
    return (model if isinstance(model, FillModelConfig) else FillModelConfig()).slippage_bps


def pair_matches(pair: str, venue: str, symbol: str) -> bool:
    """`pair` names this market: "venue:symbol", or the symbol alone (case-insensitive)."""
    wanted = pair.strip().lower()
    return wanted in (f"{venue}:{symbol}".lower(), symbol.lower())


def slippage_report(
    stores: Sequence[tuple[str, Storage]], config: TradetermConfig, pair: str | None = None
) -> list[SlippageRow]:
    """Rows for every pair with recorded fills in each (name, database), `pair` only if set."""
    fitted = config.costs.slippage == "fitted"
    rows: list[SlippageRow] = []
    for book, store in stores:
        fits = slip_db.latest_fits(store)
        for venue, symbol, _n in slip_db.pairs(store):
            if pair is not None and not pair_matches(pair, venue, symbol):
                continue
            stats = summarize(venue, symbol, slip_db.load_samples(store, venue, symbol))
            fit = fits.get(f"{venue}:{symbol}")
            in_force = "fitted" if fitted and fit is not None else "configured"
            rows.append(
                SlippageRow(book, stats, fit, configured_slippage_bps(config, venue), in_force)
            )
    return rows


REPORT_HEADERS = (
    "Book", "Pair", "Fills", "Mean bps", "Median bps", "p90 bps", "Fitted bps", "Config bps",
    "In force", "Fit n", "Fixed bps", "ATR coef", "Resid bps",
)  # fmt: skip
IN_FORCE_COLUMN = REPORT_HEADERS.index("In force")


def report_cells(row: SlippageRow) -> tuple[str, ...]:
    """The row as the table's text cells (REPORT_HEADERS)."""
    s, fit = row.stats, row.fit
    if fit is None:
        fitted_bps, details = "-", ("-", "-", "-", "-")
    else:
        fitted_bps = f"{fit.expected_bps():.2f}"
        details = (str(fit.n), f"{fit.fixed_bps:.2f}", f"{fit.atr_coef:.4f}", f"{fit.residual:.2f}")
    return (
        row.book,
        s.key,
        str(s.n),
        f"{s.mean_bps:+.2f}",
        f"{s.median_bps:+.2f}",
        f"{s.p90_bps:+.2f}",
        fitted_bps,
        f"{row.configured_bps:.2f}",
        row.in_force,
        *details,
    )


def report_text(rows: Sequence[SlippageRow]) -> str:
    """A plain aligned table (adverse slippage positive, bps of the decision price)."""
    table = [REPORT_HEADERS, *(report_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(REPORT_HEADERS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 or i == IN_FORCE_COLUMN else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]
    return "\n".join(lines)


def report_json(rows: Sequence[SlippageRow]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for row in rows:
        s, fit = row.stats, row.fit
        out.append(
            {
                "book": row.book,
                "venue": s.venue,
                "symbol": s.symbol,
                "fills": s.n,
                "mean_bps": s.mean_bps,
                "median_bps": s.median_bps,
                "p90_bps": s.p90_bps,
                "fit": None
                if fit is None
                else {
                    "n": fit.n,
                    "fitted_ms": fit.fitted_ms,
                    "fixed_bps": fit.fixed_bps,
                    "atr_coef": fit.atr_coef,
                    "residual_bps": fit.residual,
                    "vol_bps": fit.vol_bps,
                },
                "configured_bps": row.configured_bps,
                "in_force": row.in_force,
            }
        )
    return out
