"""The client interface every GMI backend implements, and the normalized objects it returns."""
from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RemoteState(str, enum.Enum):
    """GMI's many status words, reduced to what the lifecycle needs."""

    QUEUED = "queued"  # accepted, waiting at GMI
    DISPATCHED = "dispatched"  # handed to a worker at GMI
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a word we do not know: treated as still running

    @property
    def is_terminal(self) -> bool:
        return self in (RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED)


@dataclass(frozen=True)
class RemoteJob:
    """One request at GMI, as far as the portal cares.

    ``raw`` keeps the whole decoded answer for debugging and the admin; nothing
    outside ``generations.gmi`` should read vendor JSON from it for behaviour.
    """

    request_id: str
    state: RemoteState
    raw_status: str = ""
    model: str = ""
    video_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def video_url(self) -> str | None:
        return self.video_urls[0] if self.video_urls else None


@dataclass(frozen=True)
class ModelInfo:
    """A model in GMI's catalogue. ``parameters`` is GMI's raw parameter list."""

    id: str
    brief_description: str = ""
    detailed_description: str = ""
    modalities: dict[str, Any] = field(default_factory=dict)
    parameters: list[Any] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


class GMIBackend(abc.ABC):
    """What the portal needs from GMI. One subclass per API generation.

    Every method either returns normalized objects or raises a subclass of
    ``generations.gmi.errors.GMIError``: ``UpstreamUnavailable`` (retry later) or
    ``UpstreamRejected`` (final). Implementations own one ``requests.Session``
    (keep-alive) with connect/read timeouts and never log or raise the API key.
    """

    #: Short name used in settings (``GENERATIONS["API"]``).
    name: str = ""
    #: Whether ``list_requests`` is authoritative. Without it a submission whose
    #: answer was lost can never be proven absent, so it is never sent again.
    can_list_requests: bool = True
    #: Whether ``upload_file`` exists (reference files go through GMI's upload API).
    can_upload_files: bool = True

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        org_id: str | None = None,
        models_url: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        pool_size: int = 10,
        upload_allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.org_id = org_id or None
        self.models_url = models_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        #: Connections kept alive: one per thread that may call at once.
        self.pool_size = pool_size
        #: Hosts (allow-list syntax of ``generations.downloads``) that GMI's pre-signed upload
        #: URLs may point at, besides the base URL's own host.
        self.upload_allowed_hosts = tuple(upload_allowed_hosts)

    @abc.abstractmethod
    def list_models(self) -> list[str]:
        """Model ids available to this key, in GMI's order."""

    @abc.abstractmethod
    def get_model(self, model_id: str) -> ModelInfo:
        """One model's detail, including its raw parameter list."""

    @abc.abstractmethod
    def create_request(self, model_id: str, payload: dict[str, Any]) -> RemoteJob:
        """Submit a job. Sends exactly one POST and never retries it.

        Raises ``UpstreamUnavailable`` with ``maybe_sent=False`` only when the
        request provably never left (connection refused, DNS); after a timeout, a
        reset or a 5xx, ``maybe_sent`` is True and the caller must reconcile with
        ``list_requests`` rather than send again.
        """

    @abc.abstractmethod
    def get_request(self, request_id: str, *, model_id: str = "") -> RemoteJob:
        """The current state of one job (``model_id`` helps APIs that need it)."""

    @abc.abstractmethod
    def list_requests(self, model_id: str) -> list[RemoteJob]:
        """Recent jobs of this account for a model (used to reconcile lost submissions)."""

    @abc.abstractmethod
    def cancel_request(self, request_id: str, *, model_id: str = "") -> None:
        """Best-effort cancel. Must not raise for a job that already ended."""

    @abc.abstractmethod
    def upload_file(self, data: bytes, *, file_type: str) -> str:
        """Upload a reference file; return the public URL to put into payloads.

        ``file_type`` is one of jpeg, jpg, png, mp4, mp3, wav (already verified by
        content by the caller).
        """
