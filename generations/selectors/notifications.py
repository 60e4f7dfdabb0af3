"""Reads of notifications: a member's own list and the bell's unread count."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ..models import Notification


def notifications_of(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The member's own notifications, newest first (nobody else's, staff included)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_notification_count(user: Any) -> int:
    """The bell's number: one COUNT over the unread rows' partial index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
