"""Candle file import: read a CSV or parquet bar file, check it, and merge it into the store.

The file format is the shared data format: columns `ts,open,high,low,close,volume`, `ts` = bar
open as integer epoch milliseconds UTC. Every problem is a `DataError` with ONE line that names
the file and where the problem is: `line N` for CSV (the header is line 1, as an editor shows it),
`row N` for parquet (1-based). An empty volume cell reads as 0 (mark-price candles have none);
every other cell must hold a finite number.

Files of the tools people come from are read as they are:
- freqtrade's history (`.feather`, Arrow IPC, or parquet): `date` (a UTC timestamp) instead of
  `ts`, then open, high, low, close, volume;
- dated CSVs (Yahoo Finance exports, backtrader's data files; `.csv` or `.txt`): a `Date`
  column (`YYYY-MM-DD`, or any ISO date-time; naive times are UTC), optionally `Time`
  (`HH:MM[:SS]`), then Open, High, Low, Close and optionally Volume (names in any case).
  `Adj Close` and `OpenInterest` are ignored: tradeterm trades the prices that traded;
- JSON rows (`.json`: ccxt's `fetch_ohlcv` output, freqtrade's json history): a list of
  `[ts, open, high, low, close, volume]` with ts in epoch ms.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tradeterm.config.files import regular_file_size
from tradeterm.domain.series import BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import DataError
from tradeterm.marketdata.funding import ARROW_SUFFIXES, read_arrow_table
from tradeterm.marketdata.store import COLUMNS, CandleStore, Gap, find_gaps

_EARLIEST_MS = 100_000_000_000
"""1973-03-03 in epoch ms: a smaller `ts` is almost surely epoch seconds."""
_LATEST_MS = 7_258_118_400_000
"""2200-01-01 in epoch ms: a larger `ts` is surely epoch microseconds or nanoseconds."""
MAX_FILE_BYTES = 1 << 30
"""Largest candle file read (1 GiB: years of 1-minute bars)."""
MAX_FIELD_CHARS = 64
"""Longest cell accepted; a number never needs more."""

_DTYPES = {name: (np.int64 if name == "ts" else np.float64) for name in COLUMNS}

Where = Callable[[int], str]
"""Turns a 0-based data row index into `line N` (CSV) or `row N` (parquet)."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one `import_file` did."""

    path: Path
    venue: str
    symbol: str
    timeframe: str
    rows_read: int
    rows_added: int
    duplicates_skipped: int
    first_ts: int | None
    last_ts: int | None
    gaps: tuple[Gap, ...]

    @property
    def missing_bars(self) -> int:
        """Bar slots absent between the file's first and last bar."""
        return sum(gap.missing for gap in self.gaps)


def read_bar_file(path: Path, timeframe: str | None = None) -> BarSeries:
    """Read and check a bar file (.csv or .parquet). With `timeframe`, every `ts` must also be
    aligned to it. Raises DataError (one line naming the file and the row) on any problem."""
    path = Path(path)
    if timeframe is not None:
        timeframe_ms(timeframe)
    size = regular_file_size(path, "a candle file", DataError)  # never opens a FIFO or device
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path}: {size:,} bytes is too big for a candle file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            bars, where = _read_csv(path), _csv_line
        elif suffix in (".parquet", ".pq"):
            bars, where = _read_parquet(path), _parquet_row
        elif suffix in ARROW_SUFFIXES:
            bars, where = _read_arrow(path), _parquet_row
        elif suffix == ".json":
            bars, where = _read_json(path), _parquet_row
        else:
            expected = "expected .csv, .txt, .parquet, .feather or .json"
            raise DataError(f"{path}: unsupported file type '{suffix}' ({expected})")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise DataError(f"{path}: cannot be parsed as CSV ({str(exc)[:80]})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(bars) == 0:
        raise DataError(f"{path}: no bars (only a header)")
    problem = _first_problem(bars, timeframe, where)
    if problem:
        raise DataError(f"{path}: {problem}")
    return bars


def import_file(
    store: CandleStore, path: Path, venue: str, symbol: str, timeframe: str
) -> ImportReport:
    """Check `path` and merge it into `store` as (venue, symbol, timeframe). Bars whose time is
    already stored are replaced by the file's and counted as duplicates."""
    bars = read_bar_file(path, timeframe)
    added = store.write(venue, symbol, timeframe, bars)
    return ImportReport(
        path=Path(path),
        venue=venue,
        symbol=symbol,
        timeframe=timeframe,
        rows_read=len(bars),
        rows_added=added,
        duplicates_skipped=len(bars) - added,
        first_ts=int(bars.open_ms[0]),
        last_ts=int(bars.open_ms[-1]),
        gaps=find_gaps(bars.open_ms, timeframe),
    )


# ---- columns ---------------------------------------------------------------------------------
def _check_columns(path: Path, header: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: column '{name}' appears twice")
        seen.add(name)
    missing = [name for name in COLUMNS if name not in seen]
    extra = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    if problems:
        expected = ",".join(COLUMNS)
        raise DataError(f"{path}: {'; '.join(problems)} (expected {expected})")


# ---- CSV -----------------------------------------------------------------------------------
def _csv_line(row: int) -> str:
    return f"line {row + 2}"


def _read_csv(path: Path) -> BarSeries:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
    if not first.strip():
        raise DataError(f"{path}: empty file (expected the header {','.join(COLUMNS)})")
    header = [name.strip() for name in next(csv.reader([first]))]
    if "ts" not in header and DATED_TIME_COLUMNS & {_plain(name) for name in header}:
        return _read_dated_csv(path, header)
    _check_columns(path, header)
    frame = _parse_csv(path, header, skip_blank_lines=False)
    columns = [frame[name].to_numpy() for name in COLUMNS]
    if not all(bool(np.isfinite(col).all()) for col in columns[1:5]):
        _raise_csv_problem(path, header)
        raise DataError(f"{path}: a price cell is not a finite number")
    volume = columns[5]
    if not bool(np.isfinite(volume).all()):
        _raise_csv_problem(path, header)  # returns only if every bad volume cell is empty
        columns[5] = np.nan_to_num(volume, nan=0.0)
    return BarSeries.from_columns(*columns)


def _parse_csv(path: Path, header: list[str], *, skip_blank_lines: bool) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():  # a bad cell is reported by line below, not as a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            return pd.read_csv(
                path,
                encoding="utf-8-sig",
                skip_blank_lines=skip_blank_lines,
                skipinitialspace=True,
                header=0,
                names=header,
                dtype=_DTYPES,
            )
    except (ValueError, OverflowError, pd.errors.ParserError):
        _raise_csv_problem(path, header)
    if skip_blank_lines:
        raise DataError(f"{path}: cannot be parsed as CSV")
    # only blank lines at the end of the file were in the way: they do not shift line numbers
    return _parse_csv(path, header, skip_blank_lines=True)


def _raise_csv_problem(path: Path, header: list[str]) -> None:
    """Scan the file cell by cell and raise DataError for the first bad cell or line."""
    for line, row in _data_rows(path, len(header)):
        for name, text in zip(header, row, strict=True):
            problem = _cell_problem(name, text.strip())
            if problem:
                raise DataError(f"{path}: line {line}, column '{name}': {problem}")


def _data_rows(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every data row after the header; blank lines at the end are
    skipped, a blank line before data or a row of another width is a DataError."""
    blank_line = 0
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in _rows(reader, path):
            line = reader.line_num
            if not row or not any(cell.strip() for cell in row):
                blank_line = blank_line or line
                continue
            if blank_line:
                raise DataError(f"{path}: line {blank_line}: empty line")
            if len(row) != width:
                raise DataError(f"{path}: line {line}: expected {width} values, found {len(row)}")
            yield line, row


def _rows(reader: Any, path: Path) -> Iterator[list[str]]:
    """The reader's rows; a cell beyond the csv module's field limit is one clear line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{path}: line {reader.line_num}: cannot be parsed as CSV ({str(exc)[:80]})"
            ) from None


def _cell_problem(name: str, text: str) -> str:
    if len(text) > MAX_FIELD_CHARS:
        return f"a value of {len(text):,} characters is not a number"
    if not text:
        return "" if name == "volume" else "empty value"
    if name == "ts":
        try:
            number = float(int(text))
        except ValueError:
            number = _float_or_nan(text)
        if not (math.isfinite(number) and number.is_integer() and abs(number) < 2**63):
            return f"cannot read {text!r} as an integer epoch-ms timestamp"
        if not _EARLIEST_MS <= number < _LATEST_MS:
            return f"ts {text} is outside 1973..2200: ts must be epoch milliseconds"
        return ""
    number = _float_or_nan(text)
    if not math.isfinite(number):
        return f"cannot read {text!r} as a finite number"
    return ""


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


# ---- dated CSV (Yahoo Finance, backtrader) --------------------------------------------------
DATED_TIME_COLUMNS = frozenset({"date", "datetime", "timestamp"})
"""A CSV whose header has one of these (and no `ts`) is read as a dated CSV."""
DATED_PRICES = ("open", "high", "low", "close")
DATED_IGNORED = frozenset({"adj_close", "adjclose", "openinterest", "open_interest"})


def _plain(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _read_dated_csv(path: Path, header: list[str]) -> BarSeries:
    """A CSV dated by a `Date` (+ `Time`) column: see the module text."""
    names = [_plain(name) for name in header]
    seen: set[str] = set()
    for raw, name in zip(header, names, strict=True):
        if name in seen:
            raise DataError(f"{path}: column '{raw}' appears twice")
        seen.add(name)
    stamp = next(n for n in ("datetime", "date", "timestamp") if n in seen)
    clock = "time" if stamp == "date" and "time" in seen else ""
    layout = "Date[,Time],Open,High,Low,Close[,Volume] or ts,open,high,low,close,volume"
    missing = [n for n in DATED_PRICES if n not in seen]
    known = {stamp, clock, *DATED_PRICES, "volume", *DATED_IGNORED} - {""}
    extra = [raw for raw, name in zip(header, names, strict=True) if name not in known]
    if missing or extra:
        problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
        problems += [f"unexpected column(s) {', '.join(extra)}"] if extra else []
        raise DataError(f"{path}: {'; '.join(problems)} (expected {layout})")
    at = {name: i for i, name in enumerate(names)}
    columns: list[list[float]] = [[] for _ in COLUMNS]
    stamps: list[int] = []
    for line, row in _data_rows(path, len(header)):
        when = row[at[stamp]].strip() + (f" {row[at[clock]].strip()}" if clock else "")
        stamps.append(_dated_ms(path, line, header[at[stamp]], when))
        for k, name in enumerate(COLUMNS[1:], start=1):
            if name == "volume" and "volume" not in at:
                columns[k].append(0.0)
                continue
            text = row[at[name]].strip()
            problem = _cell_problem(name, text)
            if problem:
                raise DataError(f"{path}: line {line}, column '{header[at[name]]}': {problem}")
            columns[k].append(float(text) if text else 0.0)
    return BarSeries.from_columns(np.asarray(stamps, dtype=np.int64), *columns[1:])


def _dated_ms(path: Path, line: int, column: str, text: str) -> int:
    """Epoch ms UTC of a date or ISO date-time (naive: UTC); digits are epoch ms."""
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(
            f"{path}: line {line}, column '{column}': cannot read {text[:40]!r} as a date "
            "(YYYY-MM-DD or an ISO date-time)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


# ---- JSON rows (ccxt's fetch_ohlcv, freqtrade's json history) -----------------------------
def _read_json(path: Path) -> BarSeries:
    """A JSON list of `[ts, open, high, low, close, volume]` rows (ts = epoch ms)."""
    import json

    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of [ts, open, high, low, close, volume]")
    columns: list[list[float]] = [[] for _ in COLUMNS]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(COLUMNS):
            raise DataError(
                f"{path}: {_parquet_row(i)}: expected [ts, open, high, low, close, volume]"
            )
        for k, (name, cell) in enumerate(zip(COLUMNS, row, strict=True)):
            value = 0.0 if cell is None and name == "volume" else cell
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or (name == "ts" and value != int(value)):
                what = "an integer epoch-ms timestamp" if name == "ts" else "a finite number"
                raise DataError(
                    f"{path}: {_parquet_row(i)}, column '{name}': cannot read {value!r} as {what}"
                )
            columns[k].append(value)
    return BarSeries.from_columns(np.asarray(columns[0], dtype=np.int64), *columns[1:])


# ---- parquet and Arrow (freqtrade's feather) ----------------------------------------------


def _parquet_row(row: int) -> str:
    return f"row {row + 1}"


def _read_arrow(path: Path) -> BarSeries:
    return _table_bars(path, read_arrow_table(path))


def dated_table(table: pa.Table) -> pa.Table:
    """freqtrade's layout (`date` timestamps, no `ts`) with `date` renamed `ts`."""
    names = table.column_names
    if "ts" in names or "date" not in names:
        return table
    return table.rename_columns(["ts" if n == "date" else n for n in names])


def _read_parquet(path: Path) -> BarSeries:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable parquet file ({first})") from None
    return _table_bars(path, table)


def _table_bars(path: Path, table: pa.Table) -> BarSeries:
    table = dated_table(table)
    _check_columns(path, table.column_names)
    columns = []
    for name in COLUMNS:
        chunked = table.column(name)
        if pa.types.is_timestamp(chunked.type) and name == "ts":
            chunked = chunked.cast(pa.timestamp("ms", tz="UTC"), safe=False).cast(pa.int64())
        columns.append(_parquet_column(path, name, chunked.to_pandas()))
    return BarSeries.from_columns(*columns)


def _parquet_column(path: Path, name: str, raw: pd.Series) -> np.ndarray:  # type: ignore[type-arg]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if name == "volume":
        values = np.where(raw.isna().to_numpy(), 0.0, values)
    bad = ~np.isfinite(values)
    if name == "ts":
        bad |= np.mod(values, 1.0) != 0.0
    where = np.nonzero(bad)[0]
    if where.shape[0]:
        i = int(where[0])
        text = "empty value" if pd.isna(raw.iloc[i]) else f"cannot read {raw.iloc[i]!r}"
        if text != "empty value":
            text += " as an integer epoch-ms timestamp" if name == "ts" else " as a finite number"
        raise DataError(f"{path}: {_parquet_row(i)}, column '{name}': {text}")
    if name == "ts":
        if pd.api.types.is_integer_dtype(raw.dtype):
            return raw.to_numpy(dtype=np.int64)
        return values.astype(np.int64)
    return values


# ---- row checks ----------------------------------------------------------------------------
def _first(mask: np.ndarray) -> int:  # type: ignore[type-arg]
    where = np.nonzero(mask)[0]
    return int(where[0]) if where.shape[0] else -1


def _first_problem(bars: BarSeries, timeframe: str | None, where: Where) -> str:
    """The problem on the earliest bad row (ties: in the order checked), or ''."""
    ts, o, h, lo, c, v = bars.open_ms, bars.open, bars.high, bars.low, bars.close, bars.volume
    found: list[tuple[int, Callable[[int], str]]] = []

    def note(mask: np.ndarray, say: Callable[[int], str]) -> None:  # type: ignore[type-arg]
        i = _first(mask)
        if i >= 0:
            found.append((i, say))

    note(ts < _EARLIEST_MS, lambda i: f"ts {ts[i]} is before 1973: ts must be epoch milliseconds")
    note(ts >= _LATEST_MS, lambda i: f"ts {ts[i]} is after 2200: ts must be epoch milliseconds")
    prices = (o, h, lo, c)
    note(
        np.logical_or.reduce([p <= 0 for p in prices]),
        lambda i: (
            f"prices must be > 0, got open {o[i]:g} high {h[i]:g} low {lo[i]:g} close {c[i]:g}"
        ),
    )
    stepped = np.r_[False, ts[1:] <= ts[:-1]]
    note(stepped, lambda i: f"ts {ts[i]} is not after the previous row's ts {ts[i - 1]}")
    if timeframe is not None:
        size = timeframe_ms(timeframe)
        note(ts % size != 0, lambda i: f"ts {ts[i]} is not aligned to {timeframe} bars")
    note(h < lo, lambda i: f"high {h[i]} is below low {lo[i]}")
    note((o < lo) | (o > h), lambda i: f"open {o[i]} is outside [low {lo[i]}, high {h[i]}]")
    note((c < lo) | (c > h), lambda i: f"close {c[i]} is outside [low {lo[i]}, high {h[i]}]")
    note(v < 0, lambda i: f"volume {v[i]} is negative")
    if not found:
        return ""
    row, say = min(found, key=lambda item: item[0])
    return f"{where(row)}: {say(row)}"
