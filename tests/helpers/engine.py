"""One-shot engine passes for tests: poll every due job now, claim the next job to send."""
from __future__ import annotations

import uuid

from django.utils import timezone

from generations.models import Generation
from generations.services import dispatching, polling, shards, upstream


def poll_due(*, now=None, limit: int | None = None) -> int:
    """One pass over every due job in the shards no engine holds (what an engine does each tick, for its own).

    Polls run concurrently on the upstream pool; none while GMI asked us to wait.
    Returns how many were polled.
    """
    if not upstream.ready():
        return 0
    owner = f"pass-{uuid.uuid4().hex}"
    held, _ = shards.rebalance(owner, alone=True)
    try:
        jobs = polling.polled_jobs(shards=held, due_before=now or timezone.now())
        if limit is not None:
            jobs = jobs[:limit]
        polling.poll_many(jobs)
    finally:
        shards.release_all(owner)
    return len(jobs)


def claim_next() -> Generation | None:
    """The next job to send, claimed (``claim_batch`` of one)."""
    batch = dispatching.claim_batch(limit=1)
    return batch[0] if batch else None
