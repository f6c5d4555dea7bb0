"""The geometry of the reports' charts: bars per day with a y axis of round numbers and an x
axis of dates, as numbers a template draws as SVG. Plain Python; no Flask.

The chart is drawn in a fixed coordinate space (`WIDTH` × `HEIGHT` user units) that the page
scales; text stays a readable size because the chart never shrinks below a minimum width
(static/css/desk.css), and its figures are also in a table next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

WIDTH = 720
HEIGHT = 280
LEFT = 56  # the y axis's numbers and title
RIGHT = 12
TOP = 16
BOTTOM = 56  # the dates and the x axis's title
#: the room one date label needs, in user units ("30.12." at the chart's font size)
LABEL_ROOM = 60
#: and a month's ("12/2026", "Dec 2026")
MONTH_LABEL_ROOM = 72


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float


@dataclass
class Tick:
    position: float  # x for a date, y for a number
    value: int | date


@dataclass
class DailyBars:
    """Two bars a day (`series` in order), the y ticks (0 up to a round maximum) and the x
    ticks (every day, or every n-th when they would not fit, always the first and last)."""

    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM  # the x axis's y
    right: float = WIDTH - RIGHT
    maximum: int = 1
    bars: list[list[Bar]] = field(default_factory=list)  # per series
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)


def nice_step(peak: int, most: int = 5) -> int:
    """A step of 1, 2 or 5 times a power of ten that reaches `peak` in at most `most` steps."""
    if peak <= most:
        return 1
    rough = peak / most
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * power >= rough:
            return factor * power
    return 10 * power  # not reached


def daily_bars(days: list[date], series: list[list[int]]) -> DailyBars:
    """The chart of `series` (each a value per day in `days`) side by side per day."""
    chart = DailyBars()
    peak = max((v for values in series for v in values), default=0)
    step = nice_step(peak)
    chart.maximum = max(step, math.ceil(peak / step) * step)
    plot_height = chart.bottom - chart.top
    plot_width = chart.right - chart.left
    for value in range(0, chart.maximum + 1, step):
        chart.y_ticks.append(Tick(chart.bottom - plot_height * value / chart.maximum, value))
    if not days:
        return chart
    slot = plot_width / len(days)
    bar = min(slot * 0.4, 16)
    for index, values in enumerate(series):
        drawn = []
        for n, value in enumerate(values):
            height = plot_height * value / chart.maximum
            x = chart.left + slot * n + slot / 2 - bar + bar * index
            drawn.append(
                Bar(
                    round(x, 2),
                    round(chart.bottom - height, 2),
                    round(bar, 2),
                    round(height, 2),
                    value,
                )
            )
        chart.bars.append(drawn)
    every = max(1, math.ceil(LABEL_ROOM / slot))
    shown = list(range(0, len(days), every))
    if shown[-1] != len(days) - 1:
        if len(shown) > 1 and (len(days) - 1 - shown[-1]) * slot < LABEL_ROOM:
            shown.pop()  # the last day's label instead of one too close to it
        shown.append(len(days) - 1)
    chart.x_ticks = [Tick(round(chart.left + slot * n + slot / 2, 2), days[n]) for n in shown]
    return chart


@dataclass
class MonthlyShares:
    """A share per month as bars on a 0–100 % axis, with the target as a line across; a month
    with no figure has no bar (`gaps`: where the page marks it)."""

    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT
    bars: list[Bar] = field(default_factory=list)
    gaps: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    target_y: float = 0.0


def monthly_shares(months: list[date], values: list[float | None], target: float) -> MonthlyShares:
    """The chart of `values` (shares 0–1, None for a month not measured) with `target`."""
    chart = MonthlyShares(left=LEFT + 20)  # room for "100 %" beside the axis's title
    plot_height = chart.bottom - chart.top
    slot = (chart.right - chart.left) / max(len(months), 1)
    bar = min(slot * 0.6, 40)

    def y(share: float) -> float:
        return round(chart.bottom - plot_height * max(0.0, min(share, 1.0)), 2)

    chart.y_ticks = [Tick(y(percent / 100), percent) for percent in range(0, 101, 25)]
    chart.target_y = y(target)
    every = max(1, math.ceil(MONTH_LABEL_ROOM / slot))  # labels that do not overlap
    for n, (month, value) in enumerate(zip(months, values, strict=True)):
        middle = round(chart.left + slot * n + slot / 2, 2)
        if n % every == 0:
            chart.x_ticks.append(Tick(middle, month))
        if value is None:
            chart.gaps.append(Tick(middle, month))
            continue
        top = y(value)
        chart.bars.append(
            Bar(round(middle - bar / 2, 2), top, round(bar, 2), round(chart.bottom - top, 2), value)
        )
    return chart
