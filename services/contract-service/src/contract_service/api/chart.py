"""A hand-built SVG chart: monthly actual and forecast spend against the budget's monthly profile.

Hand-built because it is one chart of twelve bars: a plotting library would add a large dependency
for little. Bars stack actual (dark) and forecast (light) per month; the dashed line is the annual
budget spread evenly over twelve months; the title states outturn, budget and variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 60, 50
ACTUAL, FORECAST, BUDGET = "#005eb8", "#41b6e6", "#da291c"  # NHS blue, light blue, red


@dataclass(frozen=True)
class ChartMonth:
    label: str  # M1 .. M12
    actual: Decimal
    forecast: Decimal


def money(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.0f}"


def _scale(months: Sequence[ChartMonth], monthly_budget: Decimal) -> Decimal:
    top = max([m.actual + m.forecast for m in months] + [monthly_budget])
    return top * Decimal("1.1") if top > 0 else Decimal(1)


def render_chart(title: str, months: Sequence[ChartMonth], budget: Decimal, outturn: Decimal) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _scale(months, budget / 12)

    def y(value: Decimal) -> float:
        return TOP + plot_h - float(value / top) * plot_h

    slot = plot_w / max(len(months), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" font-family="Arial, sans-serif">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="42" font-size="13">Forecast outturn {money(outturn)} against budget {money(budget)}'
        f" (variance {money(outturn - budget)})</text>",
    ]
    for i in range(5):  # gridlines and y-axis labels
        value = top * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d8dde0"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end">{money(value)}</text>'
        )
    for i, month in enumerate(months):
        x = LEFT + i * slot + slot * 0.15
        w = slot * 0.7
        base = y(Decimal(0))
        actual_top = y(month.actual)
        parts.append(
            f'<rect class="actual" data-month="{month.label}" data-value="{month.actual}" x="{x:.1f}" '
            f'y="{actual_top:.1f}" width="{w:.1f}" height="{base - actual_top:.1f}" fill="{ACTUAL}"/>'
        )
        forecast_top = y(month.actual + month.forecast)
        parts.append(
            f'<rect class="forecast" data-month="{month.label}" data-value="{month.forecast}" x="{x:.1f}" '
            f'y="{forecast_top:.1f}" width="{w:.1f}" height="{actual_top - forecast_top:.1f}" fill="{FORECAST}"/>'
        )
        parts.append(
            f'<text x="{x + w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle">'
            f"{month.label}</text>"
        )
    budget_y = y(budget / 12)
    parts.append(
        f'<line class="budget" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{budget_y:.1f}" y2="{budget_y:.1f}" '
        f'stroke="{BUDGET}" stroke-width="2" stroke-dasharray="6 4"/>'
    )
    legend_y = HEIGHT - 12
    for offset, (colour, label) in enumerate(
        ((ACTUAL, "Actual"), (FORECAST, "Forecast"), (BUDGET, "Budget (monthly profile)"))
    ):
        lx = LEFT + offset * 140
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="{legend_y}" font-size="12">{label}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
