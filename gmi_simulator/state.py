"""What the simulated GMI account holds: jobs and their timelines, uploads, and the call journal.

Job status is computed from elapsed time on the simulator's clock, which tests can move
forward (``advance``) instead of sleeping.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from .faults import FaultBoard
from .media import PALETTES

#: Prompt markers that make a job behave in a fixed way (checked in every string value
#: of the payload, case-insensitively), so tests in other processes need no fault API.
PROMPT_TRIGGERS: dict[str, str] = {
    "[fail]": "the job ends 'failed' with a top-level error",
    "[policy]": "the submission is refused: 400 'violates content policy'",
    "[invalid]": "the submission is refused: 400 invalid payload",
    "[expired]": "the outcome URLs are already expired (403)",
    "[envelope]": "the outcome uses the media_urls envelope with objects",
    "[envelope-strings]": "the outcome uses the media_urls envelope with plain strings",
    "[unknown-status]": "the job reports an unknown status word while processing",
    "[stuck]": "the job never ends (stays processing)",
    "[lost]": "the job is created but the submit response is dropped",
    "[timeout]": "the job is created but the submit response comes after 35 s",
    "[malformed]": "the job is created but the submit response is cut-off JSON",
}

#: Share of a job's time spent in each phase (a job that starts "dispatched" merges the first two).
QUEUED_UNTIL = 0.2
DISPATCHED_UNTIL = 0.4
FAILS_AT = 0.7
UPLOAD_URL_SECONDS = 15 * 60
#: Journal entries kept (the newest): enough for any test, bounded for a simulator that
#: serves a thousand polls a second for hours.
JOURNAL_SIZE = 10_000

UPLOAD_CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


def prompt_triggers(payload: dict[str, Any]) -> set[str]:
    text = " ".join(value.lower() for value in payload.values() if isinstance(value, str))
    return {trigger for trigger in PROMPT_TRIGGERS if trigger in text}


@dataclass
class Job:
    """One simulated generation job."""

    request_id: str
    api: str  # "requestqueue" or "legacy"
    model: str
    payload: dict[str, Any]
    created: float
    seconds: float
    first_status: str = "queued"
    error: str | None = None
    expired_urls: bool = False
    outcome_shape: str = "flat"
    unknown_word: str | None = None
    stuck: bool = False
    echo: str | None = None  # repeated in an extra field of every answer (the echo fault)
    cancelled_at: float | None = None

    @property
    def variant(self) -> int:
        """Which look its video gets: stable per job, varied across jobs."""
        return int(hashlib.sha256(self.request_id.encode()).hexdigest(), 16) % len(PALETTES)

    @property
    def ends_at(self) -> float:
        return self.created + self.seconds * (FAILS_AT if self.error else 1.0)

    def phase(self, now: float) -> tuple[str, float]:
        """The job's phase at ``now`` (queued, dispatched, processing, success, failed,
        cancelled) and when that phase began."""
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return "cancelled", self.cancelled_at
        elapsed = now - self.created
        if not self.stuck and now >= self.ends_at:
            return ("failed" if self.error else "success"), self.ends_at
        if elapsed >= DISPATCHED_UNTIL * self.seconds:
            return "processing", self.created + DISPATCHED_UNTIL * self.seconds
        if self.first_status == "dispatched":
            return "dispatched", self.created
        if elapsed >= QUEUED_UNTIL * self.seconds:
            return "dispatched", self.created + QUEUED_UNTIL * self.seconds
        return "queued", self.created

    def summary(self, now: float) -> dict[str, Any]:
        phase, since = self.phase(now)
        return {
            "request_id": self.request_id,
            "api": self.api,
            "model": self.model,
            "phase": phase,
            "phase_since": since,
            "payload": copy.deepcopy(self.payload),
            "created": self.created,
        }


@dataclass
class Upload:
    """A file announced through upload-url, with its bytes once they were PUT."""

    token: str
    file_type: str
    content_type: str
    expires: int
    data: bytes | None = None


class SimulatorState:
    """All mutable simulator state; every method is safe to call from request threads."""

    def __init__(
        self,
        *,
        job_seconds: float = 6.0,
        url_ttl: float = 3600.0,
        faults: FaultBoard | None = None,
        journal_size: int = JOURNAL_SIZE,
    ) -> None:
        self.job_seconds = job_seconds
        self.url_ttl = url_ttl
        self.faults = faults or FaultBoard()
        self._jobs: dict[str, Job] = {}
        self._uploads: dict[str, Upload] = {}
        self._journal: deque[dict[str, Any]] = deque(maxlen=journal_size)
        self._offset = 0.0
        self._secret = secrets.token_bytes(16)
        self._lock = threading.RLock()

    # --- clock ---------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    # --- journal -------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append a journal entry (dropping the oldest beyond ``journal_size``); the caller
        may still fill in its outcome fields."""
        with self._lock:
            self._journal.append(entry)
        return entry

    def update_entry(self, entry: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            entry.update(fields)

    def journal(self, *, endpoint: str | None = None, api: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(entry)
                for entry in self._journal
                if (endpoint is None or entry["endpoint"] == endpoint) and (api is None or entry["api"] == api)
            ]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()

    # --- jobs ----------------------------------------------------------------------

    def add_job(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.request_id] = job
        return job

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def job(self, api: str | None, request_id: str) -> Job | None:
        """The job with this id as seen by one API (each API sees only its own jobs), or by any."""
        with self._lock:
            job = self._jobs.get(request_id)
            return job if job is not None and api in (None, job.api) else None

    def jobs(self, api: str | None = None, model: str | None = None) -> list[Job]:
        """Jobs newest first."""
        with self._lock:
            found = [
                job
                for job in self._jobs.values()
                if (api is None or job.api == api) and (model is None or job.model == model)
            ]
        return sorted(found, key=lambda job: job.created, reverse=True)

    def queue_position(self, job: Job) -> int:
        now = self.now()
        return sum(1 for other in self.jobs(job.api) if other.created < job.created and other.phase(now)[0] == "queued")

    def cancel(self, job: Job) -> bool:
        """Cancel a running job; False when it had already ended."""
        with self._lock:
            now = self.now()
            if job.phase(now)[0] in ("success", "failed", "cancelled"):
                return False
            job.cancelled_at = now
            return True

    # --- uploads -------------------------------------------------------------------

    def new_upload(self, file_type: str) -> Upload:
        upload = Upload(
            token=uuid.uuid4().hex,
            file_type=file_type,
            content_type=UPLOAD_CONTENT_TYPES[file_type],
            expires=int(self.now() + UPLOAD_URL_SECONDS),
        )
        with self._lock:
            self._uploads[upload.token] = upload
        return upload

    def upload(self, token: str) -> Upload | None:
        with self._lock:
            return self._uploads.get(token)

    # --- signed URLs ---------------------------------------------------------------

    def sign(self, path: str, expires: int) -> str:
        return hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def signature_valid(self, path: str, expires: str, signature: str) -> bool:
        return expires.isdigit() and hmac.compare_digest(self.sign(path, int(expires)), signature)

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._uploads.clear()
            self._journal.clear()
            self._offset = 0.0
            self.faults.clear()
