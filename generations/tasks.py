"""django-q2 entry points: each loads by id and calls one service (names are stable: schedules use them)."""
from __future__ import annotations

from typing import Any

from django_q.conf import Conf

from .services import (
    account_data,
    catalogue,
    dispatching,
    engine,
    mirroring,
    retention,
)
from .services.notifications import delivery as notification_delivery
from .services.notifications import recording as notification_recording
from .services.webhooks import delivery as webhook_delivery


def dispatch() -> int:
    """Send waiting jobs now (a burst of submissions asks for this at most once per process per few seconds)."""
    sent = dispatching.dispatch_queued()
    keep_engine()
    return sent


def mirror(generation_id: str) -> bool:
    return mirroring.mirror_generation(generation_id)


def keep_engine() -> dict[str, Any]:
    """The per-minute schedule: the worker that runs it hosts an engine standby, and jobs nothing drives
    (a lost task, a dead engine) are set moving again."""
    if not Conf.SYNC:
        engine.start_in_this_process()
    return engine.sweep()


def on_worker_spawn(sender: Any = None, **kwargs: Any) -> None:
    """A (re)started worker process hosts an engine standby at once, instead of at the next schedule."""
    if not Conf.SYNC:
        engine.start_in_this_process()


def sync_models() -> dict[str, int] | None:
    return catalogue.sync_models_safely()


def deliver_webhooks() -> dict[str, int]:
    """Send the webhook deliveries that are due (after an event, and every minute for retries)."""
    return webhook_delivery.deliver_all_due()


def send_notification_emails() -> dict[str, int]:
    """Send the notification e-mails that are due (after an event, and every minute for digests and retries)."""
    return notification_delivery.send_pending_emails()


def send_daily_summary() -> dict[str, int]:
    """The daily schedule: the staff's summary of the last 24 hours, to those who opted in, sent at once."""
    recorded = notification_recording.record_daily_summaries()
    return {"recorded": recorded, **notification_delivery.send_pending_emails()}


def apply_retention() -> dict[str, int]:
    """The nightly schedule: delete files past their retention and warn owners of the next ones."""
    result = retention.apply_retention()
    return {"deleted": result.deleted_videos, "bytes_freed": result.bytes_freed, "warned": result.warned_members}


def build_export(export_id: str) -> bool:
    """Build one member's export zip (asked for through the API)."""
    return account_data.build_export(export_id)


def expire_exports() -> dict[str, int]:
    """The hourly schedule: delete export zips past their time, build again those whose task was lost."""
    return account_data.expire_exports()
