"""The engine's work in the caller's thread, for a host site's own tests
(with ``GENERATIONS["BACKEND"] = "generations.gmi.testing.InMemoryBackend"``)."""
from __future__ import annotations

from .models import Generation
from .services import dispatching, mirroring, polling


def run_jobs(*, passes: int = 5) -> dict[str, int]:
    """Send waiting jobs, poll the ones at GMI and mirror the finished ones, pass after pass.

    What a qcluster's engine does in its threads, here in the caller's, so that a host's
    test (where django-q2 runs ``sync`` and no engine starts) can take a job from submission
    to a mirrored video. Stops early once a pass moves nothing. With the in-memory backend
    a job succeeds within three passes. Returns how many sends, polls and mirrors ran.
    """
    counts = {"sent": 0, "polled": 0, "mirrored": 0}
    for _ in range(passes):
        sent = dispatching.dispatch_queued()
        at_gmi = list(Generation.objects.filter(polling.polled_q()))
        for generation in at_gmi:
            try:
                result = polling.fetch_remote(generation)
            except Exception as exc:  # upstream errors are answers to apply, as the engine applies them
                result = exc
            polling.apply_poll(generation, result)
        finished = list(Generation.objects.filter(status=Generation.Status.MIRRORING).values_list("pk", flat=True))
        for pk in finished:
            mirroring.mirror_generation(pk)
        counts["sent"] += sent
        counts["polled"] += len(at_gmi)
        counts["mirrored"] += len(finished)
        if not (sent or at_gmi or finished):
            break
    return counts
