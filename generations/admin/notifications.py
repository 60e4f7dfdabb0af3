"""Notifications and quota alerts, for staff to read (only the services write them)."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model

from ..models import Notification, QuotaAlert
from .readonly import ReadOnlyAdmin

User = get_user_model()


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at", "email_status", "emailed_at")
    list_filter = ("kind", "email_status", ("read_at", admin.EmptyFieldListFilter))
    list_select_related = ("recipient",)
    search_fields = ("title", f"recipient__{User.USERNAME_FIELD}", "dedupe_key")
    date_hierarchy = "created_at"
    raw_id_fields = ("recipient", "generation", "team")
    exclude = ("email_batch",)


@admin.register(QuotaAlert)
class QuotaAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subject", "metric", "period", "threshold", "used", "limit", "generation")
    list_filter = ("metric", "threshold", "period")
    search_fields = ("subject",)
    raw_id_fields = ("generation",)
