"""The one place that hands work to django-q2.

Services call these after commit and never import ``tasks``; tasks are named by
their dotted path, so this module imports nothing of the app. Whether a task is
needed at all (an engine may already be doing the work) is the caller's question.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django_q.conf import Conf
from django_q.tasks import async_task

logger = logging.getLogger("generations.queue")

_wake_lock = threading.Lock()
_last_wakes: dict[str, float] = {}
#: A burst asks for at most one task of a kind per process in this window.
WAKE_DEBOUNCE = 2.0


def _first_in_window(kind: str) -> bool:
    """True for the first call of ``kind`` in this process per ``WAKE_DEBOUNCE`` seconds."""
    with _wake_lock:
        if time.monotonic() - _last_wakes.get(kind, float("-inf")) < WAKE_DEBOUNCE:
            return False
        _last_wakes[kind] = time.monotonic()
        return True


def enqueue_mirror(generation_id: Any) -> None:
    async_task("generations.tasks.mirror", str(generation_id), task_name=f"gmi-mirror-{generation_id}", group="gmi")


def runs_inline() -> bool:
    """Whether tasks run in the caller (django-q2's sync mode: tests, management commands)."""
    return bool(Conf.SYNC)


def first_in_window(kind: str) -> bool:
    """True for the first wake-up of ``kind`` in this process per ``WAKE_DEBOUNCE`` seconds."""
    return _first_in_window(kind)


def enqueue_dispatch() -> None:
    async_task("generations.tasks.dispatch", task_name="gmi-dispatch", group="gmi")


def request_webhook_delivery() -> None:
    """Ask for recorded webhook deliveries to be sent soon: one task per process per ``WAKE_DEBOUNCE``.

    In synchronous mode nothing is enqueued: the task would run inline in the caller,
    which may be the engine's thread, and webhook HTTP must never sit in the engine's
    path. The per-minute schedule (or a test calling ``deliver_due``) sends them then.
    """
    if Conf.SYNC or not _first_in_window("webhooks"):
        return
    async_task("generations.tasks.deliver_webhooks", task_name="gmi-webhooks", group="gmi-webhooks")


def request_notification_emails() -> None:
    """Ask for notification e-mails to be sent soon: one task per process per ``WAKE_DEBOUNCE``.

    As with webhooks, nothing is enqueued in synchronous mode (the caller may be the
    engine's thread); the per-minute schedule, or a test calling the service, sends them.
    """
    if Conf.SYNC or not _first_in_window("notifications"):
        return
    async_task("generations.tasks.send_notification_emails", task_name="gmi-notification-emails",
               group="gmi-notifications")


def enqueue_export(export_id: Any) -> None:
    async_task("generations.tasks.build_export", str(export_id), task_name=f"gmi-export-{export_id}",
               group="gmi-exports")
