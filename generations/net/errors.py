"""The errors of outbound HTTP, and the URL redaction that keeps their messages safe to show."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ..exceptions import GenerationError

__all__ = ["DownloadError", "DownloadExpired", "DownloadFailed", "DownloadRefused", "DownloadTooLarge", "redact_url"]



def redact_url(url: str) -> str:
    """Return ``url`` without credentials, query string and fragment, for logs."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


class DownloadError(GenerationError):
    """Root of the outbound HTTP errors (downloads, uploads, webhook POSTs).

    The message is safe to show and store: it never contains a query string (where
    signed URLs keep their signature) nor credentials. ``url`` is the URL concerned
    with those parts removed; ``status_code`` is the HTTP status when there was one.
    Raised as such (not as a subclass) for an unexpected, non-transient answer such
    as HTTP 400 or a redirect without a Location.
    """

    code = "download_failed"

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message  # as given, even empty: the root would put its default in
        self.url = redact_url(url) if url else None
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class DownloadRefused(DownloadError):
    """Final: the URL breaks the policy (scheme, host, address, redirect count).

    No connection was made for the refused URL.
    """


class DownloadTooLarge(DownloadError):
    """Final: the body is larger than the byte cap (announced or actually sent)."""


class DownloadExpired(DownloadError):
    """HTTP 401/403/404/410 from the file host: a signed URL has probably expired.

    Fetch the job again for fresh URLs rather than retrying this one.
    """


class DownloadFailed(DownloadError):
    """Transient: network error, timeout, deadline, HTTP 5xx/429, body cut short."""
