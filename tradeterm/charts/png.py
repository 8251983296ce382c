"""matplotlib renderer: a chart to a PNG file (reports). Agg canvas, no pyplot, no display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tradeterm.charts.model import Chart
from tradeterm.charts.ticks import span, time_ticks

_SHAPES = {"up": "^", "down": "v", "x": "x", "dot": "o", "dash": "_"}
_COLORS = {"gray": "#808080", "orange": "#ff8c00"}


def _color(name: str) -> str:
    return _COLORS.get(name, name)


def render_png(
    chart: Chart, path: str | Path, *, width_px: int = 1200, height_px: int = 600
) -> Path:
    """Draw the chart into `path` (parent folders created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(chart.title)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    ax.grid(True, alpha=0.3)
    if chart.is_bar_chart:
        _draw_bars(ax, chart)
    for series in chart.series:
        ax.plot(series.x, series.y, label=series.name, color=_color(series.color), linewidth=1.2)
        if series.fill and series.x.size:
            ax.fill_between(series.x, series.y, 0.0, color=_color(series.color), alpha=0.3)
    for markers in chart.markers:
        if markers.x.size:
            ax.scatter(markers.x, markers.y, marker=_SHAPES[markers.shape],
                       color=_color(markers.color), label=markers.name, zorder=3, s=36)  # fmt: skip
    for line in chart.hlines:
        ax.axhline(line.y, color=_color(line.color), label=line.label or None,
                   linestyle="--" if line.style == "dashed" else "-", linewidth=1.0)  # fmt: skip
    if chart.x_ticks:
        ax.set_xticks([t[0] for t in chart.x_ticks], [t[1] for t in chart.x_ticks],
                      rotation=30 if len(chart.x_ticks) > 6 else 0)  # fmt: skip
    elif chart.x_is_time:
        bounds = span([s.x for s in chart.series] + [m.x for m in chart.markers])
        if bounds is not None:
            positions, labels = time_ticks(*bounds)
            ax.set_xticks(positions, labels)
    if chart.is_empty:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out


def _draw_bars(ax: Any, chart: Chart) -> None:
    n = len(chart.bars)
    width = 0.8 / n
    centres = np.arange(len(chart.categories), dtype=np.float64)
    if chart.horizontal:
        for i, bar_set in enumerate(chart.bars):
            offset = -0.4 + width / 2 + i * width
            ax.barh(centres + offset, bar_set.values, height=width, color=_color(bar_set.color),
                    label=bar_set.name if n > 1 else None)  # fmt: skip
        ax.set_yticks(centres, list(chart.categories))
        ax.invert_yaxis()  # the first category on top
        return
    for i, bar_set in enumerate(chart.bars):
        offset = -0.4 + width / 2 + i * width
        ax.bar(centres + offset, bar_set.values, width=width, label=bar_set.name if n > 1 else None,
               color=_color(bar_set.color))  # fmt: skip
    ax.set_xticks(centres, list(chart.categories), rotation=45 if len(chart.categories) > 8 else 0)
