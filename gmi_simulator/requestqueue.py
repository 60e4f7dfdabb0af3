"""GMI's request-queue API (the current one), under ``/api/v1/ie/requestqueue/apikey/``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import catalogue, media
from .calls import Answer, Call, api_error, json_answer
from .catalogue import MODELS, MODELS_BY_ID, SimulatedModel
from .faults import DEFAULT_PARAMS
from .jobs import new_job, triggered_spoil
from .state import UPLOAD_CONTENT_TYPES, Job, prompt_triggers
from .storage import outcome_urls, upload_urls

PATH = "/api/v1/ie/requestqueue/apikey"


def _error(status: int, message: str) -> Answer:
    return api_error("requestqueue", status, message)


def format_time(value: float, dialect: str) -> int | float | str:
    """A timestamp in one of the dialects GMI's models answer in (``SimulatedModel.time_format``)."""
    if dialect == "iso":
        return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if dialect == "epoch_float":
        return round(value, 3)
    return int(value)


def _find(call: Call, model_id: str) -> SimulatedModel | None:
    found = MODELS_BY_ID.get(model_id)
    if found is None and call.simulator.extra_models:
        found = catalogue.synthetic_model(model_id, count=call.simulator.extra_models,
                                          guide_bytes=call.simulator.guide_bytes)
    return found


def models(call: Call) -> Answer:
    return json_answer(200, {"model_ids": [model.id for model in MODELS]
                             + catalogue.synthetic_ids(call.simulator.extra_models)})


def model(call: Call, model_id: str) -> Answer:
    found = _find(call, model_id)
    if found is None:
        return _error(404, f"model {model_id!r} not found")
    return json_answer(200, found.public_detail())


def create(call: Call) -> Answer:
    data = call.json()
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        return _error(400, 'body must be {"model": "<model id>", "payload": {...}}')
    found = _find(call, data["model"])
    if found is None:
        return _error(404, f"model {data['model']!r} not found")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        return _error(400, "payload must be a JSON object")
    triggers = prompt_triggers(payload)
    problem = _validate(found, payload) or ("prompt asks for an invalid request" if "[invalid]" in triggers else None)
    if problem:
        return _error(400, problem)
    if "[policy]" in triggers:
        return _error(400, DEFAULT_PARAMS["content_policy"]["message"])
    job = new_job(call, "requestqueue", found.id, payload, found, "create", triggers)
    created = format_time(job.created, found.time_format)
    answer = json_answer(
        200,
        {
            "request_id": job.request_id,
            "model": found.id,
            "status": found.status_word(job.first_status),
            "created_at": created,
            "updated_at": created,
            "queued_at": created,
        },
    )
    answer.spoil = triggered_spoil(triggers)
    return answer


def get(call: Call, request_id: str) -> Answer:
    job = call.state.job("requestqueue", request_id)
    if job is None:
        return _error(404, f"request {request_id!r} not found")
    return json_answer(200, _job_body(call, job))


def list_requests(call: Call) -> Answer:
    jobs = call.state.jobs("requestqueue", call.query.get("model_id") or None)
    return json_answer(200, {"requests": [_job_body(call, job) for job in jobs], "total": len(jobs)})


def cancel(call: Call, request_id: str) -> Answer:
    job = call.state.job("requestqueue", request_id)
    if job is None:
        return _error(404, f"request {request_id!r} not found")
    if not call.state.cancel(job):
        return _error(409, "request already finished and cannot be cancelled")
    return json_answer(200, {"request_id": job.request_id, "status": "cancelled"})


def upload_url(call: Call) -> Answer:
    data = call.json()
    file_type = str(data.get("file_type", "")).lower() if isinstance(data, dict) else ""
    if file_type not in UPLOAD_CONTENT_TYPES:
        return _error(400, f"file_type must be one of {', '.join(UPLOAD_CONTENT_TYPES)}")
    state = call.state
    upload = state.new_upload(file_type)
    if state.faults.draw("expired_urls", "upload_url") is not None:
        upload.expires = int(state.now()) - 60
    signed_url, public_url = upload_urls(call, upload)
    target = state.faults.draw("upload_target", "upload_url")
    return json_answer(200, {"upload_url": target["url"] if target else signed_url, "public_url": public_url})


def _job_body(call: Call, job: Job) -> dict[str, Any]:
    found = _find(call, job.model)
    assert found is not None  # jobs are only made for models that exist
    phase, since = job.phase(call.state.now())
    word = job.unknown_word if phase == "processing" and job.unknown_word else found.status_word(phase)
    created = format_time(job.created, found.time_format)
    body: dict[str, Any] = {
        "request_id": job.request_id,
        "org_id": call.headers.get("X-Organization-ID") or catalogue.ORG_ID,
        "model": job.model,
        "status": word,
        "payload": job.payload,
        "outcome": _outcome(call, job) if phase == "success" else None,
        "created_at": created,
        "updated_at": format_time(since, found.time_format),
        "queued_at": created,
    }
    if phase == "failed":
        body["error"] = job.error
    if job.echo:
        # Where a careless upstream would repeat a header: a value, a key and a list item.
        body["diagnostics"] = {"worker": {"note": job.echo, job.echo: [job.echo]}}
    return body


def _outcome(call: Call, job: Job) -> dict[str, Any]:
    video, thumbnail = outcome_urls(call, job)
    if job.outcome_shape == "envelope_strings":
        return {"media_urls": [video, thumbnail]}
    if job.outcome_shape == "envelope":
        return {
            "media_urls": [
                {"id": "0", "url": video, "mime_type": "video/mp4"},
                {"id": "1", "url": thumbnail, "mime_type": "image/jpeg"},
            ],
            "usage": {"video_seconds": media.SECONDS},
        }
    return {"video_url": video, "thumbnail_image_url": thumbnail, "video_duration": float(media.SECONDS)}


def _validate(found: SimulatedModel, payload: dict[str, Any]) -> str | None:
    """The first problem GMI would report for this payload, if any."""
    for parameter in found.detail["parameters"]:
        name = parameter["name"]
        value = payload.get(name)
        if value is None or value == "":
            if parameter.get("required"):
                return f"missing required parameter '{name}'"
            continue
        options = catalogue.parameter_options(parameter)
        if options is not None and str(value) not in {str(option) for option in options}:
            return f"invalid value for '{name}': {value!r} is not one of {', '.join(map(str, options))}"
        low, high = catalogue.parameter_bounds(parameter)
        if low is None and high is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"invalid value for '{name}': {value!r} is not a number"
        if (low is not None and number < low) or (high is not None and number > high):
            return f"invalid value for '{name}': {value!r} is out of range"
    return None


#: (method, endpoint, path pattern after ``PATH``; None matches any segment, handler).
ROUTES: list[tuple[str, str, tuple[str | None, ...], Callable[..., Answer]]] = [
    ("GET", "models", ("models",), models),
    ("GET", "model", ("models", None), model),
    ("POST", "create", ("requests",), create),
    ("GET", "list", ("requests",), list_requests),
    ("GET", "get", ("requests", None), get),
    ("DELETE", "cancel", ("requests", None), cancel),
    ("POST", "upload_url", ("upload-url",), upload_url),
]
