"""`python -m bench.calibration`: calibration throughput and Optuna's own cost per trial.

- trials per minute of `tradeterm calibrate`'s runner (TPE, SQLite WAL storage, the vector
  engine) on a 15m BTC year-equivalent series (35,040 bars: a random walk resampling the real
  BTCUSDT 15m returns, drift removed, and wicks, seed 20240222), ema_trend with leverage 1..10 and both margin
  modes, with 1 and 2 worker processes (the 2-job figure includes spawning the workers and
  loading the numba cache in each);
- Optuna's overhead per trial: ask, sample the same search space, tell, with no backtest, on the
  same SQLite WAL storage (what a trial costs besides the backtest) and in memory.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from bench.indicators import shared_data_dir
from bench.results import machine_line, write_section
from tradeterm.calibration.memory import MemoryGuard
from tradeterm.calibration.space import build_space
from tradeterm.calibration.storage import open_storage
from tradeterm.calibration.study import StudySettings, run_study
from tradeterm.calibration.task import CalibrationTask
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries

SEED = 20240222
N_BARS = 35_040  # a year of 15m bars
BAR_MS = 900_000
START_MS = 1_672_531_200_000  # 2023-01-01 UTC
TRIALS = 60
OVERHEAD_TRIALS = 100
CASH = 10_000.0  # 5% of it buys more than BTC's 0.001 lot


def year_of_btc_15m() -> BarSeries:
    real = pd.read_csv(shared_data_dir() / "crypto" / "usdm_BTCUSDT_15m_2024-02.csv")
    o, h, lo, c = (real[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    returns = np.diff(np.log(c))
    returns = returns - returns.mean()  # no drift: the year stays near BTC's real price
    upper = np.log(h / np.maximum(o, c))[1:]
    lower = np.log(np.minimum(o, c) / lo)[1:]
    pick = np.random.default_rng(SEED).integers(0, returns.shape[0], N_BARS)
    close = np.round(c[0] * np.exp(np.cumsum(returns[pick])), 1)
    open_ = np.concatenate(([c[0]], close[:-1]))
    high = np.round(np.maximum(open_, close) * np.exp(upper[pick]), 1)
    low = np.round(np.minimum(open_, close) * np.exp(-lower[pick]), 1)
    ts = START_MS + np.arange(N_BARS, dtype=np.int64) * BAR_MS
    return BarSeries.from_columns(ts, open_, high, low, close, np.ones(N_BARS))


def task() -> CalibrationTask:
    space = build_space("ema_trend", leverage_max=10, margin="both")
    return CalibrationTask(
        "ema_trend", "15m", {"BTCUSDT": year_of_btc_15m()}, space, domain=Domain.CRYPTO_PERP,
        cash=CASH,
    )  # fmt: skip


def trials_per_minute(jobs: int, folder: Path) -> tuple[float, str, float]:
    settings = StudySettings(
        f"sqlite:///{folder / f'jobs{jobs}.db'}", "bench", TRIALS, jobs=jobs, seed=1,
        guard=MemoryGuard(0, 0, 0),
    )  # fmt: skip
    started = time.perf_counter()
    report = run_study(task(), settings, poll_s=0.2)
    seconds = time.perf_counter() - started
    states = ", ".join(f"{n} {k.lower()}" for k, n in sorted(report.progress.by_state.items()))
    return TRIALS / seconds * 60.0, states, report.peak_rss_bytes / 2**20


def overhead_ms(url: str | None) -> float:
    space = build_space("ema_trend", leverage_max=10, margin="both")
    storage = open_storage(url) if url else None  # the calibrator's own storage set-up
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.TPESampler(seed=1)
    )
    started = time.perf_counter()
    for i in range(OVERHEAD_TRIALS):
        trial = study.ask()
        space.suggest(trial)
        study.tell(trial, float(i % 7))
    return (time.perf_counter() - started) / OVERHEAD_TRIALS * 1000.0


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from tradeterm.backtest.engines import run_backtest

    warm = task()  # compile (or load) the numba kernels first: not part of any figure
    params, lev, margin = warm.space.split(dict(warm.space.fixed))
    run_backtest(warm.request(params, lev, margin))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            rate, done, rss = trials_per_minute(jobs, Path(tmp))
            rows.append(f"| {jobs} | {rate:.1f} | {done} | {rss:.0f} |")
            print(f"jobs {jobs}: {rate:.1f} trials/min ({done} trials), peak RSS {rss:.0f} MB")
        sqlite_ms = overhead_ms(f"sqlite:///{Path(tmp) / 'overhead.db'}")
    memory_ms = overhead_ms(None)
    print(f"optuna overhead per trial: sqlite {sqlite_ms:.1f} ms, in memory {memory_ms:.1f} ms")
    body = f"""{machine_line()}; optuna {optuna.__version__}.
{N_BARS:,} bars of 15m BTC (real BTCUSDT 15m returns resampled, drift removed, seed {SEED}); ema_trend over its
Params bounds + leverage 1..10 + margin mode; cash {CASH:,.0f}; TPE seeded; vector engine; {TRIALS} trials per run;
SQLite WAL storage. Pruned trials include invalid points (fast >= slow) and the liquidated
ones; they cost little, so the rate depends on the mix. The machine is shared with other work while this runs: read the figures as
an order of magnitude, not a precise speed-up.

| jobs | trials / minute | trials by state | peak worker RSS MB |
|---:|---:|---:|---:|
{chr(10).join(rows)}

Optuna's own cost per trial (ask + sample the same space + tell, no backtest, {OVERHEAD_TRIALS}
trials): {sqlite_ms:.1f} ms on the SQLite WAL storage, {memory_ms:.1f} ms in memory."""
    write_section("calibration", "Calibration: trials per minute and Optuna overhead", body)


if __name__ == "__main__":
    sys.exit(main())
