"""The calibration lab: Optuna searches over a strategy's parameters, leverage and margin mode,
scored on the vector backtester, with liquidated trials discarded, and promotion of the best
trial into the active configs the node reads at start."""
