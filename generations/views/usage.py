"""The usage page: every limit with what is used and when it resets, and 30 days of usage as a chart."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from .. import charts, metrics, reports
from ..models import Team
from ..selectors import quotas as quota_reads
from ..types import AuthenticatedHttpRequest
from .base import render_page


def meters(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """Limits, usage and reset times from ``quota_reads.usage_for_*`` as rows for the meter template."""
    rows = []
    for key, limit in usage.get("limits", {}).items():
        label, unit = metrics.label(key), metrics.unit(key)
        used = usage.get("used", {}).get(key, 0) or 0
        percent = 0
        if limit:
            percent = max(0, min(100, round(float(used) / float(limit) * 100)))
        elif limit == 0:
            percent = 100
        rows.append({
            "key": key, "label": label, "unit": unit, "limit": limit, "used": used,
            "remaining": usage.get("remaining", {}).get(key), "percent": percent,
            "unlimited": limit is None, "state": "full" if percent >= 100 else "warn" if percent >= 80 else "ok",
            "resets_at": usage.get("resets_at", {}).get(key),
        })
    return rows


# Columns of ``reports.daily_usage``, not quota metrics: what was submitted per day, refunded or not.
CHART_METRICS = {
    "jobs": ("Jobs per day", "jobs"),
    "credits": ("Credits per day", "credits"),
    "video_seconds": ("Seconds of video per day", "s"),
}


def usage_chart(*, metric: str, user: Any = None, team: Team | None = None) -> Any:
    """A 30-day bar chart (inline SVG) of one metric for a user or a team."""
    title, unit = CHART_METRICS[metric]
    days = reports.daily_usage(user=user, team=team, days=30)
    return charts.bar_chart([(d.day.isoformat(), getattr(d, metric)) for d in days], title=title, unit=unit,
                            horizontal=False)


@login_required
@require_GET
def usage(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every limit with what is used and when it resets, the team pools, and 30 days of usage."""
    data = quota_reads.usage_for_user(request.user)
    chosen = request.GET.get("chart")
    metric = chosen if chosen is not None and chosen in CHART_METRICS else "jobs"
    team_rows = [{"name": t["name"], "slug": t["team"], "meters": meters(t)} for t in data.get("teams", [])]
    return render_page(request, "generations/usage.html", {
        "meters": meters(data),
        "team_usage": team_rows,
        "chart": usage_chart(metric=metric, user=request.user),
        "chart_metric": metric,
        "chart_metrics": [(key, title) for key, (title, _) in CHART_METRICS.items()],
    }, nav="usage")
