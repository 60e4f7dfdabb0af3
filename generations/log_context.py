"""The job a line of log is about: its generation id and GMI request id, bound while code works on that job.

Request-side context (request id, address, user) is ``request_context``; this is its
counterpart for the engine's and the tasks' threads, so every line written while a job is
sent, polled, moved or mirrored carries the job's ids without each call site passing them.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobContext:
    generation_id: str
    upstream_request_id: str


_current: ContextVar[JobContext | None] = ContextVar("generations_job_context", default=None)


def current() -> JobContext | None:
    return _current.get()


@contextmanager
def job(generation: Any = None, *, generation_id: Any = None) -> Iterator[None]:
    """Bind ``generation`` (or only its id) to every log line written inside the block, in this thread."""
    pk = generation.pk if generation is not None else generation_id
    upstream = getattr(generation, "upstream_request_id", None) or ""
    token = _current.set(JobContext(generation_id=str(pk), upstream_request_id=str(upstream)))
    try:
        yield
    finally:
        _current.reset(token)
