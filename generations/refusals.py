"""What a refusal says: one map from the app's errors to words, a status and a code, read by pages and the API.

The API answers ``{"detail": words, "code": code, ...}`` with the status; a page shows the words
(``page_words``), which for a quota add when the limit resets, in the member's time zone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils import timezone
from django.utils.html import format_html

from . import metrics
from .exceptions import GenerationError, InvalidInput, PayloadInvalid, QuotaExceeded
from .gmi.errors import GMIConfigurationError, GMIError
from .media import MediaInvalid
from .net.errors import DownloadError
from .templatetags.generations_tags import when_tag

logger = logging.getLogger("generations.api")

#: Families under the root that describe another host's answer, not the request: their
#: ``status_code`` is that host's. A service turns them into a refusal of its own before an edge
#: sees them; one that slips through is a fault of the site (a 500), not a word to the member.
FOREIGN = (GMIError, DownloadError, MediaInvalid)


@dataclass(frozen=True)
class Refusal:
    """An error as an answer: ``body`` holds what the API adds beside ``detail`` and ``code``."""

    status: int
    code: str
    detail: str
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.body}


def _app_error(exc: GenerationError) -> Refusal:
    body: dict[str, Any] = {}
    retry_after = None
    if isinstance(exc, QuotaExceeded):
        body.update(limit=exc.limit, scope=exc.scope, resets_at=exc.resets_at.isoformat() if exc.resets_at else None)
        if exc.resets_at is not None:
            retry_after = max(1, int((exc.resets_at - timezone.now()).total_seconds()))
    if isinstance(exc, PayloadInvalid):
        body["errors"] = {"payload": exc.errors}
        body["payload"] = exc.errors
    if isinstance(exc, InvalidInput):
        body["errors"] = exc.errors
        for name, problems in exc.errors.items():
            body.setdefault(name, problems)
    # The app's own errors all carry a status; one without is the site's fault, not the request's.
    return Refusal(exc.status_code or 500, exc.code, exc.message, body, retry_after)


def refusal(exc: BaseException) -> Refusal | None:
    """The answer to ``exc``, or None for an error this map does not word (the framework's own answer stands)."""
    if isinstance(exc, GenerationError) and not isinstance(exc, FOREIGN):
        return _app_error(exc)
    if isinstance(exc, GMIConfigurationError):
        logger.error("GMI is not configured: %s", exc)
        return Refusal(503, "not_configured", "The site is not connected to GMI yet.")
    if isinstance(exc, RequestDataTooBig):
        return Refusal(413, "request_too_large", "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, malformed multipart ...
        return Refusal(400, "bad_request", "The request could not be read.")
    return None


def quota_words(exc: QuotaExceeded) -> str:
    """A quota refusal on a page: whose limit, in the label members know, and when it resets."""
    label = metrics.label(exc.limit).lower()
    who = "your team's" if exc.scope == "team" else "your"
    text = f"This job would go over {who} limit ({label})."
    if exc.resets_at is not None:
        # The pages' one moment format, rewritten into the member's time zone by time.js.
        return format_html("{} The limit resets on {}.", text, when_tag(exc.resets_at))
    return text


def page_words(exc: GenerationError) -> str:
    """What a page says of a refusal: the API's words, but a quota with its reset moment."""
    return quota_words(exc) if isinstance(exc, QuotaExceeded) else exc.message
