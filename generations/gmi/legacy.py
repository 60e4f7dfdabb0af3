"""The backend for GMI's legacy queue ("Video API", ``GMI_API=legacy``), which follows fal.ai's queue convention."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

from .base import GMIBackend, ModelInfo, RemoteJob, RemoteState
from .errors import InvalidRequest, NotFound, UpstreamRejected, UpstreamUnavailable
from .http import (
    HTTPClient,
    as_object,
    describe_keys,
    first_of,
    list_in,
    message_from,
    normalize_status,
    outcome_media,
)
from .schema import LEGACY_IMAGE_TO_VIDEO_PARAMETERS

DEFAULT_BASE_URL = "https://queue.gmi-serving.com"
DEFAULT_MODELS_URL = "https://api.gmi-serving.com/video/models"

#: The legacy API publishes no parameter schema; its documented image-to-video input
#: is described once, in the schema module, in the request-queue dialect.
IMAGE_TO_VIDEO_PARAMETERS = LEGACY_IMAGE_TO_VIDEO_PARAMETERS

#: A cancel answered with one of these means the job had already ended (or vanished).
_ENDED_JOB_STATUSES = frozenset({400, 404, 409, 410, 422})


class LegacyBackend(GMIBackend):
    """Models from ``models_url`` (Bearer); jobs at ``{base}/video/...`` (``Authorization: Key``)."""

    name = "legacy"
    can_list_requests = False
    can_upload_files = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = (self.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.models_url = self.models_url or DEFAULT_MODELS_URL
        self.http = HTTPClient(
            connect_timeout=self.connect_timeout, read_timeout=self.read_timeout, secrets=[self.api_key],
            pool_size=self.pool_size,
        )

    def __repr__(self) -> str:
        return f"<LegacyBackend {self.base_url}>"

    def _queue(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Key {self.api_key}", "Accept": "application/json"}
        return self.http.request(method, f"{self.base_url}/video/{path}", headers=headers, **kwargs)

    def _model_entries(self) -> list[Any]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        return list_in(self.http.request("GET", self.models_url, headers=headers), "data", "models", "model_ids")

    def list_models(self) -> list[str]:
        return [model_id for model_id in map(_model_id, self._model_entries()) if model_id]

    def get_model(self, model_id: str) -> ModelInfo:
        entry = next((entry for entry in self._model_entries() if _model_id(entry) == model_id), None)
        if entry is None:
            raise NotFound(f"GMI's legacy Video API does not offer model {model_id!r}", status_code=404)
        return ModelInfo(
            id=model_id,
            brief_description="Image to video (GMI legacy Video API).",
            modalities={"input": ["image", "text"], "output": ["video"]},
            parameters=copy.deepcopy(IMAGE_TO_VIDEO_PARAMETERS),
            raw=entry if isinstance(entry, dict) else {"id": model_id},
        )

    def create_request(self, model_id: str, payload: dict[str, Any]) -> RemoteJob:
        body = as_object(self._queue("POST", quote(model_id, safe=""), json_body=payload), "submission")
        request_id = str(first_of(body, "request_id", "requestId", "id") or "")
        if not request_id:
            # Something was accepted, but we cannot tell what: reconcile, never resend.
            raise UpstreamUnavailable(f"GMI answered the submission without a request id (keys: {describe_keys(body)})")
        raw_status = str(body.get("status") or "")
        return RemoteJob(
            request_id=request_id,
            state=normalize_status(raw_status) if raw_status else RemoteState.QUEUED,
            raw_status=raw_status,
            model=model_id,
            payload=payload,
            raw=body,
        )

    def get_request(self, request_id: str, *, model_id: str = "") -> RemoteJob:
        path = f"requests/{quote(request_id, safe='')}"
        status_body = as_object(self._queue("GET", f"{path}/status"), "status")
        raw_status = str(status_body.get("status") or "")
        state = normalize_status(raw_status)
        error = message_from(status_body) if state is RemoteState.FAILED else ""
        result: Any = None
        if state is RemoteState.SUCCEEDED:
            # fal's convention: COMPLETED only says the job ended; the result says how.
            try:
                result = self._queue("GET", path)
            except InvalidRequest as exc:
                state, error = RemoteState.FAILED, _detail(exc.body) or exc.message
        videos, thumbnail = outcome_media(result)
        return RemoteJob(
            request_id=request_id,
            state=state,
            raw_status=raw_status,
            model=model_id,
            video_urls=videos,
            thumbnail_url=thumbnail,
            error=error or None,
            raw={"status": status_body, "result": result},
        )

    def list_requests(self, model_id: str) -> list[RemoteJob]:
        """The legacy API cannot list requests: nothing to reconcile against."""
        return []

    def cancel_request(self, request_id: str, *, model_id: str = "") -> None:
        try:
            self._queue("PUT", f"requests/{quote(request_id, safe='')}/cancel", expect_json=False)
        except UpstreamRejected as exc:
            if exc.status_code not in _ENDED_JOB_STATUSES:
                raise

    def upload_file(self, data: bytes, *, file_type: str) -> str:
        raise UpstreamRejected(
            "GMI's legacy Video API has no file upload; pass a public image URL, or use the request-queue API"
        )


def _model_id(entry: Any) -> str:
    return entry if isinstance(entry, str) else str(first_of(entry, "id", "model", "model_id", "name") or "")


def _detail(body: str) -> str:
    try:
        return message_from(json.loads(body))
    except ValueError:
        return ""
