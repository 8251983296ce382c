"""Wallets per domain and mode (never cross-funded), net positions, PnL, equity and exposure."""

from tradeterm.portfolio.book import FillOutcome, Portfolio

__all__ = ["FillOutcome", "Portfolio"]
