"""Small charts drawn on the server: the geometry here, the markup in ``templates/admin/charts/``.

No JavaScript and no library. The marks (columns, bars, grid lines) are one SVG image with a
title (``role="img"``); the words and numbers around them (day labels, the axis, each bar's
label and value) are HTML text beside it, so they wrap, zoom and are read like the rest of the
page; the page gives every number in a table too. Geometry is in the SVG's own units (its
``viewBox``): columns are 10 units apart and 100 high, bars 10 apart and 100 long, and the
image is stretched to its box (``preserveAspectRatio="none"``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SLOT = 10  # viewBox units per column or bar
FULL = 100  # viewBox units of the value axis


@dataclass(frozen=True)
class Point:
    label: str  # under a column, or before a bar
    value: float
    text: str  # the value as the reader reads it ("12", "12,5 %")


@dataclass(frozen=True)
class Mark:
    """A column or a bar in viewBox units, and where its label goes (per cent of the chart's width)."""

    point: Point
    x: float
    y: float
    width: float
    height: float
    label_at: float = 0
    show_label: bool = True


@dataclass(frozen=True)
class Tick:
    at: float  # from the top, in viewBox units and in per cent of the plot's height alike (it is 100 high)
    text: str


@dataclass(frozen=True)
class Chart:
    marks: list[Mark]
    ticks: list[Tick]
    view_width: int
    view_height: int

    @property
    def rows(self) -> int:
        return len(self.marks)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (1 when there is nothing): the top of the axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _tick_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def columns(points: Sequence[Point], *, label_every: int = 7) -> Chart:
    """A column per point, left to right (days). Every ``label_every``-th label is shown,
    counted back from the last, so the latest day is always labelled."""
    top_value = nice_ceiling(max((p.value for p in points), default=0))
    count = max(len(points), 1)
    marks = []
    for index, point in enumerate(points):
        height = round(FULL * point.value / top_value, 2)
        marks.append(Mark(point, x=index * SLOT + 1.5, y=round(FULL - height, 2), width=SLOT - 3, height=height,
                          label_at=round((index + 0.5) * 100 / count, 2),
                          show_label=(len(points) - 1 - index) % label_every == 0))
    # The axis is marked at 0, half way when that is a whole number, and at the top.
    shares = (0, 0.5, 1) if float(top_value / 2).is_integer() else (0, 1)
    ticks = [Tick(round(FULL * (1 - share), 2), _tick_text(top_value * share)) for share in shares]
    return Chart(marks, ticks, view_width=count * SLOT, view_height=FULL)


def bars(points: Sequence[Point], *, top_value: float | None = None) -> Chart:
    """A horizontal bar per point, top to bottom. ``top_value`` fixes the scale (100 for shares
    in per cent); else the largest value sets it."""
    top_value = top_value or nice_ceiling(max((p.value for p in points), default=0))
    marks = [Mark(point, x=0, y=index * SLOT + 2, width=round(FULL * point.value / top_value, 2), height=SLOT - 4)
             for index, point in enumerate(points)]
    return Chart(marks, [], view_width=FULL, view_height=max(len(points), 1) * SLOT)
