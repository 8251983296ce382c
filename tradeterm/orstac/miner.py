"""Mine parameter themes from Blockly bot workspaces (see the package docstring)."""

from __future__ import annotations

import logging
import re
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

log = logging.getLogger(__name__)

INDICATOR_BLOCKS = {
    "sma": "sma",
    "sma_statement": "sma",
    "smaa": "sma",
    "smaa_statement": "sma",
    "ema": "ema",
    "ema_statement": "ema",
    "emaa": "ema",
    "emaa_statement": "ema",
    "rsi": "rsi",
    "rsi_statement": "rsi",
    "rsia": "rsi",
    "bb": "bb",
    "bb_statement": "bb",
    "bba": "bb",
    "macda": "macd",
    "macd_statement": "macd",
}
"""Blockly indicator block types -> the indicator they compute."""

MARTINGALE = re.compile(r"marti|martingale|\bmg\b|mg factor|multiplicador", re.IGNORECASE)
TAKE_PROFIT = re.compile(r"take ?profit|target|expectativa de lucro|\bmeta\b|\btp\b", re.IGNORECASE)
STOP_LOSS = re.compile(r"stop ?loss|stoploss|perdas? maxima|max(imum)? loss|\bsl\b", re.IGNORECASE)
STAKE = re.compile(r"stake|investimento inicial|\bamount\b|\baposta\b", re.IGNORECASE)
MAX_FILE_BYTES = 2_000_000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        el.tag = _local(el.tag)


@dataclass
class BotThemes:
    """What one bot file says."""

    name: str
    symbols: list[str] = field(default_factory=list)
    trade_types: list[str] = field(default_factory=list)
    durations: list[str] = field(default_factory=list)
    candle_intervals: list[int] = field(default_factory=list)
    stakes: list[float] = field(default_factory=list)
    take_profits: list[float] = field(default_factory=list)
    stop_losses: list[float] = field(default_factory=list)
    periods: dict[str, list[int]] = field(default_factory=dict)
    bb_multipliers: list[float] = field(default_factory=list)
    rsi_thresholds: list[float] = field(default_factory=list)
    martingale_factors: list[float] = field(default_factory=list)


class _Workspace:
    """Variables of one workspace and the numbers they are first set to."""

    def __init__(self, root: ET.Element) -> None:
        self.names: dict[str, str] = {}
        for var in root.iter("variable"):
            if var.get("id"):
                self.names[var.get("id", "")] = (var.text or "").strip()
        self.values: dict[str, float] = {}
        for block in root.iter("block"):
            if block.get("type") != "variables_set":
                continue
            name = self.var_name(block)
            value = _child_value(block, "VALUE")
            number = self.number(value) if value is not None else None
            if name and number is not None and name not in self.values:
                self.values[name] = number

    def var_name(self, block: ET.Element) -> str:
        for f in block.findall("field"):
            if f.get("name") in ("VAR", "VARIABLE"):
                return self.names.get(f.get("id", ""), (f.text or "").strip())
        return ""

    def number(self, value: ET.Element) -> float | None:
        """The number a `<value>` holds: a number block, a variable's number, or its shadow."""
        for child in value:
            if child.tag == "block":
                if child.get("type") == "math_number":
                    return _num(child)
                if child.get("type") == "variables_get":
                    return self.values.get(self.var_name(child))
        for child in value:
            if child.tag == "shadow" and child.get("type") == "math_number":
                return _num(child)
        return None


def _num(block: ET.Element) -> float | None:
    for f in block.findall("field"):
        if f.get("name") == "NUM":
            try:
                return float((f.text or "").strip())
            except ValueError:
                return None
    return None


def _child_value(block: ET.Element, name: str) -> ET.Element | None:
    for v in block.findall("value"):
        if v.get("name") == name:
            return v
    return None


def _fields(root: ET.Element, name: str) -> list[str]:
    return [(f.text or "").strip() for f in root.iter("field") if f.get("name") == name and f.text]


def mine_file(path: Path) -> BotThemes:
    """Themes of one bot. ValueError when the file is not a readable Blockly workspace."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        root = SafeET.fromstring(data)
    except (ET.ParseError, DefusedXmlException, UnicodeDecodeError) as exc:
        raise ValueError(f"not readable XML: {exc}") from None
    _strip_namespaces(root)
    if root.tag != "xml":
        raise ValueError(f"not a Blockly workspace (root <{root.tag}>)")
    ws = _Workspace(root)
    bot = BotThemes(path.name)
    bot.symbols = _fields(root, "SYMBOL_LIST")
    bot.trade_types = _fields(root, "TRADETYPE_LIST")
    bot.candle_intervals = [int(x) for x in _fields(root, "CANDLEINTERVAL_LIST") if x.isdigit()]
    for block in root.iter("block"):
        kind = block.get("type", "")
        _mine_block(ws, block, kind, bot)
    for name, number in ws.values.items():
        _mine_variable(name, number, bot)
    return bot


def _mine_block(ws: _Workspace, block: ET.Element, kind: str, bot: BotThemes) -> None:
    if kind in ("trade_definition_tradeoptions", "tradeOptions"):
        _mine_trade_options(ws, block, bot)
    indicator = INDICATOR_BLOCKS.get(kind)
    if indicator is not None:
        _mine_indicator(ws, block, indicator, bot)
    if kind == "logic_compare":
        _mine_threshold(ws, block, bot)


def _number_of(ws: _Workspace, block: ET.Element, name: str) -> float | None:
    value = _child_value(block, name)
    return ws.number(value) if value is not None else None


def _mine_trade_options(ws: _Workspace, block: ET.Element, bot: BotThemes) -> None:
    unit = next(iter(_fields(block, "DURATIONTYPE_LIST")), "")
    duration = _number_of(ws, block, "DURATION")
    if duration is not None and unit:
        bot.durations.append(f"{duration:g}{unit}")
    stake = _number_of(ws, block, "AMOUNT")
    if stake is not None and stake > 0:
        bot.stakes.append(stake)


def _mine_indicator(ws: _Workspace, block: ET.Element, indicator: str, bot: BotThemes) -> None:
    for inner in block.iter("block"):
        if inner.get("type") == "period" or inner is block:
            number = _number_of(ws, inner, "PERIOD")
            if number is not None and 1 < number < 1000:
                bot.periods.setdefault(indicator, []).append(int(number))
    for name in ("UPMULTIPLIER", "DOWNMULTIPLIER"):
        number = _number_of(ws, block, name)
        if number is not None and 0 < number < 10:
            bot.bb_multipliers.append(number)


def _mine_threshold(ws: _Workspace, block: ET.Element, bot: BotThemes) -> None:
    """Numbers compared with an RSI variable are RSI thresholds."""
    a, b = _child_value(block, "A"), _child_value(block, "B")
    if a is None or b is None:
        return
    names = [ws.var_name(c) for v in (a, b) for c in v if c.tag == "block"]
    if any("rsi" in n.lower() for n in names):
        for v in (a, b):
            number = ws.number(v)
            if number is not None and 5 <= number <= 95:
                bot.rsi_thresholds.append(number)


def _mine_variable(name: str, number: float, bot: BotThemes) -> None:
    if MARTINGALE.search(name):
        bot.martingale_factors.append(number)
    elif TAKE_PROFIT.search(name) and number > 0:
        bot.take_profits.append(number)
    elif STOP_LOSS.search(name) and number > 0:
        bot.stop_losses.append(number)
    elif STAKE.search(name) and number > 0 and not bot.stakes:
        bot.stakes.append(number)


@dataclass
class MiningReport:
    bots: list[BotThemes] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def mine_directory(directory: Path) -> MiningReport:
    """Every `*.xml` (and any other file) under `directory`; unreadable ones are skipped with a
    warning and listed in the report."""
    report = MiningReport()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix.lower() != ".xml":
            if path.suffix.lower() not in (".md", ".txt"):
                report.skipped[path.name] = "not an .xml file"
                log.warning("orstac: skipped %s: not an .xml file", path.name)
            continue
        try:
            report.bots.append(mine_file(path))
        except (ValueError, OSError) as exc:
            report.skipped[path.name] = str(exc)
            log.warning("orstac: skipped %s: %s", path.name, exc)
    return report


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {}
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "count": len(values),
    }


def _top(counter: Counter[str], n: int = 10) -> dict[str, int]:
    return dict(counter.most_common(n))


def seed_document(report: MiningReport) -> dict[str, Any]:
    """The seed parameters (a TOML-ready mapping) aggregated over every bot."""
    bots = report.bots
    doc: dict[str, Any] = {
        "source": {
            "files": len(bots),
            "skipped": len(report.skipped),
            "note": "themes mined from ORSTAC DBot workspaces; defaults and priors, never rules",
        },
        "symbols": _top(Counter(s for b in bots for s in set(b.symbols))),
        "trade_types": _top(Counter(t for b in bots for t in set(b.trade_types))),
        "durations": _top(Counter(d for b in bots for d in b.durations)),
        "candle_intervals_s": _top(Counter(str(i) for b in bots for i in b.candle_intervals)),
        "stake": _summary([s for b in bots for s in b.stakes]),
        "take_profit": _summary([s for b in bots for s in b.take_profits]),
        "stop_loss": _summary([s for b in bots for s in b.stop_losses]),
    }
    indicators: dict[str, Any] = {}
    for name in sorted({k for b in bots for k in b.periods}):
        periods = [p for b in bots for p in b.periods.get(name, [])]
        indicators[name] = {
            "period": _summary([float(p) for p in periods]),
            "periods": _top(Counter(str(p) for p in periods)),
        }
    bb_mult = [m for b in bots for m in b.bb_multipliers]
    if bb_mult and "bb" in indicators:
        indicators["bb"]["std_multiplier"] = _summary(bb_mult)
    rsi = [t for b in bots for t in b.rsi_thresholds]
    if rsi and "rsi" in indicators:
        indicators["rsi"]["oversold"] = _summary([t for t in rsi if t < 50])
        indicators["rsi"]["overbought"] = _summary([t for t in rsi if t > 50])
    doc["indicators"] = indicators
    factors = [f for b in bots for f in b.martingale_factors]
    doc["rejected"] = {
        "martingale": {
            "files": sum(1 for b in bots if b.martingale_factors),
            "factors": _summary(factors),
            "reason": "martingale raises stake after losses; tradeterm never uses it",
        }
    }
    return _drop_empty(doc)


def _drop_empty(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in doc.items():
        value = _drop_empty(raw) if isinstance(raw, dict) else raw
        if isinstance(value, dict) and not value:
            continue
        out[key] = value
    return out


def write_seed(report: MiningReport, output: Path) -> None:
    import tomli_w

    header = (
        "# Seed parameters mined by `tradeterm orstac-seed` from DBot/Binary Bot workspaces.\n"
        "# Themes only (medians and counts), used as defaults and priors; martingale rejected.\n\n"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(header + tomli_w.dumps(seed_document(report)), encoding="utf-8")
