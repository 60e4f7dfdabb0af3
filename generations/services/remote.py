"""A job's request at GMI, shared by sending and polling: adopt GMI's request id (the end of the crash
window), or cancel the request of a job that ended here."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..client import get_client
from ..conf import app_settings
from ..gmi.errors import GMIError
from ..models import Generation
from .lifecycle import transition

logger = logging.getLogger("generations.dispatch")

S = Generation.Status


def record_dispatched(generation: Generation, job: Any) -> None:
    """Store GMI's request id: the end of the crash window."""
    now = timezone.now()
    moved = transition(
        generation, S.DISPATCHED, expected=S.QUEUED, note=f"GMI request {job.request_id}",
        upstream_request_id=job.request_id, upstream_status=job.raw_status, upstream_response=job.raw,
        dispatched_at=now, next_check_at=now + timedelta(seconds=app_settings.POLL_INTERVAL), send_lease_until=None,
        poll_failures=0,
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
