"""What every backtest engine returns: one `BacktestResult` with its trades and equity curve.

The vector engine, the event engine (the real node on a SimClock) and the backtrader peer all
produce this shape, so metrics, reports, charts, parity checks and the console read one thing.
Times are epoch milliseconds UTC; money is in the wallet's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BacktestTrade:
    """One round trip. `side` is +1 long / -1 short; bars index the run's time axis.

    pnl is net (after fees and funding); r_multiple is pnl over risk_amount (the money the gate
    planned to risk); exit_reason is the closing order's reason ("stop_loss", "take_profit",
    "trailing_stop", "time_stop", "max_hold", "liquidation", "end_of_data", ...).
    """

    symbol: str
    side: int
    entry_bar: int
    exit_bar: int
    entry_ms: int
    exit_ms: int
    qty: float
    entry_price: float
    exit_price: float
    pnl: float
    fees: float
    funding: float
    risk_amount: float
    r_multiple: float
    exit_reason: str
    strategy: str = ""

    @property
    def won(self) -> bool:
        return self.pnl > 0


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """A finished run: settings, the equity curve on the bar axis, the buy-and-hold benchmark
    of the same capital over the same bars, and every trade.

    liquidation_bar is the bar of the first liquidation (-1: none); warnings carry what the
    user must know (gaps in the data, bars both stop and target touched, ...).
    """

    engine: str
    strategy: str
    params: dict[str, float | int | bool | str]
    symbols: tuple[str, ...]
    timeframe: str
    initial_cash: float
    ts: I64
    equity: F64
    hodl: F64
    trades: tuple[BacktestTrade, ...]
    fees_paid: float = 0.0
    funding_paid: float = 0.0
    liquidated: bool = False
    liquidation_bar: int = -1
    warnings: tuple[str, ...] = ()
    settings: dict[str, float | int | bool | str] = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if self.equity.size else self.initial_cash

    @property
    def start_ms(self) -> int:
        return int(self.ts[0]) if self.ts.size else 0

    @property
    def end_ms(self) -> int:
        return int(self.ts[-1]) if self.ts.size else 0
