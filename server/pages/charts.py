"""Small server-rendered SVG: a person's temperature chart, the district's 14 days, QR codes.

Rendered on the server so they show on any phone without JavaScript, print well, and carry a text
description for screen readers (the table next to each chart holds the same numbers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import segno
from markupsafe import Markup, escape

from monitoring import Rules


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    temperature_c: float


def _f(value: float) -> str:
    return f"{value:.1f}"


def temperature_chart(points: Sequence[Point], *, rules: Rules, start: datetime, end: datetime, title: str,
                      description: str, fever_label: str, day_label: Callable[[date], str]) -> Markup:
    """Temperatures over time with the fever line; fever readings are drawn as larger squares, not
    only in another colour."""
    # A narrow canvas keeps the labels legible: a 360 px phone draws it ~290 px wide, so 16-unit text
    # stays above 14 px on screen (it was ~10 px on a 480-unit canvas).
    width, height = 320, 210
    left, right, top, bottom = 36, 8, 12, 28
    lo = min([35.5, *(p.temperature_c - 0.3 for p in points)])
    hi = max([39.5, *(p.temperature_c + 0.3 for p in points)])
    lo, hi = float(int(lo)), float(int(hi) + 1) if hi != int(hi) else hi
    if end <= start:
        end = start + timedelta(hours=12)
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return left + (width - left - right) * max(0.0, min(1.0, (at - start).total_seconds() / span))

    def y(value: float) -> float:
        return top + (height - top - bottom) * (hi - value) / (hi - lo)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="tc-title tc-desc" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="tc-title">{escape(title)}</title><desc id="tc-desc">{escape(description)}</desc>',
    ]
    degree = int(lo)
    while degree <= hi:
        gy = y(degree)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_f(gy)}" y2="{_f(gy)}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{_f(gy + 4)}" text-anchor="end">{degree}°</text>')
        degree += 1
    # Day ticks at local midnights; at most ~4 labels so they never overlap on a phone.
    tz = rules.tz
    first_day = start.astimezone(tz).date()
    days = (end.astimezone(tz).date() - first_day).days + 1
    step = max(1, -(-days // 4))
    for offset in range(0, days + 1, step):
        day = first_day + timedelta(days=offset)
        at = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        if start <= at <= end:
            gx = x(at)
            parts.append(f'<line class="grid" x1="{_f(gx)}" x2="{_f(gx)}" y1="{top}" y2="{height - bottom}"/>')
            parts.append(f'<text class="axis" x="{_f(gx)}" y="{height - bottom + 18}" '
                         f'text-anchor="middle">{escape(day_label(day))}</text>')
    fy = y(rules.fever_c)
    parts.append(f'<line class="fever-line" x1="{left}" x2="{width - right}" y1="{_f(fy)}" y2="{_f(fy)}"/>')
    parts.append(f'<text class="fever-label" x="{width - right - 4}" y="{_f(fy - 6)}" '
                 f'text-anchor="end">{escape(fever_label)}</text>')
    ordered = sorted(points, key=lambda p: p.at)
    if len(ordered) > 1:
        path = " ".join(f"{_f(x(p.at))},{_f(y(p.temperature_c))}" for p in ordered)
        parts.append(f'<polyline class="trace" points="{path}"/>')
    for p in ordered:
        px, py = x(p.at), y(p.temperature_c)
        if p.temperature_c >= rules.fever_c:
            parts.append(f'<rect class="point fever" x="{_f(px - 7)}" y="{_f(py - 7)}" width="14" height="14"/>')
        else:
            parts.append(f'<circle class="point" cx="{_f(px)}" cy="{_f(py)}" r="4"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    readings: int
    abnormal: int


def daily_chart(days: Sequence[DayCount], *, title: str, description: str, readings_label: str,
                abnormal_label: str, day_label: Callable[[date], str]) -> Markup:
    """Readings per day with the abnormal ones beside them; both bars carry their number as text."""
    # Narrow for the same reason as the temperature chart: labels stay legible on a phone.
    width, height = 360, 220
    left, right, top, bottom = 30, 6, 30, 30
    peak = max([1, *(d.readings for d in days)])
    slot = (width - left - right) / max(1, len(days))
    bar = slot * 0.36

    def y(value: int) -> float:
        return top + (height - top - bottom) * (1 - value / peak)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="dc-title dc-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="dc-title">{escape(title)}</title><desc id="dc-desc">{escape(description)}</desc>',
        f'<rect class="legend readings" x="{left}" y="6" width="12" height="12"/>'
        f'<text class="axis" x="{left + 18}" y="16">{escape(readings_label)}</text>',
        f'<rect class="legend abnormal" x="{left + 160}" y="6" width="12" height="12"/>'
        f'<text class="axis" x="{left + 178}" y="16">{escape(abnormal_label)}</text>',
        f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_f(y(0))}" y2="{_f(y(0))}"/>',
        f'<text class="axis" x="{left - 6}" y="{_f(y(peak) + 4)}" text-anchor="end">{peak}</text>',
    ]
    for i, d in enumerate(days):
        x0 = left + slot * i + slot * 0.12
        for offset, value, css in ((0.0, d.readings, "readings"), (bar, d.abnormal, "abnormal")):
            top_y = y(value)
            parts.append(f'<rect class="bar {css}" x="{_f(x0 + offset)}" y="{_f(top_y)}" width="{_f(bar)}" '
                         f'height="{_f(y(0) - top_y)}"/>')
        if (len(days) - 1 - i) % 3 == 0:
            parts.append(f'<text class="axis" x="{_f(x0 + bar)}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(day_label(d.day))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def qr_svg(url: str, *, title: str) -> Markup:
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(scale=1, border=2, omitsize=True, svgclass="qr", title=title, dark="#000",
                                light="#fff"))


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[int]
    css: str


def trend_chart(days: Sequence[date], series: Sequence[Series], *, title: str, description: str,
                day_label: Callable[[date], str]) -> Markup:
    """Small multiples, one band per series with its own scale (people under observation run to
    hundreds of thousands, new fevers to tens): bars per day, the latest value written beside the
    band's label. Text is 16 units on a 360-unit canvas, as in the other charts, so it stays above
    14 px wherever the chart is drawn at least 315 px wide (the page and the printed A4 are wider)."""
    width, band, top, bottom, left = 360, 62, 8, 26, 6
    height = top + band * len(series) + bottom
    slot = (width - 2 * left) / max(1, len(days))
    parts = [
        f'<svg class="chart trend" viewBox="0 0 {width} {height}" role="img" aria-labelledby="tr-title tr-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="tr-title">{escape(title)}</title><desc id="tr-desc">{escape(description)}</desc>',
    ]
    for index, s in enumerate(series):
        y0 = top + band * index
        peak = max([1, *s.values])
        latest = s.values[-1] if s.values else 0
        parts.append(f'<text class="axis" x="{left}" y="{y0 + 16}">{escape(s.label)}: {latest:,}</text>')
        base = y0 + band - 6
        for i, value in enumerate(s.values):
            h = (band - 28) * value / peak
            parts.append(f'<rect class="bar {s.css}" x="{_f(left + slot * i + slot * 0.15)}" y="{_f(base - h)}" '
                         f'width="{_f(slot * 0.7)}" height="{_f(h)}"/>')
        parts.append(f'<line class="grid" x1="{left}" x2="{width - left}" y1="{base}" y2="{base}"/>')
    for i, d in enumerate(days):
        if (len(days) - 1 - i) % 4 == 0:
            # The latest day's label ends at the right edge instead of being cut by it.
            last = i == len(days) - 1
            x = width - left if last else left + slot * i + slot / 2
            parts.append(f'<text class="axis" x="{_f(x)}" y="{height - 8}" '
                         f'text-anchor="{"end" if last else "middle"}">{escape(day_label(d))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
