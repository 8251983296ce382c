"""Market data: venue streams to the bus, tick -> bar building, live candle windows, the parquet
candle store and the candle-file importer.

Data flows `DataClient.ticks()` -> `StreamManager` (dedup, reconnect, backfill) -> `BarBuilder`
(closed UTC-aligned bars) -> `CandleWindows` (what strategies read) and `CandleStore` (disk).
The file importer lives in `tradeterm.marketdata.importer` (it needs pandas; a node does not).
"""

from tradeterm.marketdata.bars import BarBuilder
from tradeterm.marketdata.candles import CandleWindow, CandleWindows
from tradeterm.marketdata.store import CandleStore, Gap, IntegrityReport, find_gaps
from tradeterm.marketdata.streams import StreamManager

__all__ = [
    "BarBuilder",
    "CandleStore",
    "CandleWindow",
    "CandleWindows",
    "Gap",
    "IntegrityReport",
    "StreamManager",
    "find_gaps",
]
# The importer (pandas, pyarrow) is imported from tradeterm.marketdata.importer where it is used,
# so a running node never loads pandas.
