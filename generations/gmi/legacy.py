"""The backend for GMI's legacy queue ("Video API", ``GMI_API=legacy``), which follows fal.ai's queue convention."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any
from urllib.parse import quote

from .base import Endpoint, GMIBackend, ModelInfo, Op, RemoteJob, RemoteState
from .errors import InvalidRequest, UpstreamNotFound
from .readers import first_of, list_in, message_from, model_id_of, normalize_status, outcome_media
from .schema import LEGACY_IMAGE_TO_VIDEO_PARAMETERS

DEFAULT_BASE_URL = "https://queue.gmi-serving.com"
DEFAULT_MODELS_URL = "https://api.gmi-serving.com/video/models"

#: The legacy API publishes no parameter schema; its documented image-to-video input
#: is described once, in the schema module, in the request-queue dialect.
IMAGE_TO_VIDEO_PARAMETERS = LEGACY_IMAGE_TO_VIDEO_PARAMETERS

#: The catalogue is served by another host than the queue, and it takes Bearer auth.
_CATALOGUE_OPS = frozenset({Op.LIST_MODELS, Op.GET_MODEL})


class LegacyBackend(GMIBackend):
    """Models from ``models_url`` (Bearer); jobs at ``{base}/video/...`` (``Authorization: Key``)."""

    name = "legacy"
    title = "GMI's legacy Video API"
    default_base_url = DEFAULT_BASE_URL
    provider_options = frozenset({"models_url"})
    can_list_requests = False
    can_upload_files = False
    model_list_keys = ("data", "models", "model_ids")

    def __init__(self, *, models_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models_url = models_url or DEFAULT_MODELS_URL

    def endpoint_for(self, op: Op, *, model_id: str = "", request_id: str = "") -> Endpoint:
        request = f"{self.base_url}/video/requests/{quote(request_id, safe='')}"
        match op:
            case Op.LIST_MODELS | Op.GET_MODEL:
                # There is no per-model detail: the list is all the API says about a model.
                return Endpoint("GET", self.models_url)
            case Op.CREATE:
                return Endpoint("POST", f"{self.base_url}/video/{quote(model_id, safe='')}")
            case Op.GET:
                return Endpoint("GET", f"{request}/status")
            case Op.RESULT:
                return Endpoint("GET", request)
            case Op.CANCEL:
                return Endpoint("PUT", f"{request}/cancel")
        raise NotImplementedError(f"{self.title} has no {op.value} call")

    def auth_headers(self, op: Op) -> dict[str, str]:
        scheme = "Bearer" if op in _CATALOGUE_OPS else "Key"
        return {"Authorization": f"{scheme} {self.api_key}"}

    def submission_body(self, model_id: str, payload: dict[str, Any]) -> Any:
        return payload  # fal's convention: the model's input is the whole body

    def parse_model(self, body: Any, *, model_id: str) -> ModelInfo:
        entry = next((entry for entry in list_in(body, *self.model_list_keys) if model_id_of(entry) == model_id), None)
        if entry is None:
            raise UpstreamNotFound(f"{self.title} does not offer model {model_id!r}", status_code=404)
        return ModelInfo(
            id=model_id,
            brief_description="Image to video (GMI legacy Video API).",
            modalities={"input": ["image", "text"], "output": ["video"]},
            parameters=copy.deepcopy(IMAGE_TO_VIDEO_PARAMETERS),
            raw=entry if isinstance(entry, dict) else {"id": model_id},
        )

    def parse_job(
        self, body: dict[str, Any], *, model_id: str = "", request_id: str = "", payload: dict[str, Any] | None = None
    ) -> RemoteJob:
        raw_status = str(body.get("status") or "")
        state = normalize_status(raw_status)
        error = message_from(body) if state is RemoteState.FAILED else ""
        return RemoteJob(
            request_id=str(first_of(body, "request_id", "requestId", "id") or request_id),
            state=state,
            raw_status=raw_status,
            model=model_id,
            error=error or None,
            payload=payload,
            raw=body,
        )

    def complete_job(self, job: RemoteJob) -> RemoteJob:
        # fal's convention: COMPLETED only says the job ended; the result says how.
        state, error, result = job.state, job.error, None
        if state is RemoteState.SUCCEEDED:
            try:
                result = self.call(Op.RESULT, request_id=job.request_id)
            except InvalidRequest as exc:
                state, error = RemoteState.FAILED, exc.reason or exc.message
        videos, thumbnail = outcome_media(result)
        return dataclasses.replace(
            job,
            state=state,
            error=error,
            video_urls=videos,
            thumbnail_url=thumbnail,
            raw={"status": job.raw, "result": result},
        )
