"""django-q2 entry points: thin wrappers that load by id and call one service."""
from __future__ import annotations

import logging
import time
import uuid

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

    sent = dispatch_queued()
    start_poller()
    return sent


def mirror(generation_id: str) -> bool:
    from .services.mirroring import mirror_generation

    return mirror_generation(generation_id)


def run_poller(seconds: float | None = None) -> dict[str, int]:
    """Drive the lifecycle for a while: dispatch, poll due jobs, sweep; then hand over to a fresh run.

    django-q2's scheduler looks at schedules only every 30 s and has no delayed
    tasks, so a poller keeps working in short ticks. At most ``POLLERS`` run at
    once: each holds a seat with a heartbeat, and a run that finds no free seat ends
    at once. A run that completes enqueues its successor, so polling has no gaps;
    the per-minute schedule and worker start-up only replace pollers that died
    (a killed worker, a task lost by the Redis broker). Every step claims the jobs
    it works on, so overlapping pollers never poll or send the same job twice.
    """
    from .services import dispatching, pollers, polling

    owner = uuid.uuid4().hex
    seat = pollers.acquire_seat(owner)
    if seat is None:
        # A cluster restarted right after a crash finds the dead pollers' seats still
        # warm: wait until they count as dead once, instead of until the next schedule.
        time.sleep(float(app_settings.POLLER_STALE) + 0.5)
        seat = pollers.acquire_seat(owner)
    if seat is None:
        return {"skipped": 1}
    seconds = float(app_settings.POLLER_SECONDS if seconds is None else seconds)
    tick = float(app_settings.POLLER_TICK)
    deadline = time.monotonic() + seconds
    totals = {"sent": 0, "polled": 0, "swept": 0}
    last_sweep = 0.0
    completed = False
    try:
        while pollers.beat(seat, owner):
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
                completed = True
                break
            time.sleep(tick)
    finally:
        pollers.release(seat, owner)
    if completed:
        start_poller()
    return totals


def start_poller() -> None:
    """Enqueue a poller when a seat is free. Not in synchronous mode (tests drive services directly)."""
    from django_q.conf import Conf

    from .services.pollers import has_free_seat

    if Conf.SYNC:
        return
    if has_free_seat():
        async_task("generations.tasks.run_poller", task_name="gmi-poller", group="gmi")


def on_worker_spawn(sender=None, **kwargs) -> None:
    """A (re)started cluster brings pollers back at once instead of at the next schedule."""
    from django_q.conf import Conf

    if Conf.SYNC:
        return
    try:
        async_task("generations.tasks.run_poller", task_name="gmi-poller", group="gmi")
    except Exception:  # the database may not be migrated yet; the schedule will start one later
        logger.exception("could not start a poller")


def sync_models() -> dict[str, int]:
    from .services.catalogue import sync_models_safely as sync

    return sync()
