"""Reads of notifications: a member's own list, the bell's unread count, and the kinds a member may
choose for with their choices."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .. import permissions
from ..conf import app_settings
from ..models import Notification, NotificationPreference
from ..notification_kinds import KINDS, C


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


def kinds_for(user: Any) -> list[str]:
    """The kinds ``user`` may choose for (the daily summary only for staff who may read every generation)."""
    staff = permissions.can_view_any_generation(user)
    return [kind for kind, info in KINDS.items() if staff or not info.staff_only]


def preferences_of(user: Any) -> list[dict[str, Any]]:
    """Each kind the member may choose for, with their choice (or the default) and the channels offered."""
    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind in kinds_for(user):
        info = KINDS[kind]
        pref = chosen.get(kind)
        channel = pref.channel if pref else str(app_settings.NOTIFICATION_DEFAULTS.get(kind, C.IN_APP))
        rows.append({"kind": kind, "label": info.label, "help": info.help, "channel": channel,
                     "digest": pref.digest if pref else False, "channels": list(info.channels)})
    return rows
