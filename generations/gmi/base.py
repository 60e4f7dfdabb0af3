"""The GMI backend interface: a base that fixes every call's sequence, and the small hooks each API generation fills.

Each public method runs the same steps: build the request (``endpoint_for``,
``auth_headers``, a body hook) → send it through the one ``HTTPClient`` → parse the
answer (``parse_*`` hooks) → normalize it (``RemoteState``, ``ErrorCode``). What both
API generations share (the HTTP client with its pool and key redaction, what a cancel of
an ended job looks like, the upload policy, the answer when listing is impossible)
lives here once, so a provider is only its URLs, headers and readers.
"""
from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .. import media
from ..net.errors import DownloadFailed, DownloadRefused
from ..net.send import send
from .errors import ErrorCode, InvalidRequest, UpstreamRejected, UpstreamUnavailable
from .http import HTTPClient
from .objects import ModelInfo, RemoteJob, RemoteState
from .readers import as_object, describe_keys, failure_code, list_in, model_id_of

__all__ = ["Endpoint", "GMIBackend", "ModelInfo", "Op", "RemoteJob", "RemoteState"]


class Op(str, enum.Enum):
    """The calls a backend may be asked to make; ``endpoint_for`` says where each goes."""

    LIST_MODELS = "list_models"
    GET_MODEL = "get_model"
    CREATE = "create"
    GET = "get"
    #: For APIs that answer a job's status and its result at separate URLs.
    RESULT = "result"
    LIST = "list"
    CANCEL = "cancel"
    UPLOAD_TARGET = "upload_target"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where one call goes: method, absolute URL and query parameters."""

    method: str
    url: str
    params: dict[str, str] | None = None


#: A cancel answered with one of these means the job had already ended (or vanished):
#: both API generations say so with a refusal, and a best-effort cancel must not fail on it.
ENDED_JOB_STATUSES = frozenset({400, 404, 409, 410, 422})
_TRANSIENT_UPLOAD_STATUSES = frozenset({408, 425, 429})


class GMIBackend(abc.ABC):
    """What the portal needs from GMI. One subclass per API generation.

    Every public method either returns normalized objects or raises a subclass of
    ``generations.gmi.errors.GMIError`` carrying GMI's ``reason`` and a normalized
    ``code``: ``UpstreamUnavailable`` (retry later) or ``UpstreamRejected`` (final).
    A backend is shared by every upstream thread of the process, so it keeps no state
    per call: everything a call needs travels through arguments and return values.
    """

    #: Short name: what ``GENERATIONS["API"]`` says for the built-in API generations, and what the
    #: catalogue files a backend's models under.
    name: ClassVar[str] = ""
    #: How messages name this API.
    title: ClassVar[str] = "GMI"
    #: The production base URL, used when none is configured.
    default_base_url: ClassVar[str] = ""
    #: Constructor options beyond the shared ones; ``generations.client`` passes only these.
    provider_options: ClassVar[frozenset[str]] = frozenset()
    #: Whether ``list_requests`` is authoritative. Without it a submission whose
    #: answer was lost can never be proven absent, so it is never sent again.
    can_list_requests: ClassVar[bool] = True
    #: Whether ``upload_file`` exists (reference files go through GMI's upload API).
    can_upload_files: ClassVar[bool] = True
    #: Whether ``GENERATIONS["API_KEY"]`` must be set (a backend that sends nothing needs none).
    needs_api_key: ClassVar[bool] = True
    #: Keys a wrapped list answer may keep its entries under, in the order tried.
    model_list_keys: ClassVar[tuple[str, ...]] = ("model_ids", "data", "models")
    job_list_keys: ClassVar[tuple[str, ...]] = ("requests", "data", "items")

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        org_id: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        pool_size: int = 10,
        upload_allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.api_key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.org_id = org_id or None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        #: Connections kept alive: one per thread that may call at once.
        self.pool_size = pool_size
        #: Hosts (allow-list syntax of ``generations.net.policy``) that GMI's pre-signed upload
        #: URLs may point at, besides the base URL's own host.
        self.upload_allowed_hosts = tuple(upload_allowed_hosts)
        self.http = HTTPClient(
            connect_timeout=connect_timeout, read_timeout=read_timeout, secrets=[api_key], pool_size=pool_size
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    # --- the hooks a provider fills ----------------------------------------------------

    @abc.abstractmethod
    def endpoint_for(self, op: Op, *, model_id: str = "", request_id: str = "") -> Endpoint:
        """Where ``op`` goes. Raise ``NotImplementedError`` for calls this API does not have."""

    @abc.abstractmethod
    def auth_headers(self, op: Op) -> dict[str, str]:
        """The authentication headers for ``op`` (they differ per host in some APIs)."""

    @abc.abstractmethod
    def submission_body(self, model_id: str, payload: dict[str, Any]) -> Any:
        """The JSON body that submits ``payload`` to ``model_id``."""

    @abc.abstractmethod
    def parse_model(self, body: Any, *, model_id: str) -> ModelInfo:
        """A ``ModelInfo`` from the answer to ``Op.GET_MODEL``; ``UpstreamNotFound`` if it lacks the model."""

    @abc.abstractmethod
    def parse_job(
        self, body: dict[str, Any], *, model_id: str = "", request_id: str = "", payload: dict[str, Any] | None = None
    ) -> RemoteJob:
        """A ``RemoteJob`` from one job object (a submission, status or list entry).

        ``request_id`` and ``payload`` are what the caller knows, for answers that omit them.
        Leave ``error_code`` unset unless the API says more than its text: the base
        classifies failures.
        """

    def parse_models(self, body: Any) -> list[str]:
        """Model ids from the answer to ``Op.LIST_MODELS``, in GMI's order."""
        return [model_id for model_id in map(model_id_of, list_in(body, *self.model_list_keys)) if model_id]

    def complete_job(self, job: RemoteJob) -> RemoteJob:
        """Finish reading a polled job; for APIs whose status answer does not carry the result."""
        return job

    def open_outcome(self, url: str) -> bytes | None:
        """The bytes behind an outcome URL when this backend holds them itself, else None (download it).

        Mirroring asks this before any download; only backends that keep outcomes in the
        process (``gmi.testing.InMemoryBackend``) answer.
        """
        return None

    def upload_target_body(self, file_type: str) -> Any:
        """The JSON body asking for a pre-signed upload URL for ``file_type``."""
        raise NotImplementedError(f"{type(self).__name__} declares uploads but no upload_target_body")

    def parse_upload_target(self, body: dict[str, Any]) -> tuple[str, str]:
        """(pre-signed URL to PUT to, public URL for payloads) from the answer to ``Op.UPLOAD_TARGET``."""
        raise NotImplementedError(f"{type(self).__name__} declares uploads but no parse_upload_target")

    # --- the fixed sequence ------------------------------------------------------------

    def call(
        self,
        op: Op,
        *,
        model_id: str = "",
        request_id: str = "",
        json_body: Any = None,
        expect_json: bool = True,
    ) -> Any:
        """Build and send one request for ``op``; the decoded (redacted) body, or a ``GMIError``."""
        endpoint = self.endpoint_for(op, model_id=model_id, request_id=request_id)
        headers = {"Accept": "application/json", **self.auth_headers(op)}
        return self.http.request(
            endpoint.method,
            endpoint.url,
            headers=headers,
            json_body=json_body,
            params=endpoint.params,
            expect_json=expect_json,
        )

    def list_models(self) -> list[str]:
        """Model ids available to this key, in GMI's order."""
        return self.parse_models(self.call(Op.LIST_MODELS))

    def get_model(self, model_id: str) -> ModelInfo:
        """One model's detail, including its raw parameter list."""
        return self.parse_model(self.call(Op.GET_MODEL, model_id=model_id), model_id=model_id)

    def create_request(self, model_id: str, payload: dict[str, Any]) -> RemoteJob:
        """Submit a job. Sends exactly one POST and never retries it.

        Raises ``UpstreamUnavailable`` with ``maybe_sent=False`` only when the
        request provably never left (connection refused, DNS); after a timeout, a
        reset or a 5xx, ``maybe_sent`` is True and the caller must reconcile with
        ``list_requests`` rather than send again.
        """
        body = self.call(Op.CREATE, model_id=model_id, json_body=self.submission_body(model_id, payload))
        job = self.parse_job(as_object(body, "submission"), model_id=model_id, payload=payload)
        if not job.request_id:
            # Something was accepted, but we cannot tell what: reconcile, never resend.
            raise UpstreamUnavailable(
                f"GMI answered the submission without a request id (keys: {describe_keys(body)})",
                code=ErrorCode.BAD_RESPONSE,
            )
        if not job.raw_status:
            job = dataclasses.replace(job, state=RemoteState.QUEUED)  # accepted, nothing more said
        return self._normalized(job)

    def get_request(self, request_id: str, *, model_id: str = "") -> RemoteJob:
        """The current state of one job (``model_id`` helps APIs that need it)."""
        body = self.call(Op.GET, model_id=model_id, request_id=request_id)
        job = self.parse_job(as_object(body, "request"), model_id=model_id, request_id=request_id)
        return self._normalized(self.complete_job(job))

    def list_requests(self, model_id: str) -> list[RemoteJob]:
        """Recent jobs of this account for a model (used to reconcile lost submissions).

        Empty, without sending anything, where the API cannot list (``can_list_requests``).
        """
        if not self.can_list_requests:
            return []
        body = self.call(Op.LIST, model_id=model_id)
        entries = [entry for entry in list_in(body, *self.job_list_keys) if isinstance(entry, dict)]
        jobs = (self.parse_job(entry, model_id=model_id) for entry in entries)
        return [self._normalized(job) for job in jobs if job.request_id]

    def cancel_request(self, request_id: str, *, model_id: str = "") -> None:
        """Best-effort cancel. Does not raise for a job that already ended or is unknown."""
        try:
            self.call(Op.CANCEL, model_id=model_id, request_id=request_id, expect_json=False)
        except UpstreamRejected as exc:
            if exc.status_code not in ENDED_JOB_STATUSES:
                raise

    def upload_file(self, data: bytes, *, file_type: str) -> str:
        """Upload a reference file; return the public URL to put into payloads.

        ``file_type`` is one of ``media.CONTENT_TYPES`` (already verified by content
        by the caller). Refusals here send nothing.
        """
        if not self.can_upload_files:
            raise UpstreamRejected(
                f"{self.title} has no file upload; pass a public image URL, or use the request-queue API",
                code=ErrorCode.UNSUPPORTED,
            )
        file_type = file_type.lower()
        content_type = media.CONTENT_TYPES.get(file_type)
        if content_type is None:
            raise InvalidRequest(f"GMI accepts uploads of {', '.join(media.CONTENT_TYPES)} only, not {file_type!r}")
        body = self.call(Op.UPLOAD_TARGET, json_body=self.upload_target_body(file_type))
        upload_url, public_url = self.parse_upload_target(as_object(body, "upload URL"))
        self._put_upload(upload_url, data, content_type)
        return public_url

    # --- shared steps ------------------------------------------------------------------

    def _normalized(self, job: RemoteJob) -> RemoteJob:
        if job.state is RemoteState.FAILED and job.error_code is None:
            return dataclasses.replace(job, error_code=failure_code(job.error or ""))
        return job

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
