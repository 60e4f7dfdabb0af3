"""Exceptions raised by GMI backends: one root, split into "retry later" and "final"."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class GMIError(Exception):
    """Root of every upstream error.

    ``status_code`` and ``body`` (truncated, never containing request headers) are
    kept for debugging; the message is safe to show and to store, because it never
    contains the API key.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body[:2000]
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class UpstreamUnavailable(GMIError):
    """Transient: 5xx, timeouts, connection errors, malformed answers. Retry later."""

    #: False only when the request provably never left this machine (connect
    #: error, DNS failure): then, and only then, a POST may be sent again.
    maybe_sent: bool = True

    def __init__(self, message: str, *, maybe_sent: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent


class RateLimited(UpstreamUnavailable):
    """429: honour ``retry_after`` (seconds) before asking again."""


class UpstreamRejected(GMIError):
    """Final: GMI refused the request and asking again will not change that."""


class InvalidRequest(UpstreamRejected):
    """400: the payload is invalid for this model."""


class ContentPolicyRefused(InvalidRequest):
    """400 whose text says the prompt or input broke GMI's content policy."""


class AuthenticationFailed(UpstreamRejected):
    """401/403: the key is wrong or lacks access."""


class NotFound(UpstreamRejected):
    """404: unknown model or request, or no access to it."""


class GMIConfigurationError(ImproperlyConfigured):
    """Settings are wrong. Deliberately outside ``GMIError`` so no handler swallows it."""
