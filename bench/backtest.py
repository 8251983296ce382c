"""Backtest engines against the bare numba loop and the peers, in one run (issue 10's targets).

Workloads on deterministic GBM 1-minute bars (numpy default_rng(42)):
- W1: EMA(10)/EMA(30) cross, long only, fee 0.1% per side, all-in, cash 10,000, 1M bars;
- W2: the same over fast 5..50 step 5 x slow 20..200 step 20 (100 combinations), 100k bars;
- W3: long/short on the same crosses with SL = 2 x ATR(14) and TP = 6 x ATR(14), 1M bars.
Signals decided at a bar's close fill at the next open; a stop or target inside a bar walks
open -> low/high -> high/low -> close. "engine" is tradeterm's vector engine in research mode
(`tradeterm.backtest.vector.signals`, indicators from `tradeterm.indicators`); "bare" the one
loop of bench/backtest_nb.py; vectorbt (`Portfolio.from_signals`, the `bench` extra) and
backtrader run the same rules where they can. Times are the best of a few runs after a warm-up
call (compilation excluded).

Also measured: the event engine against backtrader on the gate's own workload (a strategy
through the risk gate, identical trades), the first backtest in a fresh process with a warm
numba cache, and the peak RSS of a 1M-bar W3 run.
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from bench.backtest_nb import ema_cross_bare, ema_cross_grid_bare
from bench.results import machine_line, write_section
from tradeterm.backtest.vector.signals import (
    simulate_ema_cross,
    simulate_ema_cross_grid,
    simulate_signals,
)
from tradeterm.domain.series import BarSeries
from tradeterm.indicators import atr, ema

CASH = 10_000.0
FEE = 0.001
W1_BARS = 1_000_000
W2_BARS = 100_000
W3_BARS = 1_000_000
BT_BARS = 100_000
TARGETS = {"W1": 3.0, "W2": 2.0, "W3": 3.0}


def gbm_bars(n: int, seed: int = 42) -> BarSeries:
    """1-minute GBM bars: log returns N(0, 0.0008), opens at the previous close, highs and lows
    a half-normal step beyond the body."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    reach = np.abs(rng.normal(0.0, 0.0004, (2, n)))
    high = np.maximum(open_, close) * (1.0 + reach[0])
    low = np.minimum(open_, close) * (1.0 - reach[1])
    ts = 1_700_000_040_000 - 1_700_000_040_000 % 60_000 + np.arange(n, dtype=np.int64) * 60_000
    return BarSeries.from_columns(ts, open_, high, low, close, np.ones(n))


def crosses(bars: BarSeries, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    spread = ema(bars.close, fast) - ema(bars.close, slow)
    before = np.concatenate(([np.nan], spread[:-1]))
    with np.errstate(invalid="ignore"):
        return (spread > 0) & (before <= 0), (spread < 0) & (before >= 0)


def best_pair(
    engine: Callable[[], Any], bare: Callable[[], Any], runs: int = 7
) -> tuple[float, Any, float, Any]:
    """Best wall times of the engine and the bare loop, their runs interleaved (on a shared
    machine both then see the same load), after a warm-up call of each."""
    out_e, out_b = engine(), bare()
    t_e, t_b = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out_e = engine()
        t_e.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out_b = bare()
        t_b.append(time.perf_counter() - t0)
    return min(t_e), out_e, min(t_b), out_b


def best(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


# ---- the workloads on tradeterm's vector engine ------------------------------------------------
# The EMA crosses step inside the research kernel (`simulate_ema_cross*`: tradeterm.indicators'
# EMA step, no signal arrays); the ATR of W3 is the indicator's numba/TA-Lib call. The engine
# keeps its equity curve per bar in W1 and W3 (as a user's run does); the W2 grid returns each
# set's final equity and trades. `engine_w*_arrays` are the same runs fed numpy signal arrays
# (the path before the fused signals, reported beside).
def engine_w1(bars: BarSeries) -> float:
    return simulate_ema_cross(bars, 10, 30, cash=CASH, fee_rate=FEE).final_equity


def engine_w3(bars: BarSeries) -> float:
    width = atr(bars.high, bars.low, bars.close, 14)
    run = simulate_ema_cross(
        bars, 10, 30, long_short=True, stop_distance=width, stop_mult=2.0,
        target_distance=width, target_mult=6.0, cash=CASH, fee_rate=FEE,
    )  # fmt: skip
    return run.final_equity


def grid_pairs() -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    fast, slow = np.meshgrid(np.arange(5, 51, 5), np.arange(20, 201, 20), indexing="ij")
    return fast.ravel().astype(np.int64), slow.ravel().astype(np.int64)


def engine_w2(bars: BarSeries) -> np.ndarray:  # type: ignore[type-arg]
    fasts, slows = grid_pairs()
    runs = simulate_ema_cross_grid(bars, fasts, slows, cash=CASH, fee_rate=FEE)
    return np.array([r.final_equity for r in runs])


def engine_w1_arrays(bars: BarSeries) -> float:
    up, down = crosses(bars, 10, 30)
    return simulate_signals(bars, up, down, cash=CASH, fee_rate=FEE).final_equity


def engine_w3_arrays(bars: BarSeries) -> float:
    up, down = crosses(bars, 10, 30)
    width = atr(bars.high, bars.low, bars.close, 14)
    run = simulate_signals(
        bars, up, down, down, up, stop_distance=width, stop_mult=2.0, target_distance=width,
        target_mult=6.0, cash=CASH, fee_rate=FEE,
    )  # fmt: skip
    return run.final_equity


# ---- the bare loop -------------------------------------------------------------------------
def bare_w1(bars: BarSeries) -> float:
    eq, _ = ema_cross_bare(bars.open, bars.high, bars.low, bars.close, 10, 30, CASH, FEE,
                           False, 14, 0.0, 0.0)  # fmt: skip
    return float(eq)


def bare_w3(bars: BarSeries) -> float:
    eq, _ = ema_cross_bare(bars.open, bars.high, bars.low, bars.close, 10, 30, CASH, FEE,
                           True, 14, 2.0, 6.0)  # fmt: skip
    return float(eq)


def bare_w2(bars: BarSeries) -> np.ndarray:  # type: ignore[type-arg]
    fasts, slows = grid_pairs()
    return ema_cross_grid_bare(bars.open, bars.high, bars.low, bars.close, fasts, slows, CASH, FEE)


# ---- vectorbt ------------------------------------------------------------------------------
def vectorbt_w1(bars: BarSeries) -> float | None:
    try:
        import pandas as pd
        import vectorbt as vbt
    except ImportError:
        return None
    up, down = crosses(bars, 10, 30)
    shift = np.concatenate(([False], up[:-1])), np.concatenate(([False], down[:-1]))
    pf = vbt.Portfolio.from_signals(
        pd.Series(bars.close), entries=shift[0], exits=shift[1], price=bars.open, fees=FEE,
        init_cash=CASH, size=np.inf, freq="1min",
    )  # fmt: skip
    return float(pf.final_value())


def vectorbt_version() -> str:
    try:
        import vectorbt as vbt

        return str(vbt.__version__)
    except ImportError:
        return ""


# ---- backtrader (W1 on fewer bars: it is slow) ---------------------------------------------
def backtrader_w1(bars: BarSeries) -> float:
    import backtrader as bt
    import pandas as pd

    frame = pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close,
         "volume": bars.volume},
        index=pd.to_datetime(bars.open_ms, unit="ms"),
    )  # fmt: skip

    class Cross(bt.Strategy):  # type: ignore[misc]
        """At each open (cheat-on-open), act on the previous bar's cross: all-in or out."""

        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=10), bt.ind.EMA(period=30))

        def next_open(self) -> None:
            if len(self.cross) < 2:
                return
            crossed = self.cross[-1]
            if self.position and crossed < 0:
                self.close()
            elif not self.position and crossed > 0:
                price = self.data.open[0]
                # all-in; 1e-12 short of the cash, or float rounding trips the margin check
                self.buy(size=self.broker.getcash() / (price * (1.0 + FEE)) * (1 - 1e-12))

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=FEE, percabs=True)
    cerebro.broker.set_checksubmit(False)  # all-in: cost + fee is the cash, to the last bit
    cerebro.addstrategy(Cross)
    strat = cerebro.run(preload=True)[0]
    value = float(cerebro.broker.getvalue())
    held = strat.position.size  # ours closes what is open at the last close, paying the fee
    return value - held * float(bars.close[-1]) * FEE


# ---- the gate's workload: the event engine vs backtrader, identical trades ------------------
def gate_workload() -> dict[str, Any]:
    from tests.integration.parity_kit import SHARED, file_request
    from tests.integration.test_parity_backtrader import comparable_config
    from tradeterm.backtest.engines import MarketRules, run_backtest

    logging.disable(logging.WARNING)
    path = SHARED / "crypto" / "spot_UNITTESTBTC_1m_2017-11.csv"
    request = replace(
        file_request(path, "breakout", "event"),
        config=comparable_config(),
        markets={path.stem: MarketRules(tick_size=1e-8)},
    )
    n = len(request.bars[path.stem])
    t_event, event = best(lambda: run_backtest(request), runs=3)
    t_live, live = best(lambda: run_backtest(replace(request, live_windows=True)), runs=1)
    t_bt, peer = best(lambda: run_backtest(replace(request, engine="backtrader")), runs=1)
    vector = run_backtest(replace(request, engine="vector"))

    def shape(result: Any) -> list[tuple[int, int, int, str]]:
        return [(t.entry_bar, t.exit_bar, t.side, t.exit_reason) for t in result.trades]

    t_vector, _ = best(lambda: run_backtest(replace(request, engine="vector")))
    return {
        "bars": n,
        "trades": len(event.trades),
        "event_bps": n / t_event,
        "live_bps": n / t_live,
        "skipped": int(event.settings["event_bars_skipped"]),
        "bt_bps": n / t_bt,
        "vector_bps": n / t_vector,
        "same": shape(event) == shape(peer) == shape(vector) == shape(live),
    }


# ---- a fresh process, RSS ------------------------------------------------------------------
FIRST_BACKTEST = """
import time
t0 = time.perf_counter()
import logging; logging.disable(logging.WARNING)
from tradeterm.backtest.engines import BacktestRequest, run_backtest
from tradeterm.domain.series import BarSeries
from tradeterm.venues.sim.replay import load_candles
c = load_candles({path!r})
bars = BarSeries.from_columns(c.ts, c.open, c.high, c.low, c.close, c.volume)
r = run_backtest(BacktestRequest(strategy="ema_trend", timeframe="5m", bars={{"BTCUSDT": bars}}))
print(time.perf_counter() - t0, len(r.trades))
"""

RSS_W3 = """
from bench.backtest import engine_w3, gbm_bars, peak_rss_kb
bars = gbm_bars({n})
engine_w3(bars)
print(peak_rss_kb())
"""


def peak_rss_kb() -> int:
    """This process's peak RSS in kB: VmHWM of /proc/self/status (Linux), which starts afresh
    at exec; ru_maxrss elsewhere. (A child's ru_maxrss on Linux keeps the peak of the process
    image it was forked from, so a child of a big bench process reported the bench's peak.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def fresh_first_backtest(without_scipy: bool = False) -> tuple[float, float, float]:
    """(wall seconds of the whole process, seconds inside it up to the result, CPU seconds of
    the whole process: user + system, which a loaded machine inflates far less than the wall),
    best of 3 fresh processes after a warm-up one. `without_scipy`: as a tradeterm installed without the
    bench extra runs (no scipy; numba's start-up imports scipy.linalg when it can), simulated
    by blocking scipy's import in the child."""
    from tests.integration.parity_kit import SHARED

    code = FIRST_BACKTEST.format(path=str(SHARED / "crypto" / "usdm_BTCUSDT_5m_2024-02.csv"))
    if without_scipy:
        code = "import sys; sys.modules['scipy'] = None\n" + code
    # as an installed tradeterm runs: Python's bytecode cache on (a shell may have set
    # PYTHONDONTWRITEBYTECODE), so the warm-up run leaves .pyc files beside numba's cache
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    walls, insides, cpus = [], [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, env=env)  # fmt: skip
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        insides.append(float(out.stdout.split()[0]))
    return min(walls), min(insides), min(cpus)


def scipy_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("scipy") is not None


def rss_w3() -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS_W3.format(n=W3_BARS)],
        check=True, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)),
    )  # fmt: skip
    return float(out.stdout.strip()) / 1024.0


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISS"


def main() -> str:
    w1 = gbm_bars(W1_BARS)
    w2 = gbm_bars(W2_BARS)
    rows = []
    t_e1, e1, t_b1, b1 = best_pair(lambda: engine_w1(w1), lambda: bare_w1(w1))
    t_a1, a1 = best(lambda: engine_w1_arrays(w1), runs=7)
    t_v1, v1 = best(lambda: vectorbt_w1(w1), runs=2)
    bt_bars = gbm_bars(BT_BARS)
    t_bt1, bt1 = best(lambda: backtrader_w1(bt_bars), runs=1)
    rows.append(("W1", W1_BARS, t_e1, t_b1, e1, b1))
    t_e2, e2, t_b2, b2 = best_pair(lambda: engine_w2(w2), lambda: bare_w2(w2))
    rows.append(("W2", W2_BARS, t_e2, t_b2, float(e2.sum()), float(b2.sum())))
    t_e3, e3, t_b3, b3 = best_pair(lambda: engine_w3(w1), lambda: bare_w3(w1))
    t_a3, a3 = best(lambda: engine_w3_arrays(w1), runs=7)
    rows.append(("W3", W3_BARS, t_e3, t_b3, e3, b3))
    gate = gate_workload()
    wall, inside, cpu = fresh_first_backtest()
    bare_install = fresh_first_backtest(without_scipy=True) if scipy_installed() else None
    rss = rss_w3()
    lines = [
        f"{machine_line()}; numba {__import__('numba').__version__}, "
        f"vectorbt {vectorbt_version() or 'not installed'}, backtrader "
        f"{__import__('backtrader').__version__}.",
        "GBM 1-minute bars (default_rng(42)); best of 7 runs after a warm-up call, engine and "
        "bare interleaved (W1 vectorbt best of 2, backtrader 1 run); engine = the research "
        "kernel with the EMA crosses stepping inside it (`simulate_ema_cross*`; W3's ATR from "
        "tradeterm.indicators), equity per bar kept in W1 and W3, the W2 grid in one compiled "
        "call; bare = bench/backtest_nb.py.",
        "",
        "| workload | bars | engine s | bare s | engine / bare | target | | engine final "
        "equity | bare final equity |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name, n, te, tb, fe, fb in rows:
        ratio = te / tb
        lines.append(
            f"| {name} | {n:,} | {te:.3f} | {tb:.3f} | {ratio:.2f}x | <= {TARGETS[name]:g}x | "
            f"{verdict(ratio <= TARGETS[name])} | {fe:,.4f} | {fb:,.4f} |"
        )
    lines += [
        "",
        "The same engine fed numpy signal arrays (crosses computed with numpy from "
        "tradeterm.indicators.ema, `simulate_signals`): "
        f"W1 {t_a1:.3f} s ({t_a1 / t_b1:.2f}x the bare loop), "
        f"W3 {t_a3:.3f} s ({t_a3 / t_b3:.2f}x); final equity "
        f"{'identical' if (a1, a3) == (e1, e3) else 'DIFFERENT'}.",
    ]
    lines += ["", "Peers on W1:", "", "| peer | bars | s | / bare (same bars) | final equity |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    if v1 is None:
        lines.append("| vectorbt | - | - | - | not installed (`pip install -e '.[bench]'`) |")
    else:
        lines.append(f"| vectorbt | {W1_BARS:,} | {t_v1:.3f} | {t_v1 / t_b1:.1f}x | {v1:,.4f} |")
    bare_bt = t_b1 * BT_BARS / W1_BARS
    lines.append(
        f"| backtrader | {BT_BARS:,} | {t_bt1:.2f} | {t_bt1 / bare_bt:.0f}x (bare scaled to "
        f"{BT_BARS:,}) | {bt1:,.4f} |"
    )
    ratio = gate["event_bps"] / gate["bt_bps"]
    lines += [
        "",
        "The gate's workload (spot_UNITTESTBTC_1m_2017-11, breakout, default costs with the "
        "left-out rules neutralised as in tests/integration/test_parity_backtrader.py): "
        f"{gate['bars']:,} bars, {gate['trades']} trades, same trades in all four (vector, "
        f"event, event with live windows, backtrader): "
        f"{'yes' if gate['same'] else 'NO'}.",
        "",
        "| engine | bars/s |",
        "|---|---:|",
        f"| vector | {gate['vector_bps']:,.0f} |",
        f"| event (the node; default: strategy preloaded, idle bars skipped) | "
        f"{gate['event_bps']:,.0f} |",
        f"| event `--live-windows` (rolling window every bar, every bar played, as live) | "
        f"{gate['live_bps']:,.0f} |",
        f"| backtrader peer | {gate['bt_bps']:,.0f} |",
        "",
        f"The default event run skipped {gate['skipped']:,} of {gate['bars']:,} bars (the node "
        "idle, no signal due); it played the rest tick by tick through the whole node.",
        f"Event engine / backtrader: {ratio:.2f}x (live windows "
        f"{gate['live_bps'] / gate['bt_bps']:.2f}x), target >= 20x: {verdict(ratio >= 20)}.",
        f"First backtest in a fresh process, warm numba cache (vector, ema_trend, 5,041 bars; "
        f"best of 3 processes after a warm-up one, bytecode cache on; this environment"
        f"{', with scipy (the bench extra)' if bare_install else ''}): {wall:.2f} s wall "
        f"({inside:.2f} s from the first import to the result; {cpu:.2f} CPU s), target < 1 s "
        f"wall: {verdict(wall < 1.0)}.",
    ]
    if bare_install is not None:
        lines.append(
            "The same without scipy, as tradeterm installs without the bench extra (numba's "
            "start-up imports scipy.linalg when scipy is there; its import blocked in the "
            f"child): {bare_install[0]:.2f} s wall ({bare_install[1]:.2f} s inside; "
            f"{bare_install[2]:.2f} CPU s), target < 1 s wall: {verdict(bare_install[0] < 1.0)}."
        )
    lines += [
        f"Peak RSS of a 1M-bar W3 run (a fresh process: bars, ATR, the run; VmHWM): {rss:.0f} "
        f"MB, target < 300 MB: {verdict(rss < 300)}.",
    ]
    text = "\n".join(lines)
    write_section(
        "backtest", "Backtest engines: vector, bare loop, vectorbt, backtrader, event", text
    )
    return text


if __name__ == "__main__":
    print(main())
    print(
        f"(peak RSS of this bench process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
