"""Quota alerts: which thresholds of a limit (``QUOTA_ALERT_THRESHOLDS``) a reservation crossed, and
their announcement after commit, once per subject, metric, period and threshold: a ``quota.threshold``
webhook event and a notification. The ledger (``quotas``) only moves counters and writes rows; the
services that reserve hand what it took to ``announce_on_commit``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import app_settings
from ..models import Generation, QuotaAlert
from ..selectors.quotas import DAILY, Charge, plain_number, resets_at
from .notifications import recording as notification_recording
from .quotas import Taken
from .webhooks import recording as webhook_recording

logger = logging.getLogger("generations.quotas")


def announce_on_commit(generation: Generation, taken: list[Taken], *, now: datetime) -> None:
    """Once the reserving transaction commits, announce the thresholds ``taken`` crossed (about ``generation``,
    for a batch its first job). Nothing is scheduled when none was crossed."""
    crossings = thresholds_crossed(taken, now=now)
    if crossings:
        transaction.on_commit(lambda: announce_crossings(generation, crossings))


@dataclass(frozen=True)
class Crossing:
    """A reservation took a counter over ``threshold`` percent of its limit."""

    charge: Charge
    period: str
    threshold: int
    used: Decimal

    @property
    def quota(self) -> dict[str, Any]:
        """The ``quota`` object of the ``quota.threshold`` webhook body (README, "Notifications")."""
        limit = int(self.charge.limit or 0)
        reset = resets_at(self.charge.metric, timezone.make_aware(datetime.combine(
            _period_start(self.charge.metric, self.period), time(12)), timezone.get_default_timezone()))
        return {
            "metric": self.charge.metric, "limit": limit, "used": plain_number(self.used),
            "percent": plain_number(min(self.used * 100 / limit, Decimal(999)).quantize(Decimal("0.1")))
            if limit else 100,
            "threshold": self.threshold, "period": self.period, "scope": self.charge.scope,
            "resets_at": reset.isoformat() if reset else None,
        }


def _period_start(metric: str, period: str) -> date:
    return datetime.strptime(period, "%Y-%m-%d" if metric in DAILY else "%Y-%m").date()


def thresholds_crossed(taken: list[Taken], *, now: datetime) -> list[Crossing]:
    """Which thresholds the counters just moved by ``taken`` crossed (no query: the moves returned the values).

    The values are those the reserving transaction wrote while holding the rows' locks, so
    of concurrent reservations exactly one sees a given threshold crossed.
    """
    thresholds = sorted({int(t) for t in app_settings.QUOTA_ALERT_THRESHOLDS or ()})
    crossings = []
    for t in taken:
        charge = t.charge
        if not charge.limit or charge.amount <= 0:
            continue
        before = t.used - charge.amount
        for threshold in thresholds:
            level = Decimal(charge.limit) * threshold / 100
            if before < level <= t.used:
                crossings.append(Crossing(charge=charge, period=t.period, threshold=threshold, used=t.used))
    return crossings


def announce_crossings(generation: Generation, crossings: list[Crossing]) -> None:
    """After commit: each crossing not announced before becomes a ``quota.threshold`` webhook event and a notification.

    The unique ``QuotaAlert`` row makes it once per subject, metric, period and threshold, also
    when usage given back by a refund crosses the same threshold again. A failure here never
    reaches the submission, which already committed.
    """
    for crossing in crossings:
        charge = crossing.charge
        try:
            with transaction.atomic():
                QuotaAlert.objects.create(subject=charge.subject, metric=charge.metric, period=crossing.period,
                                          threshold=crossing.threshold, limit=int(charge.limit or 0),
                                          used=crossing.used, generation=generation)
        except IntegrityError:
            continue  # announced before in this period
        except Exception:
            logger.exception("could not record the quota alert of generation %s", generation.pk)
            continue
        quota = crossing.quota
        try:
            webhook_recording.record_quota_event(generation=generation, quota=quota, team=charge.team)
        except Exception:
            logger.exception("could not record quota.threshold webhooks for generation %s", generation.pk)
        try:
            notification_recording.announce_quota_threshold(generation=generation, quota=quota, team=charge.team)
        except Exception:
            logger.exception("could not record the quota notification of generation %s", generation.pk)
