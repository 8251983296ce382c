"""Charts: one description (`Chart`) drawn by two renderers.

    chart = equity_chart(result)
    print(render_text(chart, width=100, height=24))   # plotext, for terminals and the console
    render_png(chart, "equity.png")                     # matplotlib Agg, for reports

A low room: series in, text or PNG out. It knows the backtest result shape but no engine.
"""

from tradeterm.charts.builders import (
    equity_chart,
    price_chart,
    trade_pnl_histogram,
    underwater_chart,
    walkforward_chart,
)
from tradeterm.charts.model import BarSet, Chart, HLine, Markers, Series
from tradeterm.charts.png import render_png
from tradeterm.charts.text import render_text

__all__ = [
    "BarSet",
    "Chart",
    "HLine",
    "Markers",
    "Series",
    "equity_chart",
    "price_chart",
    "render_png",
    "render_text",
    "trade_pnl_histogram",
    "underwater_chart",
    "walkforward_chart",
]
