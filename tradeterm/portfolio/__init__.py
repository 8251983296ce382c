"""Wallets per domain and mode (never cross-funded), net positions, PnL, equity and exposure."""

from typing import TYPE_CHECKING

from tradeterm.imports import lazy_exports

if TYPE_CHECKING:
    from tradeterm.portfolio.book import FillOutcome, Portfolio

__all__ = ["FillOutcome", "Portfolio"]

__getattr__ = lazy_exports(
    __name__,
    {
        "FillOutcome": "tradeterm.portfolio.book",
        "Portfolio": "tradeterm.portfolio.book",
    },
)
