"""tradeterm: a keyboard-driven terminal console and headless daemon for a portfolio of strategies."""

__version__ = "0.1.0"
