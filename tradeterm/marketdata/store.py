"""The candle store: closed bars on disk as parquet, one file per UTC day.

Layout: `{root}/{venue}/{symbol}/{timeframe}/{YYYY-MM-DD}.parquet` with columns
`ts, open, high, low, close, volume` (`ts` = bar open, int64 epoch ms UTC). Venue and symbol are
percent-encoded in paths (`BTC/USDT:USDT` -> `BTC%2FUSDT%3AUSDT`) and decoded when listed.

Writes merge with what is already on disk, keep one row per `ts` (the newest write wins), sort,
and replace each day file atomically (temp file + `os.replace`), so a crash never leaves a half
written day. `check()` reads the raw files and reports what a careful trader would want to know
before trusting a backtest: rows, span, duplicates, misaligned timestamps, rows filed under the
wrong day and every gap.

One writer per store: two processes writing the same day at once can lose one of the writes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from tradeterm.clock import format_ms
from tradeterm.domain.series import I64, BarSeries
from tradeterm.domain.timeframes import timeframe_ms
from tradeterm.errors import StorageError

COLUMNS: tuple[str, ...] = ("ts", "open", "high", "low", "close", "volume")
"""Column names of candle files (and of the shared data format)."""

DAY_MS = 86_400_000
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")


def _arrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, imported on first use: a node that never touches the candle
    store (or has not yet written a batch) does not pay pyarrow's ~30 MB of RSS."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _schema(pa: Any) -> Any:
    return pa.schema([("ts", pa.int64())] + [(name, pa.float64()) for name in COLUMNS[1:]])


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars: `missing` bar slots open from `start_ms` up to (not including) `end_ms`."""

    start_ms: int
    end_ms: int
    missing: int


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """What `CandleStore.check` found in one series (venue, symbol, timeframe)."""

    venue: str
    symbol: str
    timeframe: str
    files: int
    rows: int
    first_ts: int | None
    last_ts: int | None
    duplicates: int
    misaligned: int
    misplaced: int
    gaps: tuple[Gap, ...]
    unreadable: tuple[str, ...] = ()

    @property
    def missing_bars(self) -> int:
        """Bar slots absent between the first and the last bar."""
        return sum(gap.missing for gap in self.gaps)

    @property
    def consistent(self) -> bool:
        """No duplicates, misaligned or misfiled rows and every file readable (gaps are market
        reality, not corruption, so they do not count)."""
        return not (self.duplicates or self.misaligned or self.misplaced or self.unreadable)

    def summary(self) -> str:
        """One line for the console or the CLI."""
        span = "empty"
        if self.first_ts is not None and self.last_ts is not None:
            span = f"{format_ms(self.first_ts, '%Y-%m-%d %H:%M')} .. "
            span += format_ms(self.last_ts, "%Y-%m-%d %H:%M")
        text = (
            f"{self.venue}/{self.symbol}/{self.timeframe}: {self.rows} rows ({span}), "
            f"{self.duplicates} duplicates, {self.misaligned} misaligned, "
            f"{self.misplaced} misfiled, {len(self.gaps)} gaps ({self.missing_bars} missing bars)"
        )
        if self.unreadable:
            text += f", unreadable: {', '.join(self.unreadable)}"
        return text


def find_gaps(open_ms: I64, timeframe: str) -> tuple[Gap, ...]:
    """Every run of missing bars between consecutive open times (any order, duplicates ok)."""
    size = timeframe_ms(timeframe)
    ts = np.unique(open_ms)
    if ts.shape[0] < 2:
        return ()
    steps = np.diff(ts)
    where = np.nonzero(steps > size)[0]
    return tuple(Gap(int(ts[i]) + size, int(ts[i + 1]), int((steps[i] - 1) // size)) for i in where)


def sorted_unique(bars: BarSeries) -> BarSeries:
    """The bars sorted by open time with one row per time; of equal times the LAST row wins."""
    n = len(bars)
    if n == 0:
        return bars
    order = np.argsort(bars.open_ms, kind="stable")
    ts = bars.open_ms[order]
    keep = np.ones(n, dtype=bool)
    keep[:-1] = ts[1:] != ts[:-1]
    rows = order[keep]
    return BarSeries(
        bars.open_ms[rows],
        bars.open[rows],
        bars.high[rows],
        bars.low[rows],
        bars.close[rows],
        bars.volume[rows],
    )


def _concat(parts: list[BarSeries]) -> BarSeries:
    if not parts:
        return BarSeries.empty()
    if len(parts) == 1:
        return parts[0]
    return BarSeries(
        np.concatenate([p.open_ms for p in parts]),
        np.concatenate([p.open for p in parts]),
        np.concatenate([p.high for p in parts]),
        np.concatenate([p.low for p in parts]),
        np.concatenate([p.close for p in parts]),
        np.concatenate([p.volume for p in parts]),
    )


def _path_part(name: str, what: str) -> str:
    if not name or name in (".", ".."):
        raise ValueError(f"invalid {what} name {name!r} for the candle store")
    return quote(name, safe="")


def _day_start_ms(day: str) -> int:
    return int(np.datetime64(day, "ms").astype(np.int64))


def _read_day_file(path: Path) -> BarSeries:
    """A day file as it is on disk (no sorting, no dedup). StorageError if unreadable.

    Columns come out of Arrow's buffers straight into numpy (no pandas in a running node)."""
    pa, pq = _arrow()
    try:
        table = pq.ParquetFile(path).read(columns=list(COLUMNS))
        cols = [
            _to_numpy(table.column(name), np.int64 if name == "ts" else np.float64)
            for name in COLUMNS
        ]
        return BarSeries.from_columns(*cols)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"candle store: cannot read {path}: {first}") from exc


def _to_numpy(column: Any, dtype: Any) -> np.ndarray:  # type: ignore[type-arg]
    """A null-free Arrow column of int64/float64 as a numpy array, without pandas."""
    if column.null_count:
        raise ValueError(f"column {column!r} has empty values")
    parts = []
    for chunk in column.chunks:
        data = np.frombuffer(chunk.buffers()[1], dtype=dtype)
        parts.append(data[chunk.offset : chunk.offset + len(chunk)])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _write_day_file(path: Path, bars: BarSeries) -> None:
    """Replace `path` with `bars`, atomically (temp file in the same folder + os.replace)."""
    pa, pq = _arrow()
    columns = (bars.open_ms, bars.open, bars.high, bars.low, bars.close, bars.volume)
    schema = _schema(pa)
    arrays = [
        # from the numpy buffer directly: pa.array(ndarray) would import pandas
        pa.Array.from_buffers(field.type, len(col), [None, pa.py_buffer(np.ascontiguousarray(col))])
        for field, col in zip(schema, columns, strict=True)
    ]
    table = pa.Table.from_arrays(arrays, schema=schema)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, pa.ArrowException) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise StorageError(f"candle store: cannot write {path}: {exc}") from exc


class CandleStore:
    """Closed bars on disk, partitioned by venue, symbol, timeframe and UTC day."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def series_dir(self, venue: str, symbol: str, timeframe: str) -> Path:
        """The folder that holds one series' day files."""
        timeframe_ms(timeframe)
        return self._root / _path_part(venue, "venue") / _path_part(symbol, "symbol") / timeframe

    def day_files(self, venue: str, symbol: str, timeframe: str) -> list[tuple[int, Path]]:
        """(UTC day start ms, path) of every day file of a series, oldest first."""
        folder = self.series_dir(venue, symbol, timeframe)
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = _DAY_FILE.match(path.name)
            if match and path.is_file():
                found.append((_day_start_ms(match.group(1)), path))
        return sorted(found)

    def write(self, venue: str, symbol: str, timeframe: str, bars: BarSeries) -> int:
        """Merge `bars` into the store; returns how many bar times were new.

        A bar whose time is already stored replaces the stored one (the newest write wins).
        ValueError if a bar's open time is not aligned to `timeframe`.
        """
        size = timeframe_ms(timeframe)
        folder = self.series_dir(venue, symbol, timeframe)
        if len(bars) == 0:
            return 0
        bad = np.nonzero(bars.open_ms % size)[0]
        if bad.shape[0]:
            ts = int(bars.open_ms[bad[0]])
            raise ValueError(f"bar time {ts} is not aligned to {timeframe} bars; nothing written")
        incoming = sorted_unique(bars)
        days = incoming.open_ms // DAY_MS
        starts = np.nonzero(np.r_[True, days[1:] != days[:-1]])[0]
        bounds = [*starts.tolist(), len(incoming)]
        added = 0
        for lo, hi in itertools.pairwise(bounds):
            chunk = incoming.slice(slice(lo, hi))
            path = folder / f"{format_ms(int(days[lo]) * DAY_MS, '%Y-%m-%d')}.parquet"
            stored_rows = 0
            if path.is_file():
                stored = _read_day_file(path)
                stored_rows = int(np.unique(stored.open_ms).shape[0])
                chunk = sorted_unique(_concat([stored, chunk]))
            _write_day_file(path, chunk)
            added += len(chunk) - stored_rows
        return added

    def read(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> BarSeries:
        """Stored bars opening in [start_ms, end_ms) (open ends when None), sorted, one per time.
        An unknown series reads as empty."""
        parts = []
        for day_ms, path in self.day_files(venue, symbol, timeframe):
            if start_ms is not None and day_ms + DAY_MS <= start_ms:
                continue
            if end_ms is not None and day_ms >= end_ms:
                continue
            parts.append(_read_day_file(path))
        bars = sorted_unique(_concat(parts))
        lo = 0 if start_ms is None else int(np.searchsorted(bars.open_ms, start_ms, "left"))
        hi = len(bars) if end_ms is None else int(np.searchsorted(bars.open_ms, end_ms, "left"))
        if lo == 0 and hi == len(bars):
            return bars
        return BarSeries.from_columns(*(col[lo:hi] for col in _columns(bars)))

    def series(self) -> list[tuple[str, str, str]]:
        """(venue, symbol, timeframe) of every stored series, sorted."""
        found: list[tuple[str, str, str]] = []
        if not self._root.is_dir():
            return found
        for venue_dir in self._root.iterdir():
            for symbol_dir in _subdirs(venue_dir):
                for tf_dir in _subdirs(symbol_dir):
                    if any(_DAY_FILE.match(p.name) for p in tf_dir.iterdir()):
                        found.append(
                            (unquote(venue_dir.name), unquote(symbol_dir.name), tf_dir.name)
                        )
        return sorted(found)

    def check(self) -> list[IntegrityReport]:
        """An integrity report for every stored series."""
        return [self.check_series(*key) for key in self.series()]

    def check_series(self, venue: str, symbol: str, timeframe: str) -> IntegrityReport:
        """Read one series' raw files and report duplicates, misalignment, misfiling and gaps."""
        size = timeframe_ms(timeframe)
        stamps: list[I64] = []
        misplaced = 0
        unreadable: list[str] = []
        files = self.day_files(venue, symbol, timeframe)
        for day_ms, path in files:
            try:
                ts = _read_day_file(path).open_ms
            except StorageError:
                unreadable.append(path.name)
                continue
            misplaced += int(np.count_nonzero((ts // DAY_MS) * DAY_MS != day_ms))
            stamps.append(ts)
        ts = np.concatenate(stamps) if stamps else np.zeros(0, dtype=np.int64)
        unique = np.unique(ts)
        return IntegrityReport(
            venue=venue,
            symbol=symbol,
            timeframe=timeframe,
            files=len(files),
            rows=int(ts.shape[0]),
            first_ts=int(unique[0]) if unique.shape[0] else None,
            last_ts=int(unique[-1]) if unique.shape[0] else None,
            duplicates=int(ts.shape[0] - unique.shape[0]),
            misaligned=int(np.count_nonzero(ts % size)),
            misplaced=misplaced,
            gaps=find_gaps(unique, timeframe),
            unreadable=tuple(unreadable),
        )


def _columns(bars: BarSeries) -> tuple[np.ndarray, ...]:  # type: ignore[type-arg]
    return (bars.open_ms, bars.open, bars.high, bars.low, bars.close, bars.volume)


def _subdirs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
