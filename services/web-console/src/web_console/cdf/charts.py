"""Server-rendered SVG charts for the CDF forecast pages and the IFR decision-consistency page, readable
without colour: every series has its
own pattern (solid, hatched, dotted, striped) shown in the legend, values are written beside what they
mark, and each chart has a title and a description (the page gives the figures as a table too). Drawn
by hand, as cdf-service's accuracy chart is: two small charts do not need a plotting library. Only
presentation attributes are used (no style attributes), so the console's content security policy holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

INK, BLUE, DARK, GREY = "#212b32", "#005eb8", "#003087", "#4c6272"
FONT = 'font-family="Frutiger W01, Arial, sans-serif"'
PATTERNS = {
    "solid": "",
    "hatch": '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="{ink}" stroke-width="2"/>',
    "dots": '<circle cx="4" cy="4" r="1.8" fill="{ink}"/>',
    "stripes": '<path d="M0,2 h8 M0,6 h8" stroke="{ink}" stroke-width="1.5"/>',
}


@dataclass(frozen=True)
class Series:
    name: str
    pattern: str  # a key of PATTERNS


def _defs(chart_id: str) -> str:
    parts = [
        f'<pattern id="{chart_id}-{name}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="#ffffff"/>{shape.format(ink=DARK)}</pattern>'
        for name, shape in PATTERNS.items()
        if shape
    ]
    return f"<defs>{''.join(parts)}</defs>"


def _fill(chart_id: str, pattern: str) -> str:
    return f'fill="{BLUE}"' if pattern == "solid" else f'fill="url(#{chart_id}-{pattern})" stroke="{DARK}"'


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-svg-chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>',
        _defs(chart_id),
    ]


def _legend(chart_id: str, series: Sequence[Series], x: float, y: float, step: float = 160) -> list[str]:
    parts = []
    for i, s in enumerate(series):
        lx = x + i * step
        parts.append(
            f'<rect x="{lx:.0f}" y="{y - 12:.0f}" width="16" height="16" {_fill(chart_id, s.pattern)}/>'
            f'<text x="{lx + 22:.0f}" y="{y + 1:.0f}" font-size="14" fill="{INK}">{escape(s.name)}</text>'
        )
    return parts


def _nice_top(highest: float) -> float:
    if highest <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(highest))) - 1) if highest >= 1 else 0.1
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        while top < highest:
            top += step * magnitude
        if top / highest < 1.35:
            return top
    return highest * 1.2


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[float]],
    worded: Callable[[float], str],
    *,
    stacked: bool,
) -> Markup:
    """Bars by category, one per series side by side or stacked (`values[series][category]`); the axis
    and the total (stacked) or each value (side by side) written in words by `worded`."""
    width, height, left, right, top_gap, bottom = 760, 380, 90, 16, 24, 78
    plot_w, plot_h, base = width - left - right, height - top_gap - bottom, height - bottom
    columns = list(zip(*values, strict=True))
    totals = [sum(col) if stacked else max(col) for col in columns]
    top = _nice_top(max(totals, default=0.0))
    slot = plot_w / max(len(categories), 1)

    def y(value: float) -> float:
        return base - value / top * plot_h

    parts = _open(chart_id, width, height, title, description)
    for i in range(5):
        tick = top * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d8dde0"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="12" text-anchor="end" fill="{INK}">'
            f"{escape(worded(tick))}</text>"
        )
    bar_w = slot * (0.7 if stacked else 0.8 / max(len(series), 1))
    for c, category in enumerate(categories):
        x0 = left + c * slot + slot * (0.15 if stacked else 0.1)
        floor = 0.0
        for s, one in enumerate(series):
            value = values[s][c]
            x = x0 if stacked else x0 + s * bar_w
            low, high = (floor, floor + value) if stacked else (0.0, value)
            if value > 0:
                parts.append(
                    f'<rect data-series="{escape(one.name)}" data-category="{escape(category)}" data-value="{value}" '
                    f'x="{x:.1f}" y="{y(high):.1f}" width="{bar_w:.1f}" height="{y(low) - y(high):.1f}" '
                    f"{_fill(chart_id, one.pattern)}/>"
                )
            if not stacked and value > 0:
                parts.append(_value_label(x + bar_w / 2, y(high) - 4, worded(value), 10))
            floor = high if stacked else floor
        if stacked and totals[c] > 0:
            parts.append(_value_label(x0 + bar_w / 2, y(totals[c]) - 4, worded(totals[c]), 10))
        parts.append(
            f'<text x="{left + c * slot + slot / 2:.1f}" y="{base + 18}" font-size="12" text-anchor="middle" '
            f'fill="{INK}">{escape(category)}</text>'
        )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="{INK}"/>')
    parts += _legend(chart_id, series, left, height - 18)
    parts.append("</svg>")
    return Markup("".join(parts))


def _value_label(x: float, y: float, text: str, size: int) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="middle" fill="{INK}">{escape(text)}</text>'


@dataclass(frozen=True)
class Outturn:
    forecast: float
    lower: float  # P10
    upper: float  # P90
    run_rate: float
    actual_to_date: float


def outturn_chart(chart_id: str, title: str, description: str, o: Outturn, worded: Callable[[float], str]) -> Markup:
    """The year's outturn on one scale: spent so far (solid), the P10-P90 band (hatched) with the
    forecast marked in it, and the run-rate's outturn (dotted), each labelled with its figure."""
    width, height, left, right = 760, 250, 170, 170  # room on the right for each bar's figure
    scale = _nice_top(max(o.upper, o.run_rate, o.forecast, o.actual_to_date))
    plot_w = width - left - right

    def x(value: float) -> float:
        return left + value / scale * plot_w

    rows = (
        ("Spent so far", 30, "solid", 0.0, o.actual_to_date, worded(o.actual_to_date)),
        ("Forecast, P10 to P90", 100, "hatch", o.lower, o.upper, f"{worded(o.lower)} to {worded(o.upper)}"),
        ("Run-rate outturn", 170, "dots", 0.0, o.run_rate, worded(o.run_rate)),
    )
    parts = _open(chart_id, width, height, title, description)
    for i in range(5):
        tick = scale * i / 4
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="20" y2="210" stroke="#d8dde0"/>'
            f'<text x="{x(tick):.1f}" y="228" font-size="12" text-anchor="middle" fill="{INK}">'
            f"{escape(worded(tick))}</text>"
        )
    for name, top, pattern, low, high, label in rows:
        parts.append(
            f'<text x="{left - 8}" y="{top + 19}" font-size="14" text-anchor="end" fill="{INK}">{escape(name)}</text>'
            f'<rect data-row="{escape(name)}" x="{x(low):.1f}" y="{top}" width="{max(x(high) - x(low), 1):.1f}" '
            f'height="28" {_fill(chart_id, pattern)}/>'
            f'<text x="{x(high) + 8:.1f}" y="{top + 19}" font-size="12" fill="{INK}">{escape(label)}</text>'
        )
    marker = x(o.forecast)
    parts.append(
        f'<line data-row="forecast" x1="{marker:.1f}" x2="{marker:.1f}" y1="94" y2="134" stroke="{INK}" '
        f'stroke-width="4"/><text x="{marker:.1f}" y="152" font-size="13" font-weight="bold" text-anchor="middle" '
        f'fill="{INK}">Forecast {escape(worded(o.forecast))}</text>'
    )
    parts.append(f'<line x1="{left}" x2="{left}" y1="20" y2="210" stroke="{INK}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class IntervalRow:
    """One group's rate and its interval (fractions of 1), written out in `figures`."""

    label: str
    rate: float
    low: float
    high: float
    figures: str
    flagged: bool = False


def interval_chart(
    chart_id: str, title: str, description: str, rows: Sequence[IntervalRow], reference: float | None = None
) -> Markup:
    """Rates on one 0-100% scale, a row each: the interval as a line with end ticks, the rate as a dot,
    or as a larger diamond with "flagged" beside the name when the row is flagged (shape and words, not
    colour); each row's figures written on its right; `reference` (all groups together) a dashed line."""
    left, plot_w, row_h, top = 250, 280, 40, 34  # room for "East of England (flagged)" in bold
    width, height = 760, top + row_h * len(rows) + 64

    def x(rate: float) -> float:
        return left + rate * plot_w

    parts = _open(chart_id, width, height, title, description)
    bottom = top + row_h * len(rows)
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 8}" y2="{bottom}" stroke="#d8dde0"/>'
            f'<text x="{x(tick):.1f}" y="{bottom + 18}" font-size="12" text-anchor="middle" fill="{INK}">'
            f"{tick:.0%}</text>"
        )
    if reference is not None:
        parts.append(
            f'<line data-row="reference" x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{top - 14}" '
            f'y2="{bottom}" stroke="{INK}" stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{x(reference):.1f}" y="{top - 18}" font-size="12" text-anchor="middle" fill="{INK}">'
            f"All together {reference:.0%}</text>"
        )
    for i, row in enumerate(rows):
        mid = top + row_h * i + row_h / 2
        weight = ' font-weight="bold"' if row.flagged else ""
        name = f"{row.label} (flagged)" if row.flagged else row.label
        parts.append(
            f'<text x="{left - 10}" y="{mid + 5:.1f}" font-size="14" text-anchor="end" fill="{INK}"{weight}>'
            f"{escape(name)}</text>"
            f'<g data-row="{escape(row.label)}" data-rate="{row.rate}" data-flagged="{str(row.flagged).lower()}">'
            f'<line x1="{x(row.low):.1f}" x2="{x(row.high):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{DARK}" '
            f'stroke-width="3"/>'
            f'<line x1="{x(row.low):.1f}" x2="{x(row.low):.1f}" y1="{mid - 7:.1f}" y2="{mid + 7:.1f}" stroke="{DARK}" '
            f'stroke-width="2"/>'
            f'<line x1="{x(row.high):.1f}" x2="{x(row.high):.1f}" y1="{mid - 7:.1f}" y2="{mid + 7:.1f}" '
            f'stroke="{DARK}" stroke-width="2"/>'
        )
        cx = x(row.rate)
        if row.flagged:
            parts.append(
                f'<path d="M{cx:.1f},{mid - 11:.1f} l11,11 l-11,11 l-11,-11 z" fill="{INK}" stroke="#ffffff" '
                f'stroke-width="1.5"/>'
            )
        else:
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{mid:.1f}" r="6" fill="{BLUE}" stroke="#ffffff" stroke-width="1.5"/>'
            )
        parts.append(
            f'</g><text x="{left + plot_w + 14}" y="{mid + 5:.1f}" font-size="12" fill="{INK}"{weight}>'
            f"{escape(row.figures)}</text>"
        )
    legend_y = height - 16
    parts.append(
        f'<circle cx="{left + 6}" cy="{legend_y - 4}" r="6" fill="{BLUE}"/>'
        f'<text x="{left + 18}" y="{legend_y + 1}" font-size="13" fill="{INK}">approval rate</text>'
        f'<line x1="{left + 130}" x2="{left + 160}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{DARK}" '
        f'stroke-width="3"/><text x="{left + 168}" y="{legend_y + 1}" font-size="13" fill="{INK}">95% interval</text>'
        f'<path d="M{left + 290},{legend_y - 14} l10,10 l-10,10 l-10,-10 z" fill="{INK}"/>'
        f'<text x="{left + 306}" y="{legend_y + 1}" font-size="13" fill="{INK}">flagged: differs beyond chance</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
