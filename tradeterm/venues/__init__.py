"""Venues: one shape for every adapter (DataClient / ExecClient), capabilities as data."""
