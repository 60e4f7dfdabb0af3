"""Small pieces the admin pages share: links, badges, JSON, durations, sizes and the usage table."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .. import metrics
from ..charts import STATUS_COLORS
from ..models import Generation

M = Generation.Moderation

MODERATION_COLORS: dict[str, str] = {
    M.NONE: "#64748b",
    M.PENDING: "#d97706",
    M.APPROVED: "#16a34a",
    M.REJECTED: "#dc2626",
}



def app_url(name: str, *args: Any) -> str | None:
    """A URL of the app's own views, or None when the host did not mount them."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def admin_change_url(obj: Any) -> str | None:
    if obj is None:
        return None
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def link_to(obj: Any, text: Any = None) -> SafeString | str:
    if obj is None:
        return "—"
    url = admin_change_url(obj)
    label = str(obj) if text is None else text
    return format_html('<a href="{}">{}</a>', url, label) if url else label


def badge(label: str, color: str) -> SafeString:
    # A class per palette colour (admin.css), not a style attribute: the CSP allows no inline styles.
    return format_html('<span class="gmi-badge gmi-badge--{}">{}</span>', color.lstrip("#").lower(), label)


def status_badge(generation: Generation) -> SafeString:
    return badge(generation.get_status_display(), STATUS_COLORS.get(generation.status, "#64748b"))


def moderation_badge(generation: Generation) -> SafeString:
    return badge(generation.get_moderation_display(), MODERATION_COLORS.get(generation.moderation, "#64748b"))


def pretty_json(value: Any) -> SafeString:
    if value in (None, "", {}, []):
        return format_html('<span class="gmi-muted">{}</span>', "empty")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="gmi-json">{}</pre>', text)


def human_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def human_size(size: int | None) -> str:
    if not size:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def short_id(generation: Generation) -> str:
    return str(generation.pk)[:8]


def usage_table(usage: dict[str, Any]) -> SafeString:
    """Limits, usage and what remains, as a small table (shared by teams and profiles)."""
    rows = format_html_join(
        "", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (metrics.in_words(metric), "unlimited" if limit is None else limit, usage["used"].get(metric, 0),
             "—" if usage["remaining"].get(metric) is None else usage["remaining"][metric])
            for metric, limit in usage["limits"].items()
        ),
    )
    return format_html(
        '<table class="gmi-usage"><thead><tr><th>limit</th><th>effective</th><th>used</th><th>remaining</th>'
        "</tr></thead><tbody>{}</tbody></table>", rows,
    )
