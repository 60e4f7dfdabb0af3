"""A member's inbox: marking notifications read (the reads are in ``selectors``)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from ...models import Notification
from ...types import User


def mark_read(*, user: User, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Mark the member's notifications read: those of ``ids`` (others' ids are ignored), or all. Returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=now or timezone.now())


def open_notification(*, user: User, notification_id: int) -> Notification | None:
    """The member's notification (None for anyone else's), marked read."""
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification
