"""The backend for GMI's current request-queue API (``GMI_API=requestqueue``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import Endpoint, GMIBackend, ModelInfo, Op, RemoteJob
from .errors import ErrorCode, UpstreamUnavailable
from .readers import (
    as_object,
    describe_keys,
    first_of,
    message_from,
    normalize_status,
    outcome_media,
    parse_time,
)

DEFAULT_BASE_URL = "https://console.gmicloud.ai/api/v1/ie/requestqueue/apikey"


class RequestQueueBackend(GMIBackend):
    """``{base}/models``, ``{base}/requests`` and ``{base}/upload-url`` with a Bearer key."""

    name = "requestqueue"
    title = "GMI's request-queue API"
    default_base_url = DEFAULT_BASE_URL

    def endpoint_for(self, op: Op, *, model_id: str = "", request_id: str = "") -> Endpoint:
        base = self.base_url
        request = f"{base}/requests/{quote(request_id, safe='')}"
        match op:
            case Op.LIST_MODELS:
                return Endpoint("GET", f"{base}/models")
            case Op.GET_MODEL:
                return Endpoint("GET", f"{base}/models/{quote(model_id, safe='')}")
            case Op.CREATE:
                return Endpoint("POST", f"{base}/requests")
            case Op.GET:
                return Endpoint("GET", request)
            case Op.LIST:
                return Endpoint("GET", f"{base}/requests", params={"model_id": model_id})
            case Op.CANCEL:
                return Endpoint("DELETE", request)
            case Op.UPLOAD_TARGET:
                return Endpoint("POST", f"{base}/upload-url")
        raise NotImplementedError(f"{self.title} has no {op.value} call")

    def auth_headers(self, op: Op) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.org_id:
            headers["X-Organization-ID"] = self.org_id
        return headers

    def submission_body(self, model_id: str, payload: dict[str, Any]) -> Any:
        return {"model": model_id, "payload": payload}

    def upload_target_body(self, file_type: str) -> Any:
        return {"file_type": file_type}

    def parse_model(self, body: Any, *, model_id: str) -> ModelInfo:
        body = as_object(body, "model detail")
        # Kept exactly as sent (a dict too, should GMI send one): ``schema.read_parameters``
        # understands every shape, and reshaping here could only lose information.
        parameters = body.get("parameters")
        return ModelInfo(
            id=str(first_of(body, "model", "id", "model_id") or model_id),
            brief_description=str(body.get("brief_description") or ""),
            detailed_description=str(body.get("detailed_description") or ""),
            modalities=body.get("modalities") if isinstance(body.get("modalities"), dict) else {},
            parameters=parameters if isinstance(parameters, (list, dict)) else [],
            raw=body,
        )

    def parse_job(
        self, body: dict[str, Any], *, model_id: str = "", request_id: str = "", payload: dict[str, Any] | None = None
    ) -> RemoteJob:
        raw_status = str(first_of(body, "status", "state") or "")
        outcome = body.get("outcome")
        videos, thumbnail = outcome_media(outcome)
        # A failed job's reason is a top-level ``error``; some models put it in the outcome.
        error = message_from(body.get("error")) or (
            message_from({key: outcome.get(key) for key in ("error", "error_message")})
            if isinstance(outcome, dict)
            else ""
        )
        stored_payload = body.get("payload")
        return RemoteJob(
            request_id=str(first_of(body, "request_id", "id", "requestId") or request_id),
            state=normalize_status(raw_status),
            raw_status=raw_status,
            model=str(first_of(body, "model", "model_id") or model_id),
            video_urls=videos,
            thumbnail_url=thumbnail,
            error=error or None,
            payload=stored_payload if isinstance(stored_payload, dict) else payload,
            created_at=parse_time(body.get("created_at")),
            updated_at=parse_time(body.get("updated_at")),
            raw=body,
        )

    def parse_upload_target(self, body: dict[str, Any]) -> tuple[str, str]:
        upload_url, public_url = body.get("upload_url"), body.get("public_url")
        if not isinstance(upload_url, str) or not isinstance(public_url, str):
            raise UpstreamUnavailable(
                f"GMI's upload-url answer lacks upload_url or public_url (keys: {describe_keys(body)})",
                code=ErrorCode.BAD_RESPONSE,
            )
        return upload_url, public_url
