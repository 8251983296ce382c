"""Real candles replayed as a live tick feed.

Each bar becomes four ticks spread over its duration (divided by the replay speed): the open,
then the extreme the market most plausibly visited first (a bullish bar dips to its low before
making its high, a bearish bar the reverse), then the other extreme, then the close. Bar i plays
at `start + (ts_i - ts_first) / speed` on the venue clock, so replayed ticks carry clock times.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tradeterm.config.models import ReplaySourceConfig
from tradeterm.domain.enums import ContractKind, Domain
from tradeterm.domain.instruments import Instrument
from tradeterm.errors import DataError
from tradeterm.venues.sim.tape import F64, I64, TickChunk

if TYPE_CHECKING:  # pandas loads only when a file is read: the venue itself never needs it
    import pandas as pd

COLUMNS: tuple[str, ...] = ("ts", "open", "high", "low", "close", "volume")
TICKS_PER_BAR = 4
_CHUNK_BARS = 1024


@dataclass(frozen=True, slots=True)
class CandleFile:
    """The bars of one candle file, validated: ts strictly increasing, high/low bracket the bar."""

    path: str
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FAST_CSV_BYTES = 4_000_000


def _plain_csv(path: Path) -> dict[str, F64] | None:
    """The columns of a small, plain CSV (no quotes, every row as wide as the header, every
    value a plain decimal number) read without pandas, whose import costs more than the read;
    None for anything else, which then takes the pandas path and its messages. Python's float()
    rounds correctly, as pandas' parser does for these numbers."""
    if path.suffix.lower() != ".csv":
        return None
    try:
        if path.stat().st_size > _FAST_CSV_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or "\r" in text.replace("\r\n", "\n"):
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        return None
    header = lines[0].split(",")
    if len(set(header)) != len(header) or any(c not in header for c in COLUMNS):
        return None
    at = [header.index(c) for c in COLUMNS]
    width = len(header)
    values: list[list[float]] = [[] for _ in COLUMNS]
    for line in lines[1:]:
        fields = line.rstrip("\r").split(",")
        if len(fields) != width:
            return None
        for out, i in zip(values, at, strict=True):
            field = fields[i]
            if _PLAIN_NUMBER.fullmatch(field) is None:
                return None
            out.append(float(field))
    return {c: np.asarray(v, dtype=np.float64) for c, v in zip(COLUMNS, values, strict=True)}


def _read_frame(path: Path) -> tuple[pd.DataFrame, str]:
    """The raw table and how its rows are named in messages ('line' for CSV, 'row' for parquet)."""
    import pandas as pd

    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path), "row"
        with warnings.catch_warnings():  # more fields than the header: refuse, never shift columns
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
        return frame, "line"
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # pandas and pyarrow raise many types for malformed files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read ({first})") from None


def _row_label(kind: str, i: int) -> str:
    return f"line {i + 2}" if kind == "line" else f"row {i + 1}"


def _numeric(frame: pd.DataFrame, column: str, path: Path, kind: str) -> F64:
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw.replace("", np.nan), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bool(bad.any()):
        i = int(np.argmax(bad))
        text = raw.iloc[i]
        raise DataError(
            f"{path}: {_row_label(kind, i)}: column '{column}' is not a number: {text!r}"
        )
    return values


def _check_bars(candles: CandleFile, path: Path, kind: str) -> None:
    if len(candles) == 0:
        raise DataError(f"{path}: no rows")
    steps = np.diff(candles.ts)
    if bool((steps <= 0).any()):
        i = int(np.argmax(steps <= 0)) + 1
        raise DataError(
            f"{path}: {_row_label(kind, i)}: column 'ts' {candles.ts[i]} is not after the "
            f"previous row's {candles.ts[i - 1]}"
        )
    top = np.maximum(candles.open, candles.close)
    bottom = np.minimum(candles.open, candles.close)
    broken = (candles.high < top) | (candles.low > bottom)
    if bool(broken.any()):
        i = int(np.argmax(broken))
        raise DataError(
            f"{path}: {_row_label(kind, i)}: columns 'high'/'low' do not bracket open and close"
        )


def load_candles(path: str | Path) -> CandleFile:
    """Read a candle file (CSV or parquet, columns ts,open,high,low,close,volume; ts = bar open,
    epoch ms UTC). DataError names the file and the offending row or column in one line."""
    file = Path(path)
    plain = _plain_csv(file)
    if plain is not None:
        return _candles(file, plain, "line")
    frame, kind = _read_frame(file)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{file}: missing column '{missing[0]}' (need {','.join(COLUMNS)}; "
            f"found {','.join(map(str, frame.columns))})"
        )
    ts = _whole_ms(_numeric(frame, "ts", file, kind), file, kind)
    return _candles(file, {c: ts if c == "ts" else _numeric(frame, c, file, kind)
                           for c in COLUMNS}, kind)  # fmt: skip


def _whole_ms(ts: F64, file: Path, kind: str) -> F64:
    fractional = ts != np.floor(ts)
    if bool(fractional.any()):
        i = int(np.argmax(fractional))
        raise DataError(f"{file}: {_row_label(kind, i)}: column 'ts' is not whole epoch ms")
    return ts


def _candles(file: Path, cols: dict[str, F64], kind: str) -> CandleFile:
    ts = _whole_ms(cols["ts"], file, kind)
    candles = CandleFile(str(file), ts.astype(np.int64),
                         **{c: cols[c] for c in COLUMNS[1:]})  # fmt: skip
    _check_bars(candles, file, kind)
    return candles


def replay_start_index(
    candles: CandleFile, *, speed: float, history_ms: int, start_ms: int | None = None
) -> int:
    """The first bar played live: with `start_ms`, the first bar opening at or after it; else
    enough earlier bars to cover `history_ms` of venue time serve as history, but at most half
    the file (the rest must be left to play)."""
    if start_ms is not None:
        return int(np.searchsorted(candles.ts, start_ms, side="left"))
    elapsed = (candles.ts - candles.ts[0]) / speed
    wanted = int(np.searchsorted(elapsed, history_ms, side="left"))
    return min(wanted, len(candles) // 2)


def bar_ticks(candles: CandleFile, lo: int, hi: int) -> tuple[F64, F64]:
    """Prices and sizes of the four ticks of bars lo..hi-1, flattened in play order."""
    o, h, lw, c = candles.open[lo:hi], candles.high[lo:hi], candles.low[lo:hi], candles.close[lo:hi]
    bullish = c >= o
    prices = np.stack((o, np.where(bullish, lw, h), np.where(bullish, h, lw), c), axis=1)
    sizes = np.repeat(candles.volume[lo:hi] / TICKS_PER_BAR, TICKS_PER_BAR)
    return prices.ravel(), sizes


class ReplayChunks:
    """The chunk source of a replayed file: bars from the first, mapped onto the venue clock so
    that bar `start_index` (or file time `origin_ms`, when given) plays at `anchor_ms`; loops
    back to the first bar when asked."""

    def __init__(
        self,
        candles: CandleFile,
        *,
        bar_ms: int,
        speed: float,
        anchor_ms: int,
        start_index: int,
        loop: bool,
        origin_ms: int | None = None,
    ) -> None:
        self._candles = candles
        self._bar_ms = bar_ms
        self._speed = speed
        self._anchor_ms = anchor_ms
        self._origin = int(candles.ts[start_index]) if origin_ms is None else origin_ms
        self._loop = loop
        self._cycle_ms = int(candles.ts[-1] - candles.ts[0]) + bar_ms
        self._next_bar = 0
        self._cycle = 0

    def clock_ms(self, file_ms: I64 | int) -> I64:
        """Venue-clock time of a file time in the current cycle."""
        shifted = np.asarray(file_ms, dtype=np.int64) + self._cycle * self._cycle_ms - self._origin
        return (self._anchor_ms + np.floor(shifted / self._speed)).astype(np.int64)

    @property
    def coverage_ms(self) -> int:
        """Clock time of the first bar: replay history starts here."""
        shifted = int(self._candles.ts[0]) - self._origin
        return self._anchor_ms + int(np.floor(shifted / self._speed))

    def __call__(self) -> TickChunk | None:
        n = len(self._candles)
        if self._next_bar >= n:
            if not self._loop:
                return None
            self._next_bar = 0
            self._cycle += 1
        lo, hi = self._next_bar, min(self._next_bar + _CHUNK_BARS, n)
        self._next_bar = hi
        offsets = np.arange(TICKS_PER_BAR, dtype=np.int64) * (self._bar_ms // TICKS_PER_BAR)
        file_ms = (self._candles.ts[lo:hi, None] + offsets[None, :]).ravel()
        prices, sizes = bar_ticks(self._candles, lo, hi)
        return TickChunk(self.clock_ms(file_ms), prices, sizes)


def replay_instrument(venue: str, source: ReplaySourceConfig) -> Instrument:
    """The instrument a replayed series trades as: a perpetual for crypto_perp, a synthetic
    index for synthetics (both shortable), else spot."""
    kinds = {Domain.CRYPTO_PERP: ContractKind.PERPETUAL, Domain.SYNTHETICS: ContractKind.SYNTHETIC}
    kind = kinds.get(source.domain, ContractKind.SPOT)
    return Instrument(
        venue=venue,
        symbol=source.symbol,
        kind=kind,
        domain=source.domain,
        tick_size=source.tick_size,
        lot_step=source.lot_step,
        min_qty=source.lot_step,
        min_notional=source.min_notional,
        display_name=f"{source.symbol} (replay)",
        max_leverage=source.max_leverage if kind is ContractKind.PERPETUAL else 1.0,
    )
