"""Exceptions raised by GMI backends: one root, split into "retry later" and "final", each with a stable code."""
from __future__ import annotations

import enum
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..exceptions import GenerationError


class ErrorCode(str, enum.Enum):
    """The one vocabulary for what went wrong upstream, whichever API generation said it.

    Errors carry one as ``code`` and failed jobs as ``RemoteJob.error_code``; code above
    ``gmi/`` branches on these, never on GMI's wording, which differs per API and model.
    """

    UNAVAILABLE = "unavailable"  # 5xx, timeouts, connection errors
    BAD_RESPONSE = "bad_response"  # an answer we cannot read (malformed JSON, unexpected shape)
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"  # refused for a reason none of the codes below names
    INVALID_REQUEST = "invalid_request"
    CONTENT_POLICY = "content_policy"
    AUTH_FAILED = "auth_failed"
    NOT_FOUND = "not_found"
    UNSUPPORTED = "unsupported"  # this API generation cannot do it at all
    GENERATION_FAILED = "generation_failed"  # a job that ran and failed, for no reason we classify

    def __str__(self) -> str:
        return self.value


class GMIError(GenerationError):
    """Root of every upstream error (below the app's root, ``GenerationError``).

    ``reason`` is GMI's own human text from the answer (empty when it said nothing),
    ``code`` its normalized kind. ``status_code`` and ``body`` (truncated, never
    containing request headers) are kept for debugging. Message, reason and body never
    contain the API key: ``http`` redacts them before any error is built.
    """

    code: ErrorCode = ErrorCode.REJECTED

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        reason: str = "",
        retry_after: float | None = None,
        code: ErrorCode | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message  # as given, even empty: the root would put its default in
        self.status_code = status_code
        self.body = body[:2000]
        self.reason = reason[:1000]
        self.retry_after = retry_after
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class UpstreamUnavailable(GMIError):
    """Transient: 5xx, timeouts, connection errors, malformed answers. Retry later."""

    code = ErrorCode.UNAVAILABLE
    #: False only when the request provably never left this machine (connect
    #: error, DNS failure): then, and only then, a POST may be sent again.
    maybe_sent: bool = True

    def __init__(self, message: str, *, maybe_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent


class RateLimited(UpstreamUnavailable):
    """429: honour ``retry_after`` (seconds) before asking again."""

    code = ErrorCode.RATE_LIMITED


class UpstreamRejected(GMIError):
    """Final: GMI refused the request and asking again will not change that."""

    code = ErrorCode.REJECTED


class InvalidRequest(UpstreamRejected):
    """400: the payload is invalid for this model."""

    code = ErrorCode.INVALID_REQUEST


class ContentPolicyRefused(InvalidRequest):
    """400 whose text says the prompt or input broke GMI's content policy."""

    code = ErrorCode.CONTENT_POLICY


class AuthenticationFailed(UpstreamRejected):
    """401/403: the key is wrong or lacks access."""

    code = ErrorCode.AUTH_FAILED


class UpstreamNotFound(UpstreamRejected):
    """404: unknown model or request, or no access to it."""

    code = ErrorCode.NOT_FOUND


class GMIConfigurationError(ImproperlyConfigured):
    """Settings are wrong. Deliberately outside ``GenerationError`` (and so ``GMIError``) so no handler swallows it."""
