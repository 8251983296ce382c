"""Backtest report folders.

    folder = write_report(result, metrics, reports_dir, config=cfg, fingerprint=fp)

`{reports_dir}/{UTC timestamp}_backtest_{strategy}_{symbol-or-portfolio}/` holds:
metrics.json (every metric, plus warnings), trades.csv and trades.json (one record per trade),
equity.png (strategy vs HODL) and underwater.png, pnl.png (trade PnL histogram), report.html
(one self-contained file: metrics table, charts embedded as base64, trades table; opens
offline), config.json (the exact config, secrets masked), run.json (strategy, parameters,
engine settings) and data.json (the data fingerprint: symbols, range, bar count, sha256).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tradeterm.backtest.metrics import Metrics
from tradeterm.backtest.result import BacktestResult, BacktestTrade
from tradeterm.charts import (
    Chart,
    equity_chart,
    render_png,
    trade_pnl_histogram,
    underwater_chart,
)
from tradeterm.config.models import TradetermConfig
from tradeterm.domain.series import BarSeries

REPORT_FILES = ("metrics.json", "trades.csv", "trades.json", "equity.png", "underwater.png",
                "pnl.png", "report.html", "config.json", "run.json", "data.json")  # fmt: skip
TRADE_COLUMNS = ("symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "qty",
                 "pnl", "fees", "funding", "r_multiple", "exit_reason", "entry_bar", "exit_bar",
                 "entry_ms", "exit_ms", "risk_amount", "strategy")  # fmt: skip


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class DataFingerprint:
    """What data a run saw: per symbol its bar count and range, and one sha256 over all bars."""

    symbols: tuple[str, ...]
    timeframe: str
    start_ms: int
    end_ms: int
    bars: dict[str, int]
    sha256: str
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["symbols"] = list(self.symbols)
        out["start"] = iso(self.start_ms) if self.bars else None
        out["end"] = iso(self.end_ms) if self.bars else None
        return out


def fingerprint(bars: Mapping[str, BarSeries], timeframe: str, source: str = "") -> DataFingerprint:
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    starts, ends = [], []
    for symbol in sorted(bars):
        series = bars[symbol]
        digest.update(symbol.encode())
        for column in (series.open_ms, series.open, series.high, series.low, series.close,
                       series.volume):  # fmt: skip
            digest.update(np.ascontiguousarray(column).tobytes())
        counts[symbol] = len(series)
        if len(series):
            starts.append(int(series.open_ms[0]))
            ends.append(int(series.open_ms[-1]))
    return DataFingerprint(
        symbols=tuple(sorted(bars)), timeframe=timeframe, start_ms=min(starts, default=0),
        end_ms=max(ends, default=0), bars=counts, sha256=digest.hexdigest(), source=source,
    )  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "run"


def report_name(result: BacktestResult, kind: str = "backtest", now: datetime | None = None) -> str:
    moment = (now or datetime.now(tz=UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = result.symbols[0] if len(result.symbols) == 1 else "portfolio"
    return f"{moment}_{kind}_{_slug(result.strategy)}_{_slug(target)}"


def _unique_folder(root: Path, name: str) -> Path:
    folder = root / name
    n = 2
    while folder.exists():
        folder = root / f"{name}-{n}"
        n += 1
    folder.mkdir(parents=True)
    return folder


def trade_record(trade: BacktestTrade) -> dict[str, Any]:
    row = {name: getattr(trade, name) for name in TRADE_COLUMNS if hasattr(trade, name)}
    row["entry_time"] = iso(trade.entry_ms)
    row["exit_time"] = iso(trade.exit_ms)
    row["side"] = "long" if trade.side > 0 else "short"
    return {name: _json_value(row[name]) for name in TRADE_COLUMNS}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_trades_csv(trades: Sequence[BacktestTrade], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(TRADE_COLUMNS))
        writer.writeheader()
        for trade in trades:
            writer.writerow(trade_record(trade))


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n", "utf-8")


def write_report(
    result: BacktestResult,
    metrics: Metrics,
    reports_dir: str | Path,
    *,
    config: TradetermConfig | None = None,
    data: DataFingerprint | None = None,
    extra_charts: Mapping[str, Chart] | None = None,
    kind: str = "backtest",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the report folder of one run; returns the folder. `extra_charts` adds PNGs (name
    without .png -> chart) shown after the standard ones; `extra` is merged into run.json."""
    folder = _unique_folder(Path(reports_dir), report_name(result, kind))
    metrics_doc = {**metrics.to_dict(), "warnings": list(result.warnings)}
    _dump(folder / "metrics.json", metrics_doc)
    _dump(folder / "trades.json", [trade_record(t) for t in result.trades])
    write_trades_csv(result.trades, folder / "trades.csv")
    charts: dict[str, Chart] = {
        "equity": equity_chart(result),
        "underwater": underwater_chart(result),
        "pnl": trade_pnl_histogram(result),
        **(extra_charts or {}),
    }
    for name, chart in charts.items():
        render_png(chart, folder / f"{name}.png")
    run_doc = {
        "kind": kind, "engine": result.engine, "strategy": result.strategy,
        "params": result.params, "symbols": list(result.symbols), "timeframe": result.timeframe,
        "initial_cash": result.initial_cash, "settings": result.settings, **(extra or {}),
    }  # fmt: skip
    _dump(folder / "run.json", run_doc)
    _dump(folder / "config.json", config.model_dump(mode="json") if config is not None else {})
    _dump(folder / "data.json", data.to_dict() if data is not None else {})
    (folder / "report.html").write_text(
        render_html(result, metrics_doc, run_doc, folder, list(charts)), encoding="utf-8"
    )
    return folder


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
.warn { color: #a40; }
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def render_html(
    result: BacktestResult,
    metrics: Mapping[str, Any],
    run: Mapping[str, Any],
    folder: Path,
    charts: Sequence[str],
) -> str:
    """One self-contained page: title, settings, metrics, every chart inline, every trade."""
    e = html.escape
    title = f"Backtest {result.strategy} on {', '.join(result.symbols)} ({result.timeframe})"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]  # fmt: skip
    parts.append(
        f"<p>{e(iso(result.start_ms))} to {e(iso(result.end_ms))} · engine {e(result.engine)} · "
        f"params {e(json.dumps(result.params))}</p>"
    )
    for warning in metrics.get("warnings", []):
        parts.append(f"<p class='warn'>warning: {e(str(warning))}</p>")
    parts.append("<h2>Metrics</h2><table>")
    for name, value in metrics.items():
        if name != "warnings":
            parts.append(f"<tr><th class='l'>{e(name)}</th><td>{e(_fmt(value))}</td></tr>")
    parts.append("</table><h2>Charts</h2>")
    for name in charts:
        data = base64.b64encode((folder / f"{name}.png").read_bytes()).decode("ascii")
        parts.append(f"<img alt='{e(name)}' src='data:image/png;base64,{data}'>")
    parts.append(f"<h2>Trades ({len(result.trades)})</h2><table><tr>")
    parts.extend(f"<th>{e(c)}</th>" for c in TRADE_COLUMNS)
    parts.append("</tr>")
    for trade in result.trades:
        row = trade_record(trade)
        parts.append("<tr>" + "".join(f"<td>{e(_fmt(row[c]))}</td>" for c in TRADE_COLUMNS))
        parts.append("</tr>")
    parts.append("</table><h2>Run</h2><pre>")
    parts.append(e(json.dumps(run, indent=2, default=str)))
    parts.append("</pre></body></html>\n")
    return "".join(parts)
