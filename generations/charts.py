"""Server-rendered SVG charts (bars, stacked bars): no JavaScript, no CDN, safe to embed in any page.

Every piece of text that reaches the markup is escaped, so labels may come from users
(team names, usernames). Charts carry a ``<title>``/``<desc>`` pair for screen
readers, a ``<title>`` on every bar (shown as a tooltip), axis labels and a legend.
Text and grid lines use ``currentColor`` so a chart follows the page's colours
(the Django admin's dark theme included).
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = (
    "#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#ea580c", "#64748b",
)

#: Colours of the generation statuses, shared with the admin's status badges.
STATUS_COLORS = {
    "queued": "#64748b",
    "dispatched": "#0891b2",
    "processing": "#2563eb",
    "mirroring": "#7c3aed",
    "succeeded": "#16a34a",
    "failed": "#dc2626",
    "cancelled": "#d97706",
}

WIDTH = 720
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
_ids = itertools.count(1)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bar_chart(
    points: Sequence[tuple[str, float | int | Decimal]],
    *,
    title: str,
    unit: str = "",
    color: str = PALETTE[0],
    horizontal: bool | None = None,
    x_label: str = "",
) -> SafeString:
    """One bar per ``(label, value)`` point.

    Horizontal bars (default when labels are not dates) suit names such as teams or
    users; vertical bars suit days. ISO dates as labels are shown short ("Mar 4").
    """
    numbered = [(str(label), _number(value)) for label, value in points]
    if horizontal is None:
        horizontal = not all(_ISO_DATE.match(label) for label, _ in numbered)
    if horizontal:
        return _horizontal(numbered, title=title, unit=unit, color=color)
    return stacked_bar_chart(
        [label for label, _ in numbered], {title: [value for _, value in numbered]},
        title=title, unit=unit, colors={title: color}, legend=False, x_label=x_label,
    )


def stacked_bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | int | Decimal]],
    *,
    title: str,
    unit: str = "",
    colors: Mapping[str, str] | None = None,
    legend: bool = True,
    x_label: str = "",
) -> SafeString:
    """Vertical bars, one per label, each stacked from the series (in the mapping's order).

    Every series must have one value per label. ``colors`` maps series names to
    colours; the others take the palette in order. ``unit`` names the values (above
    the value axis and in every tooltip); ``x_label`` is a caption under the axis.
    """
    labels = [str(label) for label in labels]
    names = list(series)
    values = {name: [_number(v) for v in series[name]] for name in names}
    for name in names:
        if len(values[name]) != len(labels):
            raise ValueError(f"Series {name!r} has {len(values[name])} values for {len(labels)} labels.")
    palette = _colors(names, colors)
    totals = [sum(values[name][i] for name in names) for i in range(len(labels))]
    chart_id = f"gmi-chart-{next(_ids)}"

    top, left, right = 36, 52, 12
    plot_h = 180
    x_axis_h = 34 if x_label else 24
    legend_rows = _legend_rows(names, WIDTH - left - right) if legend and names else []
    height = top + plot_h + x_axis_h + len(legend_rows) * 18 + (8 if legend_rows else 0)
    plot_w = WIDTH - left - right
    bottom = top + plot_h
    peak, step = _nice_scale(max(totals, default=0))

    out = [_open(chart_id, height, title, _summary_stacked(labels, names, totals, unit))]
    out.append(f'<text x="0" y="16" font-size="14" font-weight="600" fill="currentColor">{escape(title)}</text>')
    if not labels or peak == 0:
        out.append(_empty(left, top, plot_w, plot_h))
    # Grid and y tick labels.
    ticks = round(peak / step) if step else 0
    for i in range(ticks + 1):
        value = step * i
        y = bottom - (value / peak * plot_h if peak else 0)
        out.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
                   f'stroke-opacity="{0.35 if i == 0 else 0.12}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="currentColor" '
                   f'fill-opacity=".75">{escape(_fmt(value))}</text>')
    if unit:
        out.append(f'<text x="{left - 6}" y="{top - 8}" font-size="11" text-anchor="end" fill="currentColor" '
                   f'fill-opacity=".75">{escape(unit)}</text>')
    # Bars.
    if labels and peak:
        slot = plot_w / len(labels)
        bar_w = max(1.0, min(slot * 0.72, 48.0))
        for i, label in enumerate(labels):
            x = left + i * slot + (slot - bar_w) / 2
            y = float(bottom)
            out.append(f'<g><title>{escape(_tooltip_label(label))}: {escape(_fmt(totals[i]))}'
                       f'{escape(_unit(unit))}</title>')
            for name in names:
                value = values[name][i]
                if value <= 0:
                    continue
                h = value / peak * plot_h
                y -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{palette[name]}">'
                    f'<title>{escape(_tooltip_label(label))} · {escape(name)}: {escape(_fmt(value))}'
                    f'{escape(_unit(unit))}</title></rect>'
                )
            out.append("</g>")
        # X labels, thinned so they never overlap (about one per 64px).
        # Counted back from the last label, so the latest day is always named.
        every = max(1, math.ceil(len(labels) / max(1, int(plot_w // 64))))
        for i, label in enumerate(labels):
            if (len(labels) - 1 - i) % every:
                continue
            cx = left + i * slot + slot / 2
            out.append(f'<text x="{cx:.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle" '
                       f'fill="currentColor" fill-opacity=".75">{escape(_short(label))}</text>')
    if x_label:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 31}" font-size="11" text-anchor="middle" '
                   f'fill="currentColor" fill-opacity=".75">{escape(x_label)}</text>')
    # Legend.
    y = bottom + x_axis_h + 12
    for row in legend_rows:
        x = float(left)
        for name, width in row:
            out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" rx="2" fill="{palette[name]}"/>')
            out.append(f'<text x="{x + 14:.1f}" y="{y}" font-size="11" fill="currentColor">{escape(name)}</text>')
            x += width
        y += 18
    out.append("</svg>")
    return mark_safe("".join(out))


def _horizontal(points: list[tuple[str, float]], *, title: str, unit: str, color: str) -> SafeString:
    chart_id = f"gmi-chart-{next(_ids)}"
    row_h, top = 24, 30
    label_w = min(200, max([len(label) for label, _ in points] + [6]) * 7 + 12)
    value_w = 100
    left = label_w
    plot_w = WIDTH - left - value_w
    height = top + max(1, len(points)) * row_h + 8
    peak = max([value for _, value in points] + [0])
    summary = "; ".join(f"{label}: {_fmt(value)}{_unit(unit)}" for label, value in points) or "No data."
    out = [_open(chart_id, height, title, summary)]
    out.append(f'<text x="0" y="16" font-size="14" font-weight="600" fill="currentColor">{escape(title)}</text>')
    if not points or peak == 0:
        out.append(_empty(left, top, plot_w, height - top - 8))
    for i, (label, value) in enumerate(points):
        y = top + i * row_h
        shown = label if len(label) * 7 + 12 <= label_w else label[: max(1, (label_w - 12) // 7 - 1)] + "…"
        width = (value / peak * plot_w) if peak else 0
        out.append(f'<g><title>{escape(label)}: {escape(_fmt(value))}{escape(_unit(unit))}</title>')
        out.append(f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" '
                   f'fill="currentColor">{escape(shown)}</text>')
        out.append(f'<rect x="{left}" y="{y + 4}" width="{max(width, 1 if value else 0):.1f}" height="{row_h - 8}" '
                   f'rx="2" fill="{escape(color)}"/>')
        out.append(f'<text x="{left + width + 6:.1f}" y="{y + 16}" font-size="11" fill="currentColor" '
                   f'fill-opacity=".8">{escape(_fmt(value))}{escape(_unit(unit))}</text>')
        out.append("</g>")
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - 8}" stroke="currentColor" '
               f'stroke-opacity=".35"/>')
    out.append("</svg>")
    return mark_safe("".join(out))


def _open(chart_id: str, height: int, title: str, description: str) -> str:
    return (
        f'<svg class="gmi-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" {FONT}'
        ">"  # sized by the .gmi-chart rule: the CSP allows no inline styles
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>'
    )


def _empty(left: float, top: float, width: float, height: float) -> str:
    return (f'<text x="{left + width / 2:.1f}" y="{top + height / 2:.1f}" font-size="13" text-anchor="middle" '
            f'fill="currentColor" fill-opacity=".6">No data for this period.</text>')


def _summary_stacked(labels: list[str], names: list[str], totals: list[float], unit: str) -> str:
    if not labels:
        return "No data."
    total = sum(totals)
    busiest = max(range(len(labels)), key=lambda i: totals[i])
    parts = [f"{len(labels)} bars from {labels[0]} to {labels[-1]}, total {_fmt(total)}{_unit(unit)}"]
    if total:
        parts.append(f"highest {_fmt(totals[busiest])}{_unit(unit)} on {labels[busiest]}")
    if names:
        parts.append("series: " + ", ".join(names))
    return "; ".join(parts) + "."


def _legend_rows(names: list[str], width: float) -> list[list[tuple[str, float]]]:
    rows: list[list[tuple[str, float]]] = [[]]
    used = 0.0
    for name in names:
        item = 14 + len(name) * 6.6 + 18
        if rows[-1] and used + item > width:
            rows.append([])
            used = 0.0
        rows[-1].append((name, item))
        used += item
    return rows


def _colors(names: list[str], colors: Mapping[str, str] | None) -> dict[str, SafeString]:
    chosen = dict(colors or {})
    spare = itertools.cycle(PALETTE)
    result = {}
    for name in names:
        result[name] = escape(chosen.get(name) or next(spare))
    return result


def _nice_scale(peak: float) -> tuple[float, float]:
    """A round axis maximum at or above ``peak`` and a step giving about four grid lines."""
    if peak <= 0:
        return 0.0, 0.0
    raw = peak / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    if peak <= 4 and float(peak).is_integer():
        step = 1.0  # small counts: whole jobs only
    return math.ceil(peak / step) * step, step


def _number(value: float | int | Decimal | None) -> float:
    if value is None:
        return 0.0
    return float(value)


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _short(label: str) -> str:
    if _ISO_DATE.match(label):
        day = date.fromisoformat(label)
        return f"{day:%b} {day.day}"
    return label if len(label) <= 12 else label[:11] + "…"


def _tooltip_label(label: str) -> str:
    if _ISO_DATE.match(label):
        day = date.fromisoformat(label)
        return f"{day:%a} {day:%b} {day.day}, {day.year}"
    return label
