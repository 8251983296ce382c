"""Funding-rate series of perpetuals on disk, beside the candle store.

Layout: `{state}/funding/{venue}/{symbol}.csv` with columns `ts,rate` (ts = epoch ms UTC as the
venue stamps it; rate = fraction of notional per funding interval, longs pay a positive rate).
Writes merge with what is stored (one row per ts, the newest write wins) and replace the file
atomically. Mark-price bars are candles and live in a candle store of their own
(`{state}/marks`, see `mark_store_root`).
"""

from __future__ import annotations

import csv
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import numpy.typing as npt

from tradeterm.config.files import regular_file_size
from tradeterm.errors import DataError

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MAX_FILE_BYTES = 256 * 1024 * 1024


def funding_root(state_dir: str | Path) -> Path:
    return Path(state_dir) / "funding"


def mark_store_root(state_dir: str | Path) -> Path:
    return Path(state_dir) / "marks"


@dataclass(frozen=True, slots=True)
class FundingRates:
    ts: I64
    rate: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


ARROW_SUFFIXES = (".feather", ".arrow", ".ipc")


def read_funding_file(path: Path) -> FundingRates:
    """A `ts,rate` CSV checked row by row, or freqtrade's funding history (`.feather`: `date`
    timestamps with the rate in the `open` column, or a `rate` column); DataError names the
    file and the line (CSV) or row (feather)."""
    path = Path(path)
    size = regular_file_size(path, "a funding file", DataError)
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path}: {size:,} bytes is too big for a funding file")
    if path.suffix.lower() in ARROW_SUFFIXES:
        return _read_arrow_funding(path)
    ts: list[int] = []
    rate: list[float] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            if header[:2] != ["ts", "rate"]:
                raise DataError(
                    f"{path}: expected the header 'ts,rate', found {','.join(header)!r}"
                )
            for line, row in enumerate(reader, start=2):
                if not row or not any(cell.strip() for cell in row):
                    continue
                try:
                    t, r = int(row[0]), float(row[1])
                except (ValueError, IndexError):
                    raise DataError(f"{path}: line {line}: expected ts,rate numbers") from None
                if not math.isfinite(r) or abs(r) >= 1.0:
                    raise DataError(f"{path}: line {line}: rate {row[1]!r} is not a funding rate")
                if ts and t <= ts[-1]:
                    what = "duplicate" if t == ts[-1] else "out-of-order"
                    raise DataError(f"{path}: line {line}: {what} timestamp {t}")
                ts.append(t)
                rate.append(r)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    if not ts:
        raise DataError(f"{path}: no funding rows (only a header)")
    return FundingRates(np.asarray(ts, dtype=np.int64), np.asarray(rate, dtype=np.float64))


def read_arrow_table(path: Path) -> Any:
    """An Arrow IPC (feather) file as a pyarrow Table; DataError when it is not one."""
    import pyarrow as pa
    from pyarrow import feather

    try:
        return feather.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable Arrow/feather file ({first})") from None


def _read_arrow_funding(path: Path) -> FundingRates:
    import pyarrow as pa

    table = read_arrow_table(path)
    names = table.column_names
    when = "ts" if "ts" in names else "date" if "date" in names else ""
    value = "rate" if "rate" in names else "open" if "open" in names else ""
    if not when or not value:
        raise DataError(
            f"{path}: expected columns date (or ts) and rate (or freqtrade's open), "
            f"found {','.join(names)}"
        )
    stamps = table.column(when)
    if pa.types.is_timestamp(stamps.type):
        stamps = stamps.cast(pa.timestamp("ms", tz="UTC"), safe=False).cast(pa.int64())
    try:
        ts_col = np.asarray(stamps.to_numpy(zero_copy_only=False), dtype=np.int64)
        rate_col = np.asarray(table.column(value).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError, pa.ArrowException):
        raise DataError(f"{path}: columns {when},{value} must hold times and numbers") from None
    for i in range(ts_col.shape[0]):
        r = float(rate_col[i])
        if not math.isfinite(r) or abs(r) >= 1.0:
            raise DataError(f"{path}: row {i + 1}: rate {r!r} is not a funding rate")
        if i and ts_col[i] <= ts_col[i - 1]:
            what = "duplicate" if ts_col[i] == ts_col[i - 1] else "out-of-order"
            raise DataError(f"{path}: row {i + 1}: {what} timestamp {int(ts_col[i])}")
    if not ts_col.shape[0]:
        raise DataError(f"{path}: no funding rows")
    return FundingRates(ts_col, rate_col)


class FundingStore:
    """Funding series by (venue, symbol)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, venue: str, symbol: str) -> Path:
        return self.root / quote(venue, safe="") / f"{quote(symbol, safe='')}.csv"

    def read(self, venue: str, symbol: str) -> FundingRates | None:
        path = self.path(venue, symbol)
        return read_funding_file(path) if path.is_file() else None

    def write(self, venue: str, symbol: str, rates: FundingRates) -> int:
        """Merge `rates` in; returns how many timestamps were new."""
        stored = self.read(venue, symbol)
        merged: dict[int, float] = {}
        if stored is not None:
            merged.update(zip(stored.ts.tolist(), stored.rate.tolist(), strict=True))
        known = len(merged)
        merged.update(zip(rates.ts.tolist(), rates.rate.tolist(), strict=True))  # newest wins
        merged_ts = sorted(merged)
        merged_rate = [merged[t] for t in merged_ts]
        path = self.path(venue, symbol)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write("ts,rate\n")
            for t, r in zip(merged_ts, merged_rate, strict=True):
                handle.write(f"{t},{r!r}\n")
        os.replace(tmp, path)
        return len(merged_ts) - known

    def series(self) -> list[tuple[str, str]]:
        """(venue, symbol) of every stored funding series."""
        if not self.root.is_dir():
            return []
        return sorted(
            (unquote(v.name), unquote(f.name[:-4]))
            for v in self.root.iterdir()
            if v.is_dir()
            for f in v.iterdir()
            if f.suffix == ".csv" and not f.name.startswith(".")
        )
