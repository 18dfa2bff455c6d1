"""Server-side SVG charts: no script, no network, readable by screen readers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>``; the pages also
show the same numbers in a table, so nothing is only in a picture. Colours come from CSS
classes (``series-0`` ...), so the print stylesheet and high-contrast modes can restyle
them. Every label is escaped.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 80, 28, 16, 56

Number = float | int


@dataclass(frozen=True)
class Series:
    """One named run of values (None: no value at that point)."""

    name: str
    values: Sequence[Number | None]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (always includes 0 when low is 0)."""
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def plain(value: float) -> str:
    """A tick label: thousands separated, no needless decimals."""
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _open(title: str, desc: str, *, width: int = WIDTH, height: int = HEIGHT,
          css: str = "chart") -> list[str]:
    return [f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            f"<title>{escape(title)}</title>", f"<desc>{escape(desc)}</desc>"]


def _legend(names: Sequence[str], *, y: float) -> list[str]:
    out, x = [], LEFT
    for i, name in enumerate(names):
        out.append(f'<rect class="series-{i}" x="{x}" y="{y - 10}" width="12" height="12"/>')
        out.append(f'<text class="legend" x="{x + 16}" y="{y}">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    return out


def _y_axis(ticks: Sequence[float], scale: Callable[[float], float], fmt: Callable[[float], str],
            *, width: int = WIDTH) -> list[str]:
    out = []
    for tick in ticks:
        y = scale(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{escape(fmt(tick))}</text>')
    return out


def bar_chart(categories: Sequence[str], series: Sequence[Series], *, title: str, desc: str,
              fmt: Callable[[float], str] = plain) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series."""
    values = [float(v) for s in series for v in s.values if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    ticks = nice_ticks(low, high if high > low else low + 1)
    lo, hi = ticks[0], ticks[-1]
    plot_h = HEIGHT - TOP - BOTTOM

    def scale(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo)

    out = _open(title, desc)
    out += _y_axis(ticks, scale, fmt)
    n = max(len(categories), 1)
    band = (WIDTH - LEFT - RIGHT) / n
    bar = band * 0.8 / max(len(series), 1)
    zero = scale(0.0)
    for i, category in enumerate(categories):
        x0 = LEFT + i * band + band * 0.1
        for j, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            y = scale(float(v))
            top, h = min(y, zero), abs(zero - y)
            out.append(f'<rect class="series-{j}" x="{x0 + j * bar:.1f}" y="{top:.1f}" '
                       f'width="{bar * 0.92:.1f}" height="{max(h, 0.5):.1f}">'
                       f"<title>{escape(category)}, {escape(s.name)}: "
                       f"{escape(fmt(float(v)))}</title></rect>")
        fits = max(3, int(band / 7.5))
        label = category if len(category) <= fits else category[:fits - 1] + "…"
        out.append(f'<text class="tick" x="{LEFT + (i + 0.5) * band:.1f}" '
                   f'y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" '
               f'y2="{zero:.1f}"/>')
    if len(series) > 1:
        out += _legend([s.name for s in series], y=HEIGHT - 10)
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(xs: Sequence[float], series: Sequence[Series], *, title: str, desc: str,
               x_labels: Sequence[str] | None = None, marker_x: float | None = None,
               marker_label: str = "", fmt: Callable[[float], str] = plain,
               y_min: float | None = None) -> Markup:
    """Lines over numeric x positions (a gap where a value is None), an optional marker."""
    values = [float(v) for s in series for v in s.values if v is not None]
    low = y_min if y_min is not None else min([0.0, *values])
    high = max([low + 1e-9, *values])
    ticks = nice_ticks(low, high)
    lo, hi = ticks[0], ticks[-1]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * (x - x_lo) / (x_hi - x_lo)

    def sy(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo)

    out = _open(title, desc)
    out += _y_axis(ticks, sy, fmt)
    labels = list(x_labels) if x_labels is not None else [plain(x) for x in xs]
    every = max(1, math.ceil(len(xs) / 12))
    for i, (x, label) in enumerate(zip(xs, labels, strict=True)):
        if i % every == 0 or i == len(xs) - 1:
            out.append(f'<text class="tick" x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                       f'text-anchor="middle">{escape(label)}</text>')
    if marker_x is not None:
        out.append(f'<line class="marker" x1="{sx(marker_x):.1f}" x2="{sx(marker_x):.1f}" '
                   f'y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        out.append(f'<text class="tick" x="{sx(marker_x) + 4:.1f}" y="{TOP + 12}">'
                   f"{escape(marker_label)}</text>")
    for j, s in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, (x, v) in enumerate(zip(xs, s.values, strict=True)):
            if v is None:
                runs.append([])
                continue
            runs[-1].append(f"{sx(x):.1f},{sy(float(v)):.1f}")
            out.append(f'<circle class="series-{j}" cx="{sx(x):.1f}" cy="{sy(float(v)):.1f}" '
                       f'r="3"><title>{escape(s.name)} at {escape(labels[i])}: '
                       f"{escape(fmt(float(v)))}</title></circle>")
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline class="line series-{j}" points="{" ".join(run)}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(lo):.1f}" '
               f'y2="{sy(lo):.1f}"/>')
    if len(series) > 1:
        out += _legend([s.name for s in series], y=HEIGHT - 10)
    out.append("</svg>")
    return Markup("".join(out))


def diverging_bars(labels: Sequence[str], values: Sequence[float], *, title: str,
                   desc: str) -> Markup:
    """Horizontal bars left (negative) or right (positive) of zero: one per factor."""
    row, pad = 28, 8
    width, label_w, value_w = WIDTH, 260, 56
    height = pad * 2 + row * max(len(labels), 1)
    top = max([abs(float(v)) for v in values] + [1e-9])
    half = (width - label_w - value_w - 8) / 2
    centre = label_w + half
    out = _open(title, desc, height=height, css="chart bars")
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = pad + i * row
        length = half * abs(float(value)) / top
        x = centre if value >= 0 else centre - length
        css = "positive" if value >= 0 else "negative"
        text = label if len(label) <= 40 else label[:39] + "…"
        out.append(f'<text class="tick" x="{label_w - 8}" y="{y + 17}" '
                   f'text-anchor="end">{escape(text)}</text>')
        out.append(f'<rect class="{css}" x="{x:.1f}" y="{y + 4}" width="{max(length, 1):.1f}" '
                   f'height="{row - 8}"><title>{escape(label)}: {value:+.2f}</title></rect>')
        out.append(f'<text class="tick" x="{width - 4}" y="{y + 17}" '
                   f'text-anchor="end">{value:+.2f}</text>')
    out.append(f'<line class="axis" x1="{centre:.1f}" x2="{centre:.1f}" y1="{pad}" '
               f'y2="{height - pad}"/>')
    out.append("</svg>")
    return Markup("".join(out))


def calibration_chart(predicted: Sequence[float], observed: Sequence[float],
                      counts: Sequence[int], *, title: str, desc: str) -> Markup:
    """Observed rate against mean predicted probability, with the diagonal of perfection."""
    size = 360
    plot = size - LEFT - RIGHT

    def sx(p: float) -> float:
        return LEFT + plot * p

    def sy(p: float) -> float:
        return TOP + plot * (1 - p)

    out = _open(title, desc, width=size, height=size + 40, css="chart square")
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    for t in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot}" y1="{sy(t):.1f}" '
                   f'y2="{sy(t):.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{sy(t) + 4:.1f}" '
                   f'text-anchor="end">{t:g}</text>')
        out.append(f'<text class="tick" x="{sx(t):.1f}" y="{TOP + plot + 16}" '
                   f'text-anchor="middle">{t:g}</text>')
    out.append(f'<line class="marker" x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}"/>')
    points = []
    for p, o, n in zip(predicted, observed, counts, strict=True):
        points.append(f"{sx(p):.1f},{sy(o):.1f}")
        out.append(f'<circle class="series-0" cx="{sx(p):.1f}" cy="{sy(o):.1f}" r="4">'
                   f"<title>predicted {p:.3f}, observed {o:.3f} (n={n})</title></circle>")
    if len(points) > 1:
        out.append(f'<polyline class="line series-0" points="{" ".join(points)}"/>')
    out.append(f'<text class="tick" x="{LEFT + plot / 2}" y="{size + 24}" '
               f'text-anchor="middle">mean predicted probability</text>')
    out.append("</svg>")
    return Markup("".join(out))


def timeline(start: date, end: date, points: Sequence[tuple[date, str]],
             spans: Sequence[tuple[date, date | None, str]], *, title: str,
             desc: str) -> Markup:
    """Offences as ticks on a time axis, custody spells as shaded spans behind them."""
    height = 110
    plot_w = WIDTH - LEFT - RIGHT
    total = max((end - start).days, 1)

    def sx(day: date) -> float:
        return LEFT + plot_w * min(max((day - start).days, 0), total) / total

    out = _open(title, desc, height=height, css="chart timeline")
    for s_on, e_on, label in spans:
        x0, x1 = sx(s_on), sx(e_on or end)
        out.append(f'<rect class="custody" x="{x0:.1f}" y="16" width="{max(x1 - x0, 1):.1f}" '
                   f'height="50"><title>{escape(label)}</title></rect>')
    for day, label in points:
        x = sx(day)
        out.append(f'<line class="offence" x1="{x:.1f}" x2="{x:.1f}" y1="22" y2="60">'
                   f"<title>{escape(label)}</title></line>")
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="66" y2="66"/>')
    for year in range(start.year + 1, end.year + 1):
        x = sx(date(year, 1, 1))
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="16" y2="70"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="86" text-anchor="middle">{year}</text>')
    out.append("</svg>")
    return Markup("".join(out))
