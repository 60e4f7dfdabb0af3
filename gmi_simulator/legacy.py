"""GMI's legacy queue API (the older "Video API", in fal's dialect), under ``/video/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from . import catalogue
from .calls import Answer, Call, api_error, json_answer
from .catalogue import MODELS_BY_ID
from .faults import DEFAULT_PARAMS
from .jobs import new_job, triggered_spoil
from .media import padded_mp4
from .state import Job, prompt_triggers
from .storage import clip_of, outcome_urls

MODELS_PATH = "/video/models"


def _error(status: int, message: str) -> Answer:
    return api_error("legacy", status, message)


def models(call: Call) -> Answer:
    return json_answer(
        200,
        {
            "object": "list",
            "data": [
                {
                    "id": model_id,
                    "object": "model",
                    "created": catalogue.LEGACY_MODEL_CREATED,
                    "owned_by": "gmi-serving",
                }
                for model_id in catalogue.LEGACY_MODEL_IDS
            ],
        },
    )


def submit(call: Call, model_id: str) -> Answer:
    if model_id not in catalogue.LEGACY_MODEL_IDS:
        return _error(404, f"Model '{model_id}' not found")
    payload = call.json()
    if not isinstance(payload, dict):
        return _error(422, "Body must be a JSON object with the model's input")
    triggers = prompt_triggers(payload)
    problem = _validate(payload) or ("Invalid input requested by the prompt" if "[invalid]" in triggers else None)
    if problem:
        return _error(422, problem)
    if "[policy]" in triggers:
        return _error(400, DEFAULT_PARAMS["content_policy"]["message"])
    job = new_job(call, "legacy", model_id, payload, MODELS_BY_ID.get(model_id), "legacy_submit", triggers)
    answer = json_answer(
        200, {"status": "IN_QUEUE", **_links(call, job), "queue_position": call.state.queue_position(job)}
    )
    answer.spoil = triggered_spoil(triggers)
    return answer


def status(call: Call, request_id: str) -> Answer:
    job = call.state.job("legacy", request_id)
    if job is None:
        return _error(404, "Request not found")
    phase, _since = job.phase(call.state.now())
    word = {
        "queued": "IN_QUEUE",
        "dispatched": "IN_QUEUE",
        "processing": job.unknown_word.upper() if job.unknown_word else "IN_PROGRESS",
        "success": "COMPLETED",
        "failed": "COMPLETED" if job.model in catalogue.LEGACY_FAL_STYLE_FAILURES else "FAILED",
        "cancelled": "CANCELLED",
    }[phase]
    body: dict[str, Any] = {"status": word, **_links(call, job), "logs": None}
    if word == "IN_QUEUE":
        body["queue_position"] = call.state.queue_position(job)
    if word == "FAILED":
        body["error"] = job.error
    return json_answer(200, body)


def result(call: Call, request_id: str) -> Answer:
    job = call.state.job("legacy", request_id)
    if job is None:
        return _error(404, "Request not found")
    phase, _since = job.phase(call.state.now())
    if phase == "failed":
        return _error(422, job.error or "failed")
    if phase == "cancelled":
        return _error(400, "Request was cancelled")
    if phase != "success":
        return _error(400, "Request is still in progress")
    video, _thumbnail = outcome_urls(call, job)
    return json_answer(
        200,
        {
            "video": {
                "url": video,
                "content_type": "video/mp4",
                "file_name": "video.mp4",
                "file_size": padded_mp4(clip_of(job).video, call.simulator.video_bytes).size,
            },
            "seed": job.variant,
        },
    )


def cancel(call: Call, request_id: str) -> Answer:
    job = call.state.job("legacy", request_id)
    if job is None:
        return _error(404, "Request not found")
    if not call.state.cancel(job):
        return json_answer(400, {"status": "ALREADY_COMPLETED", "detail": "Request already completed"})
    return json_answer(202, {"status": "CANCELLATION_REQUESTED"})


def _links(call: Call, job: Job) -> dict[str, str]:
    base = f"{call.origin}/video/requests/{quote(job.request_id)}"
    return {
        "request_id": job.request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
    }


def _validate(payload: dict[str, Any]) -> str | None:
    for name in ("prompt", "image_url"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            return f"Field required: {name}"
    if "duration" in payload and str(payload["duration"]) not in catalogue.LEGACY_DURATIONS:
        return "duration must be '5' or '10'"
    if "aspect_ratio" in payload and payload["aspect_ratio"] not in catalogue.LEGACY_ASPECT_RATIOS:
        return f"aspect_ratio must be one of {', '.join(catalogue.LEGACY_ASPECT_RATIOS)}"
    return None


#: (method, endpoint, path pattern after ``/video/``; None matches any segment, handler).
#: A model id shares its path level with ``models`` and ``requests``: see ``http.route``.
ROUTES: list[tuple[str, str, tuple[str | None, ...], Callable[..., Answer]]] = [
    ("GET", "legacy_models", ("models",), models),
    ("GET", "legacy_status", ("requests", None, "status"), status),
    ("GET", "legacy_result", ("requests", None), result),
    ("PUT", "legacy_cancel", ("requests", None, "cancel"), cancel),
    ("DELETE", "legacy_cancel", ("requests", None, "cancel"), cancel),
    ("POST", "legacy_submit", (None,), submit),
]
