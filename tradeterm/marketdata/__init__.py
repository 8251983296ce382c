"""Market data: venue streams to the bus, tick -> bar building, live candle windows, the parquet
candle store and the candle-file importer.

Data flows `DataClient.ticks()` -> `StreamManager` (dedup, reconnect, backfill) -> `BarBuilder`
(closed UTC-aligned bars) -> `CandleWindows` (what strategies read) and `CandleStore` (disk).
"""

from tradeterm.marketdata.bars import BarBuilder
from tradeterm.marketdata.candles import CandleWindow, CandleWindows
from tradeterm.marketdata.importer import ImportReport, import_file, read_bar_file
from tradeterm.marketdata.store import CandleStore, Gap, IntegrityReport, find_gaps
from tradeterm.marketdata.streams import StreamManager

__all__ = [
    "BarBuilder",
    "CandleStore",
    "CandleWindow",
    "CandleWindows",
    "Gap",
    "ImportReport",
    "IntegrityReport",
    "StreamManager",
    "find_gaps",
    "import_file",
    "read_bar_file",
]
