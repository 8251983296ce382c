"""plotext renderer: a chart to the string plotext's build() gives (terminals, the console).

plotext draws on one process-wide figure, so renders are serialised by a lock.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from tradeterm.charts.model import Chart, Markers, Series
from tradeterm.charts.ticks import span, time_ticks

_LOCK = threading.Lock()
_SYMBOLS = {"up": "▲", "down": "▼", "x": "✕", "dot": "●", "dash": "━"}


def _plt() -> Any:
    """plotext, imported on the first chart drawn (~0.2 s: a `--json` run never pays it)."""
    import plotext

    return plotext


def _pixel(color: str) -> Any:
    return _plt().pixel(color)


def render_text(chart: Chart, width: int = 100, height: int = 24, *, color: bool = True) -> str:
    """The chart drawn in `width` x `height` terminal cells; `color=False` leaves out ANSI codes."""
    if width < 20 or height < 6:
        raise ValueError(f"chart '{chart.title}': {width}x{height} is too small (>= 20x6)")
    rows = max(1, (height - 5) * 2 // 3)  # title, frame, ticks, label; denser bars alias
    if chart.horizontal and len(chart.categories) > rows:
        # one text row per sideways bar at least: the first categories that fit
        chart = replace(
            chart,
            title=f"{chart.title} (first {rows} of {len(chart.categories)})",
            categories=chart.categories[:rows],
            bars=tuple(replace(b, values=b.values[:rows]) for b in chart.bars),
        )
    with _LOCK:
        plt = _plt()
        fig = plt.figure
        fig.clear()
        plt.terminal.limit(False, False)
        fig.plot_size(width, height)
        try:
            _draw(fig, chart)
            return str(fig.build().string(colorless=not color))
        finally:
            fig.clear()


def _draw(fig: Any, chart: Chart) -> None:
    fig.title(chart.title)
    if chart.x_label:
        fig.label(chart.x_label, axis="x")
    if chart.y_label:
        fig.label(chart.y_label, axis="y")
    if chart.is_empty and not chart.hlines:
        fig.draw(fig.signal([0.0], [0.0]).label("no data"))
        return
    if chart.is_bar_chart:
        _draw_bars(fig, chart)
    for series in chart.series:
        _draw_series(fig, series)
    for markers in chart.markers:
        _draw_markers(fig, markers)
    for line in chart.hlines:
        fig.line(line.y, label=line.label or None, pixel=_pixel(line.color))
    if chart.x_ticks:
        fig.ruler("x").ticks([t[0] for t in chart.x_ticks], labels=[t[1] for t in chart.x_ticks])
    elif chart.x_is_time:
        bounds = span([s.x for s in chart.series] + [m.x for m in chart.markers])
        if bounds is not None:
            positions, labels = time_ticks(*bounds)
            fig.ruler("x").ticks(positions, labels=labels)


def _draw_series(fig: Any, series: Series) -> None:
    if not series.x.size:
        return
    marker = _plt().marker("braille", _pixel(series.color))
    signal = fig.signal(series.x.tolist(), series.y.tolist(), marker=marker)
    signal.lines(True).label(series.name)
    if series.fill:
        signal.fillx(True)
    fig.draw(signal)


def _draw_markers(fig: Any, markers: Markers) -> None:
    if not markers.x.size:
        return
    marker = _plt().marker(_SYMBOLS[markers.shape], _pixel(markers.color))
    signal = fig.signal(markers.x.tolist(), markers.y.tolist(), marker=marker)
    fig.draw(signal.lines(False).label(markers.name))


def _draw_bars(fig: Any, chart: Chart) -> None:
    n = len(chart.bars)
    width = 0.8 / n
    count = len(chart.categories)
    # sideways bars count from the bottom: the first category goes on top
    centres = [float(count - i if chart.horizontal else i + 1) for i in range(count)]
    orientation = "horizontal" if chart.horizontal else None
    for i, bar_set in enumerate(chart.bars):
        offset = -0.4 + width / 2 + i * width
        positions = [c + offset for c in centres]
        marker = _plt().marker("full", _pixel(bar_set.color))
        signal = fig.bar(
            positions, bar_set.values.tolist(), width=width, marker=marker, orientation=orientation
        )
        if n > 1:
            signal.label(bar_set.name)
        fig.draw(signal)
    fig.ruler("y" if chart.horizontal else "x").ticks(centres, labels=list(chart.categories))
    if chart.horizontal:
        values = [v for b in chart.bars for v in b.values.tolist()]
        low, high = min(0.0, *values), max(0.0, *values)
        fig.ruler("x").lim(low * 1.05, high * 1.05 if high > low else 1.0)
        fig.ruler("y").lim(0.5, count + 0.5)  # whole rows per category, labels on their bars
