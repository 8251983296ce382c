"""ORSTAC idea miner: parameter themes from DBot / Binary Bot Blockly XML -> seed parameters.

    report = mine_directory(Path("../shared/orstac_xml"))
    write_seed(report, Path("configs/seed_params.toml"))

Reads files with defusedxml (no entity expansion, no external entities). Mines themes only
(symbols, trade types, durations, candle intervals, stake, take profit / stop loss, indicator
periods and thresholds); never a bot's logic. Martingale factors are recorded as rejected:
tradeterm never increases stake after a loss.
"""

from __future__ import annotations

from tradeterm.orstac.miner import (
    MiningReport,
    mine_directory,
    mine_file,
    seed_document,
    write_seed,
)

__all__ = ["MiningReport", "mine_directory", "mine_file", "seed_document", "write_seed"]
