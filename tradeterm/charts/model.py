"""What a chart shows, independent of how it is drawn.

x values are floats; when `Chart.x_is_time` they are epoch milliseconds UTC and each renderer
labels them as dates. A chart has either x/y content (series, markers, horizontal lines) or
categorical bars (`categories` and one value per category in each `BarSet`), not both.
Colors are plain names both renderers know (green, red, blue, orange, gray, cyan, magenta).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

MarkerShape = Literal["up", "down", "x", "dot", "dash"]
LineStyle = Literal["solid", "dashed"]


def _array(values: object) -> F64:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """A line; `fill` shades the area between the line and zero (underwater charts)."""

    name: str
    x: F64
    y: F64
    color: str = "blue"
    fill: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _array(self.x))
        object.__setattr__(self, "y", _array(self.y))
        if self.x.shape != self.y.shape:
            raise ValueError(f"series '{self.name}': x and y have different lengths")


@dataclass(frozen=True, slots=True, eq=False)
class Markers:
    """Points drawn as symbols (trade entries and exits)."""

    name: str
    x: F64
    y: F64
    shape: MarkerShape = "dot"
    color: str = "orange"

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _array(self.x))
        object.__setattr__(self, "y", _array(self.y))
        if self.x.shape != self.y.shape:
            raise ValueError(f"markers '{self.name}': x and y have different lengths")


@dataclass(frozen=True, slots=True)
class HLine:
    """A horizontal level across the chart (stop loss, take profit, zero)."""

    y: float
    label: str = ""
    color: str = "gray"
    style: LineStyle = "dashed"


@dataclass(frozen=True, slots=True, eq=False)
class BarSet:
    """One value per category of the chart (several sets are drawn side by side)."""

    name: str
    values: F64
    color: str = "blue"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _array(self.values))


@dataclass(frozen=True, slots=True, eq=False)
class Chart:
    title: str
    series: tuple[Series, ...] = ()
    markers: tuple[Markers, ...] = ()
    hlines: tuple[HLine, ...] = ()
    categories: tuple[str, ...] = ()
    bars: tuple[BarSet, ...] = ()
    x_label: str = ""
    y_label: str = ""
    x_is_time: bool = False
    x_ticks: tuple[tuple[float, str], ...] = ()
    """Named x positions (axes of a parallel-coordinates chart); none: the renderer's own."""
    horizontal: bool = False
    """Bars drawn sideways, the first category on top (long category names stay readable)."""

    def __post_init__(self) -> None:
        for bar_set in self.bars:
            if bar_set.values.size != len(self.categories):
                raise ValueError(
                    f"chart '{self.title}': bar set '{bar_set.name}' has {bar_set.values.size} "
                    f"values for {len(self.categories)} categories"
                )
        if self.bars and (self.series or self.markers):
            raise ValueError(f"chart '{self.title}': bars do not mix with series or markers")

    @property
    def is_bar_chart(self) -> bool:
        return bool(self.bars)

    @property
    def is_empty(self) -> bool:
        return (
            not any(s.x.size for s in self.series)
            and not self.bars
            and not any(m.x.size for m in self.markers)
        )
