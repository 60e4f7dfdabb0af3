"""The staff's system page: engines and shards, the upstream pause, the queue, webhooks and storage, for a person."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .. import permissions
from ..models import EngineBeat, Generation
from ..selectors import operations as operation_reads


def system_page(request: HttpRequest, *, admin_site: admin.AdminSite) -> HttpResponse:
    """What /metrics reports from the database, laid out for staff (refreshed on each visit)."""
    if not permissions.can_view_operations(request.user):
        raise PermissionDenied
    figures = operation_reads.operations_figures()
    labels = dict(Generation.Status.choices)
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": "System",
        "opts": EngineBeat._meta,
        "app_label": Generation._meta.app_label,
        "figures": figures,
        "jobs": [(labels.get(status, status), count) for status, count in figures["jobs_by_status"].items()],
        "live_engines": sum(1 for engine in figures["engines"] if engine["live"]),
        "pause_reason": "GMI answered 429 (too many requests) and asked the site to wait"
        if figures["paused_until"] else "",
    }
    return TemplateResponse(request, "admin/generations/system.html", context)
