"""A hand-built SVG chart of the latest backtest: national WAPE by cut-off month, the model beside the
run-rate (bars, left axis), and the P10-P90 band's coverage (dots and line, right axis) against its
70-90% target (shaded). Hand-built for the same reason as contract-service's budget chart: one small
chart does not need a plotting library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 400
LEFT, RIGHT, TOP, BOTTOM = 60, 60, 60, 60
MODEL, RUN_RATE, COVERAGE, TARGET = "#005eb8", "#768692", "#007f3b", "#e8f5e9"  # NHS blue, grey, green


@dataclass(frozen=True)
class AccuracyPoint:
    label: str  # M1 .. M11
    model_wape: float | None
    run_rate_wape: float | None
    coverage: float | None


def _top(points: Sequence[AccuracyPoint]) -> float:
    highest = max([p.model_wape or 0.0 for p in points] + [p.run_rate_wape or 0.0 for p in points])
    step = 0.02 if highest <= 0.1 else 0.05
    return max(step, (int(highest / step) + 1) * step)


def render_accuracy_chart(title: str, subtitle: str, points: Sequence[AccuracyPoint]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _top(points)
    base = TOP + plot_h

    def y_error(value: float) -> float:
        return base - value / top * plot_h

    def y_share(value: float) -> float:
        return base - value * plot_h

    slot = plot_w / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="accuracy-title" font-family="Arial, sans-serif">',
        f'<title id="accuracy-title">{escape(title)}</title>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="42" font-size="12">{escape(subtitle)}</text>',
        f'<rect class="coverage-target" x="{LEFT}" y="{y_share(0.9):.1f}" width="{plot_w}" '
        f'height="{y_share(0.7) - y_share(0.9):.1f}" fill="{TARGET}"/>',
    ]
    for i in range(5):
        level = top * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_error(level):.1f}" y2="{y_error(level):.1f}" '
            f'stroke="#d8dde0"/><text x="{LEFT - 6}" y="{y_error(level) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{100 * level:.0f}%</text>'
            f'<text x="{WIDTH - RIGHT + 6}" y="{y_share(i / 4) + 4:.1f}" font-size="11">{25 * i}%</text>'
        )
    line = []
    for i, p in enumerate(points):
        x = LEFT + i * slot
        for offset, value, colour, kind in (
            (0.12, p.model_wape, MODEL, "model"),
            (0.48, p.run_rate_wape, RUN_RATE, "run-rate"),
        ):
            if value is None:
                continue
            parts.append(
                f'<rect class="{kind}" data-month="{p.label}" data-value="{value:.4f}" x="{x + slot * offset:.1f}" '
                f'y="{y_error(value):.1f}" width="{slot * 0.36:.1f}" height="{base - y_error(value):.1f}" '
                f'fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{base + 16}" font-size="11" text-anchor="middle">{p.label}</text>'
        )
        if p.coverage is not None:
            cx, cy = x + slot / 2, y_share(p.coverage)
            line.append(f"{cx:.1f},{cy:.1f}")
            parts.append(
                f'<circle class="coverage" data-month="{p.label}" data-value="{p.coverage:.4f}" cx="{cx:.1f}" '
                f'cy="{cy:.1f}" r="4" fill="{COVERAGE}"/>'
            )
    if line:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{COVERAGE}" stroke-width="2"/>')
    legend = (
        (MODEL, "Model: national WAPE"),
        (RUN_RATE, "Run-rate: national WAPE"),
        (COVERAGE, "P10-P90 coverage (right; target 70-90%)"),
    )
    for i, (colour, label) in enumerate(legend):
        lx = LEFT + i * 215
        parts.append(
            f'<rect x="{lx}" y="{HEIGHT - 22}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="{HEIGHT - 12}" font-size="12">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{base + 32}" font-size="11">Cut-off month (forecast made when its SACT was due)</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
