"""The audit trail for staff: read-only, filterable by action, actor, team and date, searchable."""
from __future__ import annotations

from django.contrib import admin

from ..models import AuditEvent
from .readonly import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor_name", "target_type", "target_label", "team_label", "client_ip",
                    "request_id")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), ("team", admin.RelatedOnlyFieldListFilter),
                   "created_at")
    list_select_related = ("actor", "team")
    search_fields = ("actor_name", "target_label", "target_id", "team_label", "client_ip", "request_id")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "action", "actor", "actor_name", "target_type", "target_id", "target_label",
                       "team", "team_label", "client_ip", "request_id", "data")
