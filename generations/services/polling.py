"""Polling GMI for jobs at GMI: which jobs are due, what an answer changes, backing off on errors,
reconciling unconfirmed submissions."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..client import get_client
from ..conf import app_settings
from ..gmi.base import RemoteJob, RemoteState
from ..gmi.errors import GMIError, RateLimited, UpstreamNotFound, UpstreamRejected, UpstreamUnavailable
from ..models import Generation
from . import upstream
from .lifecycle import transition
from .remote import cancel_upstream, record_dispatched

logger = logging.getLogger("generations.polling")

S = Generation.Status


@dataclass(frozen=True)
class Outcome:
    """What an answer leaves to do: when the job is next due (None: it is no longer polled), and whether
    it moved to ``mirroring`` (then the caller hands it to a copy: the engine to its mirror threads,
    anyone else through ``queue.enqueue_mirror``)."""

    next_check_at: datetime | None = None
    to_mirror: bool = False


#: Nothing more to poll.
ENDED = Outcome()


def polled_q() -> Q:
    """Jobs the engine polls: at GMI, or sent without a confirmed request id (to reconcile)."""
    unconfirmed = Q(status=S.QUEUED, send_started_at__isnull=False, upstream_request_id__isnull=True)
    return Q(status__in=Generation.AT_UPSTREAM) | unconfirmed


def _due_q(now) -> Q:
    check_due = Q(next_check_at__lte=now) | Q(next_check_at__isnull=True)
    return polled_q() & check_due & (Q(send_lease_until__lte=now) | Q(send_lease_until__isnull=True))


def due_at(generation: Generation) -> datetime | None:
    """When a polled job is next due: its check time, but never while a send of it may still be in flight."""
    times = [t for t in (generation.next_check_at, generation.send_lease_until) if t is not None]
    return max(times) if times else None


#: The columns a poll needs; the large JSON ones are left in the database.
POLL_FIELDS = ("id", "owner_id", "model_id", "status", "upstream_request_id", "upstream_status", "payload",
               "send_started_at", "created_at", "next_check_at", "send_lease_until", "poll_failures", "attempt",
               "shard", "team_id", "video_name", "thumbnail_name", "credits", "video_seconds", "webhook",
               "webhook_events_filter")


def polled_jobs(*, shards: set[int] | list[int], due_before=None) -> list[Generation]:
    """The jobs of ``shards`` that the engine polls (only those due by ``due_before``, if given)."""
    q = polled_q() if due_before is None else _due_q(due_before)
    return list(Generation.objects.filter(q, shard__in=list(shards)).only(*POLL_FIELDS))


def fetch_remote(generation: Generation) -> Any:
    """The upstream half of a poll (no database): the job's state at GMI, or GMI's request list to reconcile."""
    client = get_client()
    if generation.status == S.QUEUED:
        return client.list_requests(generation.model_id) if client.can_list_requests else []
    return client.get_request(generation.upstream_request_id or "", model_id=generation.model_id)


def fetch_list(model_id: str) -> list[RemoteJob]:
    """The upstream half of a poll of many jobs at once: GMI's request list for one model."""
    return get_client().list_requests(model_id)


def usable_from_list(generation: Generation, listed: dict[str, RemoteJob]) -> RemoteJob | None:
    """What GMI's request list says about ``generation``, when it says enough to act on.

    A list may abbreviate its entries: an end without its outcome (no video URL, no
    reason) is not taken from it but confirmed by fetching the job itself, so a list
    can never end a job wrongly. None means: fetch this one directly.
    """
    job = listed.get(generation.upstream_request_id or "")
    if job is None:
        return None
    if job.state == RemoteState.SUCCEEDED and not job.video_url:
        return None
    if job.state == RemoteState.FAILED and not job.error:
        return None
    return job


def apply_poll(generation: Generation, result: Any) -> Outcome:
    """The database half of a poll: move the job according to ``result`` (or the exception the fetch raised).

    Returns when the job is next due and whether it now waits for its copy. A poll
    that finds nothing new writes nothing.
    """
    if generation.status == S.QUEUED:
        return reconcile_submission(generation, listed=result)
    if isinstance(result, UpstreamNotFound):
        transition(generation, S.FAILED, note="GMI no longer knows this job", error_code="upstream_lost",
                   error="GMI no longer knows this job.")
        return ENDED
    if isinstance(result, Exception):
        if not isinstance(result, GMIError):
            logger.error("generation %s: poll raised %r", generation.pk, result)
            result = UpstreamUnavailable(f"unexpected error: {type(result).__name__}")
        return _poll_failed(generation, result)
    return apply_remote_state(generation, result)


def _next_check(generation: Generation, *, failures: int = 0, retry_after: float | None = None):
    base = float(app_settings.POLL_INTERVAL)
    delay = base if failures == 0 else min(float(app_settings.MAX_POLL_INTERVAL), base * (2 ** min(failures, 10)))
    if retry_after:
        delay = max(delay, float(retry_after))
    return timezone.now() + timedelta(seconds=delay)


def too_old(generation: Generation) -> bool:
    return timezone.now() - generation.created_at > timedelta(seconds=app_settings.MAX_JOB_AGE)


def _poll_failed(generation: Generation, exc: GMIError) -> Outcome:
    if too_old(generation):
        _expire(generation)
        return ENDED
    failures = generation.poll_failures + 1
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    if isinstance(exc, RateLimited):
        upstream.pause(retry_after or app_settings.POLL_INTERVAL)
    next_check = _next_check(generation, failures=failures, retry_after=retry_after)
    Generation.objects.filter(pk=generation.pk, status=generation.status).update(
        poll_failures=failures, next_check_at=next_check
    )
    generation.poll_failures, generation.next_check_at = failures, next_check
    level = logging.ERROR if isinstance(exc, UpstreamRejected) else logging.WARNING
    logger.log(level, "generation %s: poll failed (%s), attempt %s", generation.pk, exc, failures)
    return Outcome(next_check)


def _expire(generation: Generation) -> None:
    hours = app_settings.MAX_JOB_AGE / 3600
    if transition(generation, S.FAILED, note="Timed out", error_code="timeout",
                  error=f"GMI did not finish the job within {hours:g} hours."):
        cancel_upstream(generation)


def is_unchanged(generation: Generation, job: RemoteJob) -> bool:
    """Whether GMI's answer tells nothing new about a job still running (then nothing is written)."""
    if job.state.is_terminal or generation.poll_failures:
        return False
    if job.state == RemoteState.PROCESSING and generation.status == S.DISPATCHED:
        return False
    return job.raw_status[:60] == generation.upstream_status


def apply_remote_state(generation: Generation, job: RemoteJob) -> Outcome:
    """Move a generation according to what GMI says about it; returns what is left to do."""
    common: dict[str, Any] = {"upstream_status": job.raw_status[:60], "upstream_response": job.raw, "poll_failures": 0}
    current = generation.status
    if job.state == RemoteState.SUCCEEDED:
        if not job.video_url:
            transition(generation, S.FAILED, note="Success without a video", error_code="no_output",
                       error="GMI reported success but returned no video.", **common)
            return ENDED
        moved = transition(
            generation, S.MIRRORING, note="GMI finished the job", outcome_video_url=job.video_url,
            outcome_thumbnail_url=job.thumbnail_url or "", upstream_finished_at=job.updated_at or timezone.now(),
            mirror_started_at=None, mirror_attempts=0, **common,
        )
        return Outcome(to_mirror=moved)
    if job.state == RemoteState.FAILED:
        text = job.error or "GMI reported that the job failed."
        transition(generation, S.FAILED, note=text, error=text[:2000],
                   error_code="content_policy" if job.error_code == "content_policy" else "upstream_failed", **common)
        return ENDED
    if job.state == RemoteState.CANCELLED:
        transition(generation, S.CANCELLED, note="Cancelled at GMI", error="The job was cancelled at GMI.", **common)
        return ENDED
    if too_old(generation):
        _expire(generation)
        return ENDED
    next_check = _next_check(generation)
    if job.state == RemoteState.PROCESSING and current == S.DISPATCHED:
        transition(generation, S.PROCESSING, note="GMI is processing", next_check_at=next_check, **common)
        return Outcome(next_check)
    if is_unchanged(generation, job):
        # Nothing new: no write. The engine keeps the next due time in memory.
        return Outcome(next_check)
    # Still waiting with a new status word (or one we do not know), or recovered from errors.
    Generation.objects.filter(pk=generation.pk, status=current).update(next_check_at=next_check, **common)
    generation.upstream_status, generation.poll_failures, generation.next_check_at = job.raw_status[:60], 0, next_check
    return Outcome(next_check)


def reconcile_submission(generation: Generation, *, listed: Any = None) -> Outcome:
    """Settle a job whose POST may or may not have reached GMI (the crash window).

    Looks for the job in GMI's request list (``listed``: what ``fetch_remote``
    returned, or the error it raised): same model, a payload that contains
    everything we sent (GMI may add its defaults), created after the send began, and
    not already adopted by another generation. Found: adopt its id and carry on.
    Never found by ``RECONCILE_GIVE_UP``: the job fails and its usage is refunded.
    It is never sent again on absence alone: a list that paginates, or echoes the
    payload differently, must not make us pay twice.
    """
    now = timezone.now()
    age = (now - (generation.send_started_at or now)).total_seconds()
    if isinstance(listed, Exception):
        logger.warning("generation %s: cannot list GMI requests to reconcile (%s)", generation.pk, listed)
    elif listed:
        match = _find_match(generation, listed)
        if match is not None:
            logger.info("generation %s: reconciled with GMI request %s", generation.pk, match.request_id)
            record_dispatched(generation, match)
            return Outcome(generation.next_check_at)
    if age >= app_settings.RECONCILE_GIVE_UP:
        transition(generation, S.FAILED, expected=S.QUEUED, note="Submission could not be confirmed",
                   error_code="unconfirmed",
                   error="GMI could not confirm that it received this job, so it was not sent again. "
                         "Nothing was charged; submit it again.")
        return ENDED
    next_check = now + timedelta(seconds=max(1.0, app_settings.RECONCILE_AFTER / 3))
    Generation.objects.filter(pk=generation.pk, status=S.QUEUED).update(next_check_at=next_check)
    generation.next_check_at = next_check
    return Outcome(next_check)


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


def reschedule_lost(*, now=None) -> int:
    """Give a check time to polled jobs that have none (a lost task, a dead worker); returns how many."""
    return Generation.objects.filter(polled_q(), next_check_at__isnull=True).update(next_check_at=now or timezone.now())
