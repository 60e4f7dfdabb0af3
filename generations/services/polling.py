"""Polling GMI for jobs at GMI: claims due jobs, backs off on errors, reconciles unconfirmed submissions."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..client import get_client
from ..conf import app_settings
from ..gmi.base import RemoteJob, RemoteState
from ..gmi.errors import GMIError, NotFound, RateLimited, UpstreamRejected
from ..models import Generation
from . import upstream
from .dispatching import cancel_upstream, record_dispatched
from .lifecycle import transition

logger = logging.getLogger("generations.polling")

S = Generation.Status


def _due_q(now) -> Q:
    unconfirmed = Q(status=S.QUEUED, send_started_at__isnull=False, upstream_request_id__isnull=True)
    return (Q(status__in=Generation.AT_UPSTREAM) | unconfirmed) & Q(next_poll_at__lte=now)


def claim_due(*, now=None, limit: int = 25) -> list[Generation]:
    """Claim up to ``limit`` jobs whose next poll is due, so no other worker polls them meanwhile.

    The claim moves ``next_poll_at`` a lease into the future with a conditional
    UPDATE on its old value: two pollers reading the same row cannot both win. On
    PostgreSQL ``SKIP LOCKED`` also keeps concurrent pollers from queueing on each
    other's rows. A poller that dies mid-poll only delays the job by the lease.
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=app_settings.POLL_LEASE)
    claimed: list[Generation] = []
    with transaction.atomic():
        qs = Generation.objects.filter(_due_q(now)).order_by("next_poll_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        for generation in qs[:limit]:
            won = Generation.objects.filter(pk=generation.pk, next_poll_at=generation.next_poll_at).update(
                next_poll_at=lease_until
            )
            if won:
                generation.next_poll_at = lease_until
                claimed.append(generation)
    return claimed


def poll_due(*, now=None, limit: int = 25) -> int:
    """One pass: poll every due job once (none while GMI asked us to wait). Returns how many were polled."""
    if not upstream.ready():
        return 0
    jobs = claim_due(now=now, limit=limit)
    for generation in jobs:
        try:
            poll_generation(generation)
        except Exception:  # one bad job must not stop the others; it is retried after its lease
            logger.exception("generation %s: poll failed unexpectedly", generation.pk)
    return len(jobs)


def _next_poll(generation: Generation, *, failures: int = 0, retry_after: float | None = None):
    base = float(app_settings.POLL_INTERVAL)
    delay = base if failures == 0 else min(float(app_settings.MAX_POLL_INTERVAL), base * (2 ** min(failures, 10)))
    if retry_after:
        delay = max(delay, float(retry_after))
    return timezone.now() + timedelta(seconds=delay)


def _too_old(generation: Generation) -> bool:
    return timezone.now() - generation.created_at > timedelta(seconds=app_settings.MAX_JOB_AGE)


def poll_generation(generation: Generation) -> None:
    """Ask GMI about one claimed job and move it on. Expected upstream errors never escape."""
    if generation.status == S.QUEUED:
        reconcile_submission(generation)
        return
    try:
        job = get_client().get_request(generation.upstream_request_id, model_id=generation.model_id)
    except NotFound:
        transition(generation, S.FAILED, note="GMI no longer knows this job", error_code="upstream_lost",
                   error="GMI no longer knows this job.")
        return
    except GMIError as exc:
        _poll_failed(generation, exc)
        return
    apply_remote_state(generation, job)


def _poll_failed(generation: Generation, exc: GMIError) -> None:
    if _too_old(generation):
        _expire(generation)
        return
    failures = generation.poll_failures + 1
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    if isinstance(exc, RateLimited):
        upstream.pause(retry_after or app_settings.POLL_INTERVAL)
    Generation.objects.filter(pk=generation.pk, status=generation.status).update(
        poll_failures=failures, next_poll_at=_next_poll(generation, failures=failures, retry_after=retry_after)
    )
    level = logging.ERROR if isinstance(exc, UpstreamRejected) else logging.WARNING
    logger.log(level, "generation %s: poll failed (%s), attempt %s", generation.pk, exc, failures)


def _expire(generation: Generation) -> None:
    hours = app_settings.MAX_JOB_AGE / 3600
    if transition(generation, S.FAILED, note="Timed out", error_code="timeout",
                  error=f"GMI did not finish the job within {hours:g} hours."):
        cancel_upstream(generation)


def apply_remote_state(generation: Generation, job: RemoteJob) -> None:
    """Move a generation according to what GMI says about it."""
    common: dict[str, Any] = {"upstream_status": job.raw_status[:60], "upstream_response": job.raw, "poll_failures": 0}
    current = generation.status
    if job.state == RemoteState.SUCCEEDED:
        if not job.video_url:
            transition(generation, S.FAILED, note="Success without a video", error_code="no_output",
                       error="GMI reported success but returned no video.", **common)
            return
        from .mirroring import schedule_mirror

        moved = transition(
            generation, S.MIRRORING, note="GMI finished the job", outcome_video_url=job.video_url,
            outcome_thumbnail_url=job.thumbnail_url or "", upstream_finished_at=job.updated_at or timezone.now(),
            mirror_started_at=None, mirror_attempts=0, **common,
        )
        if moved:
            schedule_mirror(generation)
        return
    if job.state == RemoteState.FAILED:
        text = job.error or "GMI reported that the job failed."
        policy = any(word in text.lower() for word in ("content policy", "safety", "policy"))
        transition(generation, S.FAILED, note=text, error=text[:2000],
                   error_code="content_policy" if policy else "upstream_failed", **common)
        return
    if job.state == RemoteState.CANCELLED:
        transition(generation, S.CANCELLED, note="Cancelled at GMI", error="The job was cancelled at GMI.", **common)
        return
    if _too_old(generation):
        _expire(generation)
        return
    next_poll = _next_poll(generation)
    if job.state == RemoteState.PROCESSING and current == S.DISPATCHED:
        transition(generation, S.PROCESSING, note="GMI is processing", next_poll_at=next_poll, **common)
        return
    # Still waiting (or a status word we do not know): keep polling.
    Generation.objects.filter(pk=generation.pk, status=current).update(next_poll_at=next_poll, **common)


def reconcile_submission(generation: Generation) -> None:
    """Settle a job whose POST may or may not have reached GMI (the crash window).

    Looks for the job in GMI's request list: same model, a payload that contains
    everything we sent (GMI may add its defaults), created after the send began, and
    not already adopted by another generation. Found: adopt its id and carry on.
    Never found by ``RECONCILE_GIVE_UP``: the job fails and its usage is refunded.
    It is never sent again on absence alone: a list that paginates, or echoes the
    payload differently, must not make us pay twice.
    """
    client = get_client()
    now = timezone.now()
    age = (now - (generation.send_started_at or now)).total_seconds()
    if client.can_list_requests:
        try:
            match = _find_match(generation, client.list_requests(generation.model_id))
        except GMIError as exc:
            match = None
            logger.warning("generation %s: cannot list GMI requests to reconcile (%s)", generation.pk, exc)
        if match is not None:
            logger.info("generation %s: reconciled with GMI request %s", generation.pk, match.request_id)
            record_dispatched(generation, match)
            return
    if age >= app_settings.RECONCILE_GIVE_UP:
        transition(generation, S.FAILED, expected=S.QUEUED, note="Submission could not be confirmed",
                   error_code="unconfirmed",
                   error="GMI could not confirm that it received this job, so it was not sent again. "
                         "Nothing was charged; submit it again.")
        return
    Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(
        next_poll_at=now + timedelta(seconds=max(1.0, app_settings.RECONCILE_AFTER / 3))
    )


def _same_payload(sent: dict, echoed: dict | None) -> bool:
    return isinstance(echoed, dict) and all(key in echoed and echoed[key] == value for key, value in sent.items())


def _find_match(generation: Generation, jobs: list[RemoteJob]) -> RemoteJob | None:
    since = (generation.send_started_at or generation.created_at) - timedelta(minutes=2)
    candidates = [
        job for job in jobs
        if job.request_id
        and (not job.model or job.model == generation.model_id)
        and _same_payload(generation.payload, job.payload)
        and (job.created_at is None or job.created_at >= since)
    ]
    if not candidates:
        return None
    taken = set(
        Generation.objects.filter(upstream_request_id__in=[j.request_id for j in candidates]).values_list(
            "upstream_request_id", flat=True
        )
    )
    free = [job for job in candidates if job.request_id not in taken]
    free.sort(key=lambda j: (j.created_at is None, j.created_at))
    return free[0] if free else None


def sweep(*, now=None) -> dict[str, int]:
    """Find jobs that nothing is driving and set them moving again.

    Every moving part is driven by ``next_poll_at`` (polls, reconciliation, mirror
    retries), so a lost task or a dead worker shows up here as an active job with
    no schedule, or a mirror claim long past its lease.
    """
    now = now or timezone.now()
    fixed = Generation.objects.filter(
        Q(status__in=Generation.AT_UPSTREAM) | Q(status=S.QUEUED, send_started_at__isnull=False,
                                                   upstream_request_id__isnull=True),
        next_poll_at__isnull=True,
    ).update(next_poll_at=now)
    from .mirroring import schedule_due_mirrors

    mirrors = schedule_due_mirrors(now=now)
    return {"rescheduled": fixed, "mirrors": mirrors}
