"""The bars (and funding) a calibration runs on, found by symbol.

- Without `--data`: exactly as `tradeterm backtest` resolves them (`BacktestService.resolve_data`):
  the candle store under any venue (or `--venue`) with the funding store, else a synthetic index
  of the sim venue as a deterministic generated history, so the default offline config
  calibrates with no data at all.
- `--data DIR`: files `*_{SYMBOL}_{TIMEFRAME}_*.csv|parquet` in DIR (the shared data layout,
  e.g. `usdm_BTCUSDT_15m_2024-02.csv`) with their funding `*_{SYMBOL}_8h_funding_*.csv` when
  there; `usdm_` files trade as perpetuals, `spot_` files as spot. No import step needed.
`--from/--to` (UTC dates) or `--days N` cut the range. Every problem is a UserError naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tradeterm.backtest.engines import FundingSeries, MarketRules
from tradeterm.backtest.service import BacktestOptions, BacktestService
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.enums import Domain
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import UserError
from tradeterm.marketdata.importer import read_bar_file

DAY_MS = 86_400_000


@dataclass(frozen=True)
class ResolvedData:
    bars: dict[str, BarSeries]
    funding: dict[str, FundingSeries]
    domain: Domain
    sources: dict[str, str]
    markets: dict[str, MarketRules] = field(default_factory=dict)


def parse_day(text: str, what: str) -> int:
    """Epoch ms of a YYYY-MM-DD (or ISO) UTC date."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what} {text!r}: expected a date like 2024-03-01") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _find(folder: Path, symbol: str, middle: str) -> Path | None:
    found = sorted(
        p
        for p in folder.glob(f"*_{symbol}_{middle}_*")
        if p.suffix.lower() in (".csv", ".parquet", ".pq")
    )
    return found[0] if found else None


def read_funding(path: Path) -> FundingSeries:
    """A `ts,rate` funding file (the shared data layout)."""
    ts: list[int] = []
    rate: list[float] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if [h.strip() for h in header[:2]] != ["ts", "rate"]:
            raise UserError(f"{path}: expected a header 'ts,rate' for a funding file")
        for line, row in enumerate(reader, start=2):
            try:
                ts.append(int(row[0]))
                rate.append(float(row[1]))
            except (IndexError, ValueError):
                raise UserError(f"{path}: line {line}: expected ts,rate numbers") from None
    return FundingSeries(np.array(ts, dtype=np.int64), np.array(rate, dtype=np.float64))


def _cut(bars: BarSeries, start_ms: int | None, end_ms: int | None) -> BarSeries:
    lo = 0 if start_ms is None else int(np.searchsorted(bars.open_ms, start_ms, "left"))
    hi = len(bars) if end_ms is None else int(np.searchsorted(bars.open_ms, end_ms, "left"))
    return bars.slice(slice(lo, hi))


def _range(
    start: str | None, end: str | None, days: int | None, last_ms: int
) -> tuple[int | None, int | None]:
    end_ms = parse_day(end, "--to") if end else None
    start_ms = parse_day(start, "--from") if start else None
    if days is not None:
        if days <= 0:
            raise UserError(f"--days {days}: give a positive number of days")
        start_ms = (end_ms if end_ms is not None else last_ms + 1) - days * DAY_MS
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise UserError("--from must be before --to")
    return start_ms, end_ms


def resolve(
    symbols: Sequence[str],
    timeframe: str,
    *,
    config: TradetermConfig | None = None,
    strategy: str = "",
    data_dir: str | None = None,
    state_dir: str = "state",
    venue: str | None = None,
    start: str | None = None,
    end: str | None = None,
    days: int | None = None,
    domain: Domain | None = None,
) -> ResolvedData:
    """Bars and funding for `symbols` on `timeframe` (see the module text)."""
    try:
        timeframe_ms(timeframe)
    except ValueError as exc:
        raise UserError(f"--timeframe: {exc}") from None
    if not symbols:
        raise UserError("calibrate: give at least one --symbol")
    if not data_dir:
        return _from_service(
            symbols, timeframe, config or TradetermConfig(), strategy, state_dir, venue,
            (start, end, days), domain,
        )  # fmt: skip
    bars: dict[str, BarSeries] = {}
    funding: dict[str, FundingSeries] = {}
    sources: dict[str, str] = {}
    kinds: set[Domain] = set()
    for symbol in symbols:
        series, kind, source = _one(symbol, timeframe, data_dir)
        bars[symbol], sources[symbol] = series, source
        kinds.add(kind)
        if kind == Domain.CRYPTO_PERP:
            fpath = _find(Path(data_dir), symbol, "8h_funding")
            if fpath is not None:
                funding[symbol] = read_funding(fpath)
                sources[symbol] += f" + funding {fpath.name}"
    chosen = domain or (kinds.pop() if len(kinds) == 1 else None)
    if chosen is None:
        raise UserError("calibrate: the symbols trade in different domains; pass --domain")
    last = max(int(b.open_ms[-1]) for b in bars.values())
    start_ms, end_ms = _range(start, end, days, last)
    for symbol in list(bars):
        cut = _cut(bars[symbol], start_ms, end_ms)
        if len(cut) < 50:
            raise UserError(f"calibrate: {symbol} has {len(cut)} {timeframe} bars in the range")
        bars[symbol] = cut
    sources = {s: f"{text} ({len(bars[s])} bars)" for s, text in sources.items()}
    return ResolvedData(bars, funding, chosen, sources)


def _one(symbol: str, timeframe: str, data_dir: str) -> tuple[BarSeries, Domain, str]:
    folder = Path(data_dir)
    if not folder.is_dir():
        raise UserError(f"--data {data_dir}: not a folder")
    path = _find(folder, symbol, timeframe)
    if path is None:
        raise UserError(
            f"--data {data_dir}: no file *_{symbol}_{timeframe}_*.csv|parquet for --symbol {symbol}"
        )
    kind = Domain.CRYPTO_SPOT if path.name.startswith("spot_") else Domain.CRYPTO_PERP
    return read_bar_file(path, timeframe), kind, str(path)


def _from_service(
    symbols: Sequence[str],
    timeframe: str,
    config: TradetermConfig,
    strategy: str,
    state_dir: str,
    venue: str | None,
    span: tuple[str | None, str | None, int | None],
    domain: Domain | None,
) -> ResolvedData:
    start, end, days = span
    if days is not None and days <= 0:
        raise UserError(f"--days {days}: give a positive number of days")
    options = BacktestOptions(
        symbols=tuple(symbols), venue=venue or "", timeframe=timeframe,
        start_ms=parse_day(start, "--from") if start else None,
        end_ms=parse_day(end, "--to") if end else None,
        days=float(days) if days is not None else None, domain=domain,
    )  # fmt: skip
    service = BacktestService(config, state_dir=state_dir)
    data = service.resolve_data(symbols, timeframe, options, strategy=strategy)
    sources = {s: f"{data.source} ({len(data.bars[s])} bars)" for s in data.bars}
    for symbol, series in data.bars.items():
        if len(series) < 50:
            raise UserError(f"calibrate: {symbol} has {len(series)} {timeframe} bars in the range")
    return ResolvedData(
        dict(data.bars), dict(data.funding), data.domain, sources, dict(data.markets)
    )
