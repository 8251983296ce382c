"""The vector engine: numba kernels (`nb.py`), record dtypes (`records.py`) and a thin typed
wrapper (`wrapper.py`) that turns a BacktestRequest into one kernel call."""
