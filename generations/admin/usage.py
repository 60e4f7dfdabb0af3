"""The staff's usage page: generations per day by model and status, credits per team and top users, as inline SVG."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .. import charts, reports
from ..models import Generation

WINDOWS = (7, 30, 90)


def usage_page(request: HttpRequest, *, admin_site: admin.AdminSite) -> HttpResponse:
    """Generations per day by model and by status, credits per team and top users, as inline SVG."""
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    if days not in WINDOWS:
        days = 30
    by_model = reports.daily_generations(days, by="model")
    by_status = reports.daily_generations(days, by="status")
    status_labels = {value: label for value, label in Generation.Status.choices}
    per_day = reports.daily_usage(days=days)
    team_credits = reports.credits_by_team(days)
    users = reports.top_users(days, limit=10)
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": "Usage at a glance",
        "subtitle": f"Last {days} days",
        "opts": Generation._meta,
        "app_label": Generation._meta.app_label,
        "days": days,
        "windows": WINDOWS,
        "totals": reports.totals(days),
        "top_users": users,
        "team_credits": team_credits,
        "chart_by_model": charts.stacked_bar_chart(
            by_model.labels, by_model.series, title="Generations per day, by model", unit="jobs",
        ),
        "chart_by_status": charts.stacked_bar_chart(
            by_status.labels, {status_labels.get(k, k): v for k, v in by_status.series.items()},
            title="Generations per day, by status", unit="jobs",
            colors={status_labels.get(k, k): charts.STATUS_COLORS.get(k, "") for k in by_status.series},
        ),
        "chart_credits_per_day": charts.bar_chart(
            [(day.day.isoformat(), day.credits) for day in per_day], title="Credits per day", unit="credits",
            color=charts.PALETTE[4],
        ),
        "chart_team_credits": charts.bar_chart(
            [(name, credits) for name, credits in team_credits], title="Credits per team", unit="credits",
            color=charts.PALETTE[1], horizontal=True,
        ),
        "chart_top_users": charts.bar_chart(
            [(row.username, row.credits) for row in users], title="Top users by credits", unit="credits",
            color=charts.PALETTE[0], horizontal=True,
        ),
    }
    return TemplateResponse(request, "admin/generations/usage.html", context)
