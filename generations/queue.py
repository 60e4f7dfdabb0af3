"""The one place that hands work to django-q2 (or to the engine running in this process).

Services call these after commit and never import ``tasks``; tasks are named by
their dotted path, so this module imports nothing of the app but its settings.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django_q.conf import Conf
from django_q.tasks import async_task

logger = logging.getLogger("generations.queue")

_local = threading.local()
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


def set_mirror_handler(handler: Callable[[Any], None] | None) -> None:
    """The engine registers itself for its own thread: jobs it finishes are mirrored by its pool, not a task."""
    _local.mirror_handler = handler


def enqueue_mirror(generation_id: Any) -> None:
    handler = getattr(_local, "mirror_handler", None)
    if handler is not None:
        handler(generation_id)
        return
    async_task("generations.tasks.mirror", str(generation_id), task_name=f"gmi-mirror-{generation_id}", group="gmi")


def request_dispatch(*, engine_alive: Callable[[], bool]) -> None:
    """Make sure accepted jobs are sent soon, with O(1) tasks per burst.

    A running engine picks up queued jobs within a tick, so nothing is enqueued
    while one is alive; otherwise one dispatch task per process per
    ``WAKE_DEBOUNCE`` seconds, however many jobs arrive. In synchronous mode (tests,
    management commands) the dispatch runs inline at once.
    """
    if Conf.SYNC:
        enqueue_dispatch()
        return
    if not _first_in_window("dispatch"):
        return
    try:
        if engine_alive():
            return
    except Exception:  # an unmigrated table must not fail a submission; the task copes either way
        logger.exception("could not tell whether an engine runs")
    enqueue_dispatch()


def enqueue_dispatch() -> None:
    async_task("generations.tasks.dispatch", task_name="gmi-dispatch", group="gmi")


def request_webhook_delivery() -> None:
    """Ask for recorded webhook deliveries to be sent soon: one task per process per ``WAKE_DEBOUNCE``.

    In synchronous mode nothing is enqueued: the task would run inline in the caller,
    which may be the engine's thread, and webhook HTTP must never sit in the poller's
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
