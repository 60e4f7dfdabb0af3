"""Reads of operations: the figures operators watch (jobs by status, the waiting line's depth and
age, the engines and their shards, the upstream pause, webhook outcomes, e-mails sent, storage
used), read from the database at scrape time for /metrics and the staff system page."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from ..conf import app_settings
from ..models import DispatchLock, EngineBeat, EngineShard, Generation, Notification, WebhookDelivery


def operations_figures(*, now: Any = None) -> dict[str, Any]:
    """What operators watch, read from the database: the states behind /metrics and the staff system page.

    A handful of aggregate queries, whatever the size of the history (each is a GROUP BY
    or a MIN/SUM on indexed columns).
    """
    now = now or timezone.now()
    jobs = {status: 0 for status in Generation.Status.values}
    jobs.update(dict(Generation.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")))
    waiting = Generation.objects.filter(status=Generation.Status.QUEUED, send_started_at__isnull=True)
    queue = waiting.aggregate(depth=Count("pk"), oldest=Min("created_at"))
    stale = float(app_settings.ENGINE_STALE)
    beats = list(EngineBeat.objects.order_by("started_at").values("owner", "cluster", "beat_at", "started_at"))
    shards = dict(EngineShard.objects.exclude(owner="").values_list("owner").annotate(n=Count("shard"))
                  .values_list("owner", "n"))
    engines = [
        {**beat, "age_seconds": (now - beat["beat_at"]).total_seconds(),
         "live": (now - beat["beat_at"]).total_seconds() <= stale, "shards": shards.get(beat["owner"], 0)}
        for beat in beats
    ]
    newest_beat = EngineBeat.objects.aggregate(newest=Max("beat_at"))["newest"]
    pause = DispatchLock.objects.filter(name="dispatch").values_list("paused_until", flat=True).first()
    outcomes = {status: 0 for status in WebhookDelivery.Status.values}
    outcomes.update(dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("pk"))
                         .values_list("status", "n")))
    sizes = {
        "video": Generation.objects.exclude(video_name="").aggregate(n=Sum("video_size"))["n"],
        "thumbnail": Generation.objects.exclude(thumbnail_name="").aggregate(n=Sum("thumbnail_size"))["n"],
    }
    return {
        "jobs_by_status": jobs,
        "queue_depth": queue["depth"],
        "queue_oldest_age_seconds": (now - queue["oldest"]).total_seconds() if queue["oldest"] else 0.0,
        "engines": engines,
        "heartbeat_age_seconds": (now - newest_beat).total_seconds() if newest_beat else -1.0,
        "paused_seconds": max(0.0, (pause - now).total_seconds()) if pause else 0.0,
        "paused_until": pause if pause and pause > now else None,
        "webhook_backlog": outcomes[WebhookDelivery.Status.PENDING] + outcomes[WebhookDelivery.Status.FAILED],
        "webhook_outcomes": outcomes,
        "emails_sent": Notification.objects.filter(email_status=Notification.EmailStatus.SENT).count(),
        "storage_used_bytes": int(sizes["video"] or 0) + int(sizes["thumbnail"] or 0),
    }
