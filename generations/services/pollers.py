"""Keeps a small, fixed number of poller tasks alive: seats with heartbeats, self-continuing runs."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..models import PollerSlot

logger = logging.getLogger("generations.pollers")


def _stale_before():
    return timezone.now() - timedelta(seconds=float(app_settings.POLLER_STALE))


def _ensure_rows() -> None:
    wanted = int(app_settings.POLLERS)
    existing = set(PollerSlot.objects.values_list("slot", flat=True))
    for slot in range(wanted):
        if slot not in existing:
            try:
                with transaction.atomic():
                    PollerSlot.objects.create(slot=slot)
            except IntegrityError:
                pass


def acquire_seat(owner: str) -> int | None:
    """Take a free seat (never taken, released, or whose holder stopped beating), or None."""
    _ensure_rows()
    now = timezone.now()
    free = Q(beat_at__isnull=True) | Q(beat_at__lt=_stale_before())
    for slot in range(int(app_settings.POLLERS)):
        if PollerSlot.objects.filter(free, slot=slot).update(owner=owner, beat_at=now):
            return slot
    return None


def beat(slot: int, owner: str) -> bool:
    """Refresh the seat; False when another poller took it over (this one must stop)."""
    return bool(PollerSlot.objects.filter(slot=slot, owner=owner).update(beat_at=timezone.now()))


def release(slot: int, owner: str) -> None:
    PollerSlot.objects.filter(slot=slot, owner=owner).update(owner="", beat_at=None)


def has_free_seat() -> bool:
    _ensure_rows()
    free = Q(beat_at__isnull=True) | Q(beat_at__lt=_stale_before())
    return PollerSlot.objects.filter(free, slot__lt=int(app_settings.POLLERS)).exists()
