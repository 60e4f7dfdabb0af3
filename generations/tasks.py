"""django-q2 entry points: thin wrappers that load by id and call one service."""
from __future__ import annotations

import logging
import time

from django_q.tasks import async_task

from .conf import app_settings

logger = logging.getLogger("generations.tasks")


def enqueue_dispatch() -> None:
    """Ask a worker to send waiting jobs now (the poller would also do it within a tick)."""
    async_task("generations.tasks.dispatch", task_name="gmi-dispatch", group="gmi")


def enqueue_mirror(generation_id) -> None:
    async_task("generations.tasks.mirror", str(generation_id), task_name=f"gmi-mirror-{generation_id}", group="gmi")


def dispatch() -> int:
    from .services.dispatching import dispatch_queued

    return dispatch_queued()


def mirror(generation_id: str) -> bool:
    from .services.mirroring import mirror_generation

    return mirror_generation(generation_id)


def run_poller(seconds: float | None = None) -> dict[str, int]:
    """Drive the lifecycle for most of a minute: dispatch, poll due jobs, sweep.

    django-q2's scheduler fires at most about every 30 s and has no delayed tasks,
    so a scheduled run keeps working in short ticks for ``POLLER_SECONDS``. Runs
    may overlap: every step claims its jobs, so overlapping pollers never poll or
    send the same job twice.
    """
    from .services import dispatching, polling

    seconds = float(app_settings.POLLER_SECONDS if seconds is None else seconds)
    tick = float(app_settings.POLLER_TICK)
    deadline = time.monotonic() + seconds
    totals = {"sent": 0, "polled": 0, "swept": 0}
    last_sweep = 0.0
    while True:
        try:
            totals["sent"] += dispatching.dispatch_queued()
            totals["polled"] += polling.poll_due()
            if time.monotonic() - last_sweep > 10:
                swept = polling.sweep()
                totals["swept"] += swept["rescheduled"] + swept["mirrors"]
                last_sweep = time.monotonic()
        except Exception:  # a database hiccup must not end the loop; the next tick tries again
            logger.exception("poller tick failed")
        if time.monotonic() + tick >= deadline:
            break
        time.sleep(tick)
    return totals


def sync_models() -> dict[str, int]:
    from .services.catalogue import sync_models_safely as sync

    return sync()
