"""Sending queued jobs to GMI: fair round-robin under per-user and site-wide caps, sent exactly once."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from ..client import get_client
from ..conf import app_settings
from ..gmi.base import RemoteJob
from ..gmi.errors import (
    ContentPolicyRefused,
    GMIError,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from ..models import DispatchLock, Generation
from ..policies import quota_policy
from ..selectors.quotas import in_flight_q
from . import upstream
from .lifecycle import transition
from .pools import gmi_pool, result_of
from .remote import record_dispatched
from .waiting_line import owners_by_turn, queue_positions, refresh_snapshot

__all__ = ["owners_by_turn", "queue_positions"]  # their home is waiting_line; imported from here too

logger = logging.getLogger("generations.dispatch")

S = Generation.Status


def claim_batch(*, limit: int) -> list[Generation]:
    """Pick up to ``limit`` jobs to send now, in fair round-robin order, and mark them as being sent.

    Runs under a lock row so two dispatchers (engines on several machines) cannot
    both fill the last free slots; the claim (``send_started_at``) counts as "at
    GMI" from that moment on. One transaction and a fixed number of queries per
    batch, whatever the batch size: a window query takes each waiting user's
    oldest jobs at once.
    """
    now = timezone.now()
    with transaction.atomic():
        lock, _ = DispatchLock.objects.get_or_create(name="dispatch")
        DispatchLock.objects.select_for_update().filter(pk=lock.pk).first()
        room = min(int(limit), int(app_settings.MAX_IN_FLIGHT) - Generation.objects.filter(in_flight_q()).count())
        if room <= 0:
            return []
        ready = Generation.objects.filter(status=S.QUEUED, send_started_at__isnull=True).filter(
            Q(next_check_at__isnull=True) | Q(next_check_at__lte=now)
        )
        heads: list[Generation] = list(
            ready.annotate(rank=Window(RowNumber(), partition_by=F("owner_id"), order_by=(F("created_at").asc(),
                                                                                          F("id").asc())))
            .filter(rank__lte=room).order_by("owner_id", "rank")
        )
        if not heads:
            return []
        by_owner: dict[Any, list[Generation]] = {}
        for generation in heads:
            by_owner.setdefault(generation.owner_id, []).append(generation)
        owner_ids = list(by_owner)
        busy = dict(
            Generation.objects.filter(in_flight_q(), owner_id__in=owner_ids)
            .values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n")
        )
        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=owner_ids).select_related("gmi_profile")}
        policy = quota_policy()
        allowance: dict[Any, int] = {}
        for owner_id in owner_ids:
            cap = policy.user_limits(users[owner_id])["concurrent_jobs"]
            allowance[owner_id] = len(by_owner[owner_id]) if cap is None else max(0, cap - busy.get(owner_id, 0))
        picked: list[Generation] = []
        turn = owners_by_turn(owner_ids)
        for round_index in range(room):
            progressed = False
            for owner_id in turn:
                jobs = by_owner[owner_id]
                if round_index < min(len(jobs), allowance[owner_id]) and len(picked) < room:
                    picked.append(jobs[round_index])
                    progressed = True
            if not progressed or len(picked) >= room:
                break
        if not picked:
            return []
        # The claim carries a lease longer than the POST can take, so nothing else
        # (reconciliation, the sweeper) looks at the job while it is being sent.
        lease_until = now + timedelta(seconds=send_lease())
        Generation.objects.filter(pk__in=[g.pk for g in picked], status=S.QUEUED, send_started_at__isnull=True).update(
            send_started_at=now, send_attempts=F("send_attempts") + 1, send_lease_until=lease_until
        )
        won = set(Generation.objects.filter(pk__in=[g.pk for g in picked], send_started_at=now,
                                            status=S.QUEUED).values_list("pk", flat=True))
    claimed: list[Generation] = []
    for generation in picked:
        if generation.pk in won:  # a job cancelled meanwhile is not sent
            generation.send_started_at = now
            generation.send_attempts += 1
            generation.send_lease_until = lease_until
            claimed.append(generation)
    if claimed:
        # The claimed jobs left the line: their owners' summaries move on now, not at the
        # next full refresh, so every place shown meanwhile is still right.
        refresh_snapshot(owner_ids={g.owner_id for g in claimed}, served_at=now)
    return claimed


class SendWindow:
    """How many sends may be on the wire at once: it starts at one and doubles with every answer that is not a 429.

    After a 429, or a quiet spell, it falls back to one, so a site that GMI is
    throttling learns it from one request rather than from a whole pool of them
    (GMI's pause then holds every worker back, as before).
    """

    IDLE_RESET = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 1
        self._last = 0.0

    @property
    def size(self) -> int:
        if time.monotonic() - self._last > self.IDLE_RESET:
            return 1
        return self._size

    def record(self, result: Any) -> None:
        with self._lock:
            if isinstance(result, RateLimited):
                self._size = 1
            elif not isinstance(result, Exception):
                self._size = min(self.size * 2, 1 << 16)
            self._last = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._size, self._last = 1, 0.0


#: One per process, shared by the engine and one-shot dispatches.
send_window = SendWindow()


def send_lease() -> float:
    """Seconds a claimed job is left alone while its POST is in flight."""
    return float(app_settings.CONNECT_TIMEOUT) + float(app_settings.READ_TIMEOUT) + 30.0


def dispatch_queued(*, max_jobs: int | None = None) -> int:
    """Send waiting jobs while slots are free and GMI is ready, concurrently. Returns how many were sent."""
    if not upstream.ready():
        return 0
    pool = gmi_pool()
    sent = 0
    while max_jobs is None or sent < max_jobs:
        if sent and upstream.paused():  # GMI said 429 to one of the last batch
            break
        room = min(pool.size, send_window.size)
        batch = claim_batch(limit=room if max_jobs is None else min(room, max_jobs - sent))
        if not batch:
            break
        futures = [(generation, pool.submit(post_generation, generation)) for generation in batch]
        for generation, future in futures:
            apply_send(generation, result_of(future))
        sent += len(batch)
    if sent:
        refresh_snapshot()
    return sent


def post_generation(generation: Generation) -> RemoteJob:
    """The upstream half of a send (no database): one POST, never retried."""
    return get_client().create_request(generation.model_id, generation.payload)


def apply_send(generation: Generation, result: Any) -> None:
    """Record what became of one POST: GMI's request id, or why it was not (or maybe was) accepted.

    After a failure that provably never left (connect error, 429) the claim is
    released and the job waits its turn again. After an ambiguous failure (timeout,
    reset, 5xx, anything unexpected) the job may exist at GMI: it keeps its claim
    and the engine reconciles it through GMI's request list instead of sending it again.
    """
    send_window.record(result)
    now = timezone.now()
    if isinstance(result, (RateLimited, UpstreamUnavailable)) and (
        isinstance(result, RateLimited) or not result.maybe_sent
    ):
        delay = result.retry_after or app_settings.POLL_INTERVAL
        if isinstance(result, RateLimited):
            upstream.pause(delay)
        Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
            send_started_at=None, send_lease_until=None, next_check_at=now + timedelta(seconds=delay),
            upstream_status="", error="",
        )
        logger.warning("generation %s not sent (%s); will try again in %ss", generation.pk, result, delay)
        return
    if isinstance(result, ContentPolicyRefused):
        transition(generation, S.FAILED, expected=S.QUEUED, note=str(result), error_code="content_policy",
                   error="GMI refused the prompt or an input under its content policy. Change the prompt and "
                         "submit again; nothing was charged.")
        return
    if isinstance(result, UpstreamRejected):
        # The member sees GMI's own reason; the admin's history keeps the full answer.
        transition(generation, S.FAILED, expected=S.QUEUED, note=str(result), error_code="upstream_rejected",
                   error=f"GMI refused the job: {upstream_reason(result)}")
        return
    if isinstance(result, Exception):  # ambiguous: it may exist at GMI, so never resend blindly
        Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
            send_lease_until=None, next_check_at=now + timedelta(seconds=app_settings.RECONCILE_AFTER)
        )
        level = logging.WARNING if isinstance(result, GMIError) else logging.ERROR
        logger.log(level, "generation %s: submission outcome unknown (%s); will reconcile", generation.pk, result)
        return
    record_dispatched(generation, result)


def upstream_reason(exc: GMIError) -> str:
    """GMI's own words from an error body, without our request line (URLs stay in the logs)."""
    return (exc.reason or "it did not say why").strip()[:500]
