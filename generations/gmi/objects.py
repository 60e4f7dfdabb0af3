"""The normalized objects every GMI backend returns, whichever API generation answered."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import ErrorCode


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

    ``error`` is GMI's own reason for a failed job (already redacted) and ``error_code``
    its normalized kind, so callers branch on the
    code and show the text, never parse it. ``raw`` keeps the whole decoded answer for
    debugging and the admin; nothing outside ``generations.gmi`` reads it for behaviour.
    """

    request_id: str
    state: RemoteState
    raw_status: str = ""
    model: str = ""
    video_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    error: str | None = None
    error_code: ErrorCode | None = None
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
    parameters: list[Any] | dict[str, Any] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
