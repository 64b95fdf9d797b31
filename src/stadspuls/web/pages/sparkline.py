"""A monitor's last 24 hours as a small inline SVG, drawn on the server: one path for the posts,
one for the expected band. No script and no request per row, so the overview of a hundred
monitors renders in one response."""

from __future__ import annotations

from dataclasses import dataclass

from stadspuls.service.views import Series

WIDTH = 240.0
HEIGHT = 44.0
PAD = 3.0


@dataclass(frozen=True, slots=True)
class Sparkline:
    width: float
    height: float
    line: str  # SVG path of the posts per bucket ("" when nothing to draw)
    band: str  # closed SVG path of the expected band, low to high ("" without a baseline)
    expected: str  # SVG path of the expectation itself
    last: tuple[float, float] | None  # the newest drawn point, marked with a dot


def _path(points: list[tuple[float, float]]) -> str:
    return "".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))


def sparkline(series: Series, width: float = WIDTH, height: float = HEIGHT) -> Sparkline:
    """Scale posts and band to one y-axis (from zero); withheld buckets break the line."""
    points = series.points
    top = max(
        [p.posts for p in points if p.posts is not None]
        + [p.high for p in points if p.high is not None]
        + [1.0]
    )
    step = (width - 2 * PAD) / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * step

    def y(value: float) -> float:
        return height - PAD - (height - 2 * PAD) * value / top

    segments: list[list[tuple[float, float]]] = [[]]
    for i, point in enumerate(points):
        if point.posts is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x(i), y(point.posts)))
    line = "".join(_path(s) for s in segments if s)
    drawn = [s for s in segments if s]
    last = drawn[-1][-1] if drawn else None

    banded = [(i, p) for i, p in enumerate(points) if p.low is not None and p.high is not None]
    band = ""
    expected = ""
    if banded:
        upper = [(x(i), y(p.high or 0.0)) for i, p in banded]
        lower = [(x(i), y(p.low or 0.0)) for i, p in reversed(banded)]
        band = _path(upper + lower) + "Z"
        expected = _path([(x(i), y(p.expected)) for i, p in banded if p.expected is not None])
    return Sparkline(width, height, line, band, expected, last)
