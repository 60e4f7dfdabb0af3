"""A GMI backend that runs jobs in memory, for a host site's own tests: no HTTP, no simulator, no key.

Select it with ``GENERATIONS["BACKEND"] = "generations.gmi.testing.InMemoryBackend"`` (the older
``GENERATIONS["API"] = "memory"`` still works, with a system-check warning). A submission is answered at once with a
request id; each later poll moves the job one step (queued → processing → succeeded), and a
succeeded job's outcome URLs (``memory://…``) name a small valid MP4 and JPEG kept in this
package, which mirroring obtains through ``open_outcome`` instead of downloading them. A
prompt containing ``FAIL`` ends in failure instead, for hosts that test their failure path.
Jobs live in the process (``InMemoryBackend.jobs``); ``InMemoryBackend.reset()`` forgets them.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .base import Endpoint, GMIBackend, Op
from .errors import UpstreamNotFound
from .objects import ModelInfo, RemoteJob, RemoteState

OUTCOMES = Path(__file__).resolve().parent / "outcomes"
SCHEME = "memory://"

#: The one model the backend offers: a prompt and a duration, as GMI describes parameters.
MODEL_ID = "memory-video"
MODEL_DETAIL: dict[str, Any] = {
    "brief_description": "Makes a short test clip in memory (for tests).",
    "parameters": [
        {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True,
         "description": "What the clip shows."},
        {"name": "duration", "display_name": "Duration", "type": "integer", "required": False, "default": 4,
         "minimum": 1, "maximum": 10, "description": "Length of the clip in seconds."},
    ],
}
#: The steps a job takes, one per poll after its submission.
STEPS = (RemoteState.QUEUED, RemoteState.PROCESSING, RemoteState.SUCCEEDED)


@dataclass
class MemoryJob:
    request_id: str
    model: str
    payload: dict[str, Any]
    step: int = 0
    cancelled: bool = False

    @property
    def fails(self) -> bool:
        return "FAIL" in str(self.payload.get("prompt", ""))


class InMemoryBackend(GMIBackend):
    """Every call answered from memory; nothing leaves the process."""

    name = "memory"
    title = "GMI (in memory)"
    default_base_url = "memory://gmi"
    needs_api_key = False
    can_upload_files = True

    jobs: ClassVar[dict[str, MemoryJob]] = {}
    uploads: ClassVar[dict[str, bytes]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _ids: ClassVar[itertools.count] = itertools.count(1)

    @classmethod
    def reset(cls) -> None:
        """Forget every job and upload (call between tests that count them)."""
        with cls._lock:
            cls.jobs.clear()
            cls.uploads.clear()

    # --- the public calls, answered from memory -----------------------------------------

    def list_models(self) -> list[str]:
        return [MODEL_ID]

    def get_model(self, model_id: str) -> ModelInfo:
        if model_id != MODEL_ID:
            raise UpstreamNotFound(f"No model {model_id!r} in memory; the one model is {MODEL_ID!r}.")
        return ModelInfo(id=MODEL_ID, brief_description=MODEL_DETAIL["brief_description"],
                         parameters=list(MODEL_DETAIL["parameters"]), raw={"model": MODEL_ID, **MODEL_DETAIL})

    def create_request(self, model_id: str, payload: dict[str, Any]) -> RemoteJob:
        if model_id != MODEL_ID:
            raise UpstreamNotFound(f"No model {model_id!r} in memory.")
        with self._lock:
            job = MemoryJob(request_id=f"mem-{next(self._ids):06d}", model=model_id, payload=dict(payload))
            self.jobs[job.request_id] = job
            return self._remote(job)

    def get_request(self, request_id: str, *, model_id: str = "") -> RemoteJob:
        with self._lock:
            job = self.jobs.get(request_id)
            if job is None:
                raise UpstreamNotFound(f"No request {request_id!r} in memory.")
            if not job.cancelled and job.step < len(STEPS) - 1:
                job.step += 1
            return self._normalized(self._remote(job))

    def list_requests(self, model_id: str) -> list[RemoteJob]:
        with self._lock:
            return [self._remote(job) for job in self.jobs.values() if job.model == model_id]

    def cancel_request(self, request_id: str, *, model_id: str = "") -> None:
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None and self._state(job) not in (RemoteState.SUCCEEDED, RemoteState.FAILED):
                job.cancelled = True

    def upload_file(self, data: bytes, *, file_type: str) -> str:
        with self._lock:
            url = f"{SCHEME}uploads/{next(self._ids):06d}.{file_type.lower()}"
            self.uploads[url] = bytes(data)
        return url

    def open_outcome(self, url: str) -> bytes | None:
        """The bytes of an outcome URL this backend made (mirroring asks before any download)."""
        if not url.startswith(SCHEME):
            return None
        name = "clip.mp4" if url.endswith(".mp4") else "thumbnail.jpg"
        return (OUTCOMES / name).read_bytes()

    # --- how a job reads -----------------------------------------------------------------

    def _state(self, job: MemoryJob) -> RemoteState:
        if job.cancelled:
            return RemoteState.CANCELLED
        state = STEPS[job.step]
        return RemoteState.FAILED if state is RemoteState.SUCCEEDED and job.fails else state

    def _remote(self, job: MemoryJob) -> RemoteJob:
        state = self._state(job)
        done = state is RemoteState.SUCCEEDED
        return RemoteJob(
            request_id=job.request_id, state=state, raw_status=state.value, model=job.model, payload=job.payload,
            video_urls=(f"{SCHEME}{job.request_id}/video.mp4",) if done else (),
            thumbnail_url=f"{SCHEME}{job.request_id}/thumbnail.jpg" if done else None,
            error="The prompt asked this test job to fail." if state is RemoteState.FAILED else None,
            raw={"request_id": job.request_id, "status": state.value},
        )

    # --- hooks of the HTTP sequence, never reached: every call above answers itself ------

    def endpoint_for(self, op: Op, *, model_id: str = "", request_id: str = "") -> Endpoint:
        raise NotImplementedError("The in-memory backend sends no HTTP.")

    def auth_headers(self, op: Op) -> dict[str, str]:
        return {}

    def submission_body(self, model_id: str, payload: dict[str, Any]) -> Any:
        return {"model": model_id, "payload": payload}

    def parse_model(self, body: Any, *, model_id: str) -> ModelInfo:
        return self.get_model(model_id)

    def parse_job(self, body: dict[str, Any], *, model_id: str = "", request_id: str = "",
                  payload: dict[str, Any] | None = None) -> RemoteJob:
        raise NotImplementedError("The in-memory backend parses no HTTP answers.")
