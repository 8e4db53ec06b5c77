"""Charts drawn on the server as SVG shapes, for templates/server.html.

The shapes live in a viewBox of `SLOT` units per value and `HEIGHT` units high, stretched by CSS
to the width of the page (`preserveAspectRatio="none"`): so they hold no text, which would be
stretched too. The labels (the scale, the times) are HTML beside the SVG; lines keep their width
through `vector-effect="non-scaling-stroke"`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from solo.lazy import lazy

if TYPE_CHECKING:
    from babel import units
else:  # at the first Server page, not at start (see solo.lazy)
    units = lazy("babel.units")


SLOT = 10  # viewBox units per bar or point
HEIGHT = 100


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (at least 1): a round scale."""
    if value <= 1:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def nice_bytes(value: float) -> float:
    """`nice_ceiling` in the largest binary unit under `value`: 2 GB rather than 2.1e9 bytes."""
    if value <= 1024:
        return nice_ceiling(value)
    unit = 1024.0 ** math.floor(math.log(value, 1024))
    return nice_ceiling(value / unit) * unit


@dataclass(frozen=True)
class Segment:
    kind: str  # the CSS class suffix: delivered, retried, dead …
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str  # what the bar's <title> says
    segments: list[Segment]
    values: dict[str, int]  # for data- attributes, which the tests read


@dataclass(frozen=True)
class Line:
    """One run of a series without gaps (a series with gaps is drawn as several)."""

    kind: str
    points: str  # the polyline's points
    area: str  # the polygon under it, closed on the baseline ("" for no area)


@dataclass(frozen=True)
class Chart:
    width: int  # of the viewBox
    height: int
    top: float  # the value at the top of the scale
    bars: list[Bar]
    lines: list[Line]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def scale(self) -> list[float]:
        """The values the grid lines mark, top first."""
        return [self.top, self.top / 2, 0]

    def grid_y(self, value: float) -> float:
        return _y(value, self.top)


def _y(value: float, top: float) -> float:
    return round(HEIGHT - value / top * HEIGHT, 1)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The stretches of (index, value) between the gaps (None)."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, value))
    if current:
        runs.append(current)
    return runs


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, int]]], kinds: Sequence[str], *, minimum: float = 1
) -> Chart:
    """One bar per row (label, values by kind), the kinds stacked from the baseline up."""
    top = nice_ceiling(max([minimum, *(sum(values.values()) for _, values in rows)]))
    bars = []
    for index, (label, values) in enumerate(rows):
        base = 0.0
        segments = []
        for kind in kinds:
            value = values.get(kind, 0)
            if value:
                y = _y(base + value, top)
                segments.append(Segment(kind, y, round(_y(base, top) - y, 2)))
                base += value
        bars.append(Bar(index * SLOT + 1, SLOT - 2, label, segments, dict(values)))
    return Chart(len(rows) * SLOT, HEIGHT, top, bars, [])


def lines(
    series: Mapping[str, Sequence[float | None]],
    *,
    minimum: float = 1,
    filled: bool = True,
    ceiling: Callable[[float], float] = nice_ceiling,
) -> Chart:
    """One line per series over the same slots; a None is a gap (no sample that minute)."""
    length = max((len(values) for values in series.values()), default=0)
    peak = max([minimum, *(v for values in series.values() for v in values if v is not None)])
    top = ceiling(peak)
    drawn = []
    for kind, values in series.items():
        for run in _runs(values):
            points = [(index * SLOT + SLOT // 2, _y(value, top)) for index, value in run]
            text = " ".join(f"{x},{y:g}" for x, y in points)
            area = f"{points[0][0]},{HEIGHT} {text} {points[-1][0]},{HEIGHT}" if filled else ""
            drawn.append(Line(kind, text, area))
    return Chart(max(length, 1) * SLOT, HEIGHT, top, [], drawn)


def human_bytes(value: float | None, locale: str = "en") -> str:
    """1.5 MB, 500 MB, 2 GB (1,5 Mo in French): one decimal under 100, none where it would
    be .0."""
    if value is None:
        return "—"
    if not value:
        return "0"
    for unit in ("byte", "kilobyte", "megabyte", "gigabyte", "terabyte"):
        if abs(value) < 1024 or unit == "terabyte":
            break
        value /= 1024
    if unit != "byte":
        value = round(value) if abs(value) >= 100 else round(value, 1)
    shown = int(value) if value == int(value) else value
    # "500 bytes" is whole words in every language; "1.5 MB" the short unit.
    if unit == "byte":
        return units.format_unit(shown, "digital-byte", length="long", locale=locale)
    return units.format_unit(shown, f"digital-{unit}", length="short", locale=locale)


def human_duration(seconds: float, locale: str = "en") -> str:
    """3d 4h, 4h 12m, 12m, 5s, in the reader's language's narrow units."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60

    def unit(count: int, name: str) -> str:
        return units.format_unit(count, f"duration-{name}", length="narrow", locale=locale)

    if days:
        return f"{unit(days, 'day')} {unit(hours, 'hour')}"
    if hours:
        return f"{unit(hours, 'hour')} {unit(minutes, 'minute')}"
    return unit(minutes, "minute") if minutes else unit(seconds, "second")


def human_count(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}"
