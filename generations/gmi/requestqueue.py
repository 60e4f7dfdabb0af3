"""The backend for GMI's current request-queue API (``GMI_API=requestqueue``)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote, urlsplit

from ..downloads import DownloadFailed, DownloadRefused, send
from .base import GMIBackend, ModelInfo, RemoteJob, RemoteState
from .errors import (
    InvalidRequest,
    UpstreamRejected,
    UpstreamUnavailable,
)
from .http import (
    HTTPClient,
    as_object,
    describe_keys,
    first_of,
    list_in,
    message_from,
    normalize_status,
    outcome_media,
    parse_time,
)

DEFAULT_BASE_URL = "https://console.gmicloud.ai/api/v1/ie/requestqueue/apikey"

UPLOAD_CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}

#: A cancel answered with one of these means the job had already ended (or vanished).
_ENDED_JOB_STATUSES = frozenset({400, 404, 409, 410, 422})
_TRANSIENT_UPLOAD_STATUSES = frozenset({408, 425, 429})


class RequestQueueBackend(GMIBackend):
    """``{base}/models``, ``{base}/requests`` and ``{base}/upload-url`` with a Bearer key."""

    name = "requestqueue"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = (self.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.http = HTTPClient(
            connect_timeout=self.connect_timeout, read_timeout=self.read_timeout, secrets=[self.api_key],
            pool_size=self.pool_size,
        )

    def __repr__(self) -> str:
        return f"<RequestQueueBackend {self.base_url}>"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if self.org_id:
            headers["X-Organization-ID"] = self.org_id
        return self.http.request(method, f"{self.base_url}/{path}", headers=headers, **kwargs)

    def list_models(self) -> list[str]:
        body = self._call("GET", "models")
        entries = list_in(body, "model_ids", "models", "data")
        ids = [
            entry if isinstance(entry, str) else first_of(entry, "id", "model", "model_id", "name") for entry in entries
        ]
        return [model_id for model_id in ids if model_id]

    def get_model(self, model_id: str) -> ModelInfo:
        body = as_object(self._call("GET", f"models/{quote(model_id, safe='')}"), "model detail")
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

    def create_request(self, model_id: str, payload: dict[str, Any]) -> RemoteJob:
        body = as_object(
            self._call("POST", "requests", json_body={"model": model_id, "payload": payload}), "submission"
        )
        job = job_from(body, model_id=model_id, payload=payload)
        if not job.request_id:
            # Something was accepted, but we cannot tell what: reconcile, never resend.
            raise UpstreamUnavailable(f"GMI answered the submission without a request id (keys: {describe_keys(body)})")
        if not job.raw_status:
            return dataclasses.replace(job, state=RemoteState.QUEUED)  # accepted, nothing more said
        return job

    def get_request(self, request_id: str, *, model_id: str = "") -> RemoteJob:
        body = as_object(self._call("GET", f"requests/{quote(request_id, safe='')}"), "request")
        return job_from(body, model_id=model_id, request_id=request_id)

    def list_requests(self, model_id: str) -> list[RemoteJob]:
        body = self._call("GET", "requests", params={"model_id": model_id})
        jobs = [
            job_from(entry, model_id=model_id)
            for entry in list_in(body, "requests", "data", "items")
            if isinstance(entry, dict)
        ]
        return [job for job in jobs if job.request_id]

    def cancel_request(self, request_id: str, *, model_id: str = "") -> None:
        try:
            self._call("DELETE", f"requests/{quote(request_id, safe='')}", expect_json=False)
        except UpstreamRejected as exc:
            if exc.status_code not in _ENDED_JOB_STATUSES:
                raise

    def upload_file(self, data: bytes, *, file_type: str) -> str:
        file_type = file_type.lower()
        content_type = UPLOAD_CONTENT_TYPES.get(file_type)
        if content_type is None:
            raise InvalidRequest(f"GMI accepts uploads of {', '.join(UPLOAD_CONTENT_TYPES)} only, not {file_type!r}")
        body = as_object(self._call("POST", "upload-url", json_body={"file_type": file_type}), "upload URL")
        upload_url, public_url = body.get("upload_url"), body.get("public_url")
        if not isinstance(upload_url, str) or not isinstance(public_url, str):
            raise UpstreamUnavailable(
                f"GMI's upload-url answer lacks upload_url or public_url (keys: {describe_keys(body)})"
            )
        self._put_upload(upload_url, data, content_type)
        return public_url

    def _put_upload(self, upload_url: str, data: bytes, content_type: str) -> None:
        # GMI chooses this URL, so it gets the mirroring policy: GMI's own host or an
        # allowed one, public addresses unless the exact host is listed, the connection
        # pinned to the checked address, no redirect followed. The pre-signed URL is the
        # credential: GMI's key must not travel to the storage host.
        allowed = (urlsplit(self.base_url).netloc.rpartition("@")[2], *self.upload_allowed_hosts)
        try:
            status, body = send(
                "PUT",
                upload_url,
                allowed_hosts=allowed,
                body=data,
                headers={"Content-Type": content_type},
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
        except DownloadRefused as exc:
            raise UpstreamRejected(self.http.scrub(f"GMI's upload URL was refused: {exc.message}")) from None
        except DownloadFailed as exc:
            raise UpstreamUnavailable(self.http.scrub(f"GMI's storage is unreachable: {exc.message}")) from None
        if 200 <= status < 300:
            return
        detail = self.http.scrub(f"GMI's storage refused the upload (HTTP {status})")
        text = self.http.scrub(body.decode("utf-8", "replace"))
        if status >= 500 or status in _TRANSIENT_UPLOAD_STATUSES:
            raise UpstreamUnavailable(detail, status_code=status, body=text)
        if 300 <= status < 400:
            detail += ": a redirect, not followed"
        raise UpstreamRejected(detail, status_code=status, body=text)


def job_from(
    data: dict[str, Any],
    *,
    model_id: str = "",
    payload: dict[str, Any] | None = None,
    request_id: str = "",
) -> RemoteJob:
    """A ``RemoteJob`` from one request object of the request-queue API."""
    raw_status = str(first_of(data, "status", "state") or "")
    outcome = data.get("outcome")
    videos, thumbnail = outcome_media(outcome)
    error = message_from(data.get("error")) or (
        message_from({key: outcome.get(key) for key in ("error", "error_message")}) if isinstance(outcome, dict) else ""
    )
    stored_payload = data.get("payload")
    return RemoteJob(
        request_id=str(first_of(data, "request_id", "id", "requestId") or request_id),
        state=normalize_status(raw_status),
        raw_status=raw_status,
        model=str(first_of(data, "model", "model_id") or model_id),
        video_urls=videos,
        thumbnail_url=thumbnail,
        error=error or None,
        payload=stored_payload if isinstance(stored_payload, dict) else payload,
        created_at=parse_time(data.get("created_at")),
        updated_at=parse_time(data.get("updated_at")),
        raw=data,
    )
