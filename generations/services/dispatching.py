"""Sending queued jobs to GMI: fair round-robin under per-user and site-wide caps, sent exactly once."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..client import get_client
from ..conf import app_settings
from ..gmi.errors import (
    ContentPolicyRefused,
    GMIError,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from ..models import DispatchLock, Generation
from ..policies import quota_policy
from . import upstream
from .lifecycle import transition
from .quotas import in_flight_q
from .waiting_line import owners_by_turn, queue_positions, refresh_snapshot

__all__ = ["owners_by_turn", "queue_positions"]  # their home is waiting_line; imported from here too

logger = logging.getLogger("generations.dispatch")

S = Generation.Status


def claim_next() -> Generation | None:
    """Pick the next job to send and mark it as being sent, or None when nothing may go now.

    Runs under a lock row so two dispatchers cannot both fill the last free slot;
    the claim (``send_started_at``) counts as "at GMI" from that moment on.
    """
    now = timezone.now()
    with transaction.atomic():
        lock, _ = DispatchLock.objects.get_or_create(name="dispatch")
        DispatchLock.objects.select_for_update().filter(pk=lock.pk).first()
        in_flight = Generation.objects.filter(in_flight_q()).count()
        if in_flight >= app_settings.MAX_IN_FLIGHT:
            return None
        ready = Generation.objects.filter(status=S.QUEUED, send_started_at__isnull=True).filter(
            Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
        )
        owner_ids = list(ready.values_list("owner_id", flat=True).distinct())
        if not owner_ids:
            return None
        busy = dict(
            Generation.objects.filter(in_flight_q(), owner_id__in=owner_ids)
            .values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n")
        )
        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=owner_ids).select_related("gmi_profile")}
        policy = quota_policy()
        for owner_id in owners_by_turn(owner_ids):
            limit = policy.user_limits(users[owner_id])["concurrent_jobs"]
            if limit is not None and busy.get(owner_id, 0) >= limit:
                continue
            candidate = ready.filter(owner_id=owner_id).order_by("created_at").first()
            if candidate is None:
                continue
            # The claim carries a lease longer than the POST can take, so nothing else
            # (reconciliation, the sweeper) looks at the job while it is being sent.
            lease_until = now + timedelta(seconds=send_lease())
            claimed = Generation.objects.filter(
                pk=candidate.pk, status=S.QUEUED, send_started_at__isnull=True
            ).update(send_started_at=now, send_attempts=candidate.send_attempts + 1, next_poll_at=lease_until)
            if claimed:
                candidate.send_started_at = now
                candidate.send_attempts += 1
                candidate.next_poll_at = lease_until
                return candidate
        return None


def send_lease() -> float:
    """Seconds a claimed job is left alone while its POST is in flight."""
    return float(app_settings.CONNECT_TIMEOUT) + float(app_settings.READ_TIMEOUT) + 30.0


def dispatch_queued(*, max_jobs: int = 50) -> int:
    """Send waiting jobs while slots are free and GMI is ready. Returns how many were sent."""
    if not upstream.ready():
        return 0
    sent = 0
    while sent < max_jobs:
        if sent and upstream.paused():  # GMI said 429 to the last one
            break
        generation = claim_next()
        if generation is None:
            break
        send_generation(generation)
        sent += 1
    refresh_snapshot()
    return sent


def send_generation(generation: Generation) -> None:
    """POST one claimed job to GMI, once, and record the outcome.

    After a failure that provably never left (connect error, 429) the claim is
    released and the job waits its turn again. After an ambiguous failure (timeout,
    reset, 5xx) the job may exist at GMI: it keeps its claim and the poller
    reconciles it through GMI's request list instead of sending it again.
    """
    now = timezone.now()
    try:
        job = get_client().create_request(generation.model_id, generation.payload)
    except (RateLimited, UpstreamUnavailable) as exc:
        if isinstance(exc, RateLimited) or not exc.maybe_sent:
            delay = exc.retry_after or app_settings.POLL_INTERVAL
            if isinstance(exc, RateLimited):
                upstream.pause(delay)
            Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
                send_started_at=None, next_poll_at=now + timedelta(seconds=delay), upstream_status="",
                error="",
            )
            logger.warning("generation %s not sent (%s); will try again in %ss", generation.pk, exc, delay)
        else:
            Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
                next_poll_at=now + timedelta(seconds=app_settings.RECONCILE_AFTER)
            )
            logger.warning("generation %s: submission outcome unknown (%s); will reconcile", generation.pk, exc)
        return
    except ContentPolicyRefused as exc:
        transition(generation, S.FAILED, expected=S.QUEUED, note=str(exc), error_code="content_policy",
                   error="GMI refused the prompt or an input under its content policy. Change the prompt and "
                         "submit again; nothing was charged.")
        return
    except UpstreamRejected as exc:
        # The member sees GMI's own reason; the admin's history keeps the full answer.
        transition(generation, S.FAILED, expected=S.QUEUED, note=str(exc), error_code="upstream_rejected",
                   error=f"GMI refused the job: {upstream_reason(exc)}")
        return
    except GMIError as exc:  # any other upstream error: treat as ambiguous, never resend blindly
        Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
            next_poll_at=now + timedelta(seconds=app_settings.RECONCILE_AFTER)
        )
        logger.warning("generation %s: unexpected upstream error %s; will reconcile", generation.pk, exc)
        return
    record_dispatched(generation, job)


def upstream_reason(exc: GMIError) -> str:
    """GMI's own words from an error body, without our request line (URLs stay in the logs)."""
    from ..gmi.http import message_from

    try:
        import json

        text = message_from(json.loads(exc.body)) if exc.body else ""
    except (ValueError, TypeError):
        text = ""
    return (text or "it did not say why").strip()[:500]


def record_dispatched(generation: Generation, job: Any) -> None:
    """Store GMI's request id: the end of the crash window."""
    now = timezone.now()
    moved = transition(
        generation, S.DISPATCHED, expected=S.QUEUED, note=f"GMI request {job.request_id}",
        upstream_request_id=job.request_id, upstream_status=job.raw_status, upstream_response=job.raw,
        dispatched_at=now, next_poll_at=now + timedelta(seconds=app_settings.POLL_INTERVAL), poll_failures=0,
    )
    if not moved:
        # Cancelled while the POST was in flight: keep the id for the record and cancel upstream too.
        Generation.objects.filter(pk=generation.pk, upstream_request_id__isnull=True).update(
            upstream_request_id=job.request_id, upstream_response=job.raw
        )
        generation.refresh_from_db()
        if generation.status == S.CANCELLED:
            cancel_upstream(generation)


def cancel_upstream(generation: Generation) -> None:
    """Best-effort DELETE at GMI; failures are logged, never raised (the job is already cancelled here)."""
    if not generation.upstream_request_id:
        return
    try:
        get_client().cancel_request(generation.upstream_request_id, model_id=generation.model_id)
    except GMIError as exc:
        logger.warning("generation %s: upstream cancel failed: %s", generation.pk, exc)
