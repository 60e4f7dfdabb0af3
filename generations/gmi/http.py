"""HTTP for GMI backends (one keep-alive session, outcomes mapped to ``errors``) and tolerant readers of GMI's JSON.

This is the only module that touches ``requests``. It never puts the API key into an
exception, a log line, a repr or a decoded answer: messages, bodies and every string of
a decoded JSON answer (keys included) are scrubbed of the secrets it is given (see
``redaction``: re-cased and partial copies too), so nothing built from an answer above
``gmi/`` can store, log or show the key. Request headers are never kept. The readers at the end accept the several
spellings GMI's undocumented answers come in, for both API generations.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from datetime import datetime, timezone
from typing import Any, Iterable

import requests
import urllib3.exceptions

from .base import RemoteState
from .redaction import Redactor
from .errors import (
    AuthenticationFailed,
    ContentPolicyRefused,
    GMIConfigurationError,
    GMIError,
    InvalidRequest,
    NotFound,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)

logger = logging.getLogger("generations.gmi")

USER_AGENT = "gmi-video-portal (+generations)"
_POLICY_WORDS = re.compile(r"policy|safety", re.IGNORECASE)
_SNIPPET = 300


class HTTPClient:
    """Sends JSON requests to GMI and returns decoded bodies or raises ``GMIError``s.

    ``secrets`` are scrubbed from every message, body and decoded answer this client produces.
    Callers pass authentication per request, so headers meant for GMI never reach a
    third-party host such as a pre-signed storage URL.
    """

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, secrets: Iterable[str] = (), pool_size: int = 10
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self._redactor = Redactor(secrets)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # One session is shared by every upstream thread of the process: its pool must
        # keep as many connections alive as there are threads, or each call beyond it
        # pays a new TCP (and TLS) handshake.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_size))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"<HTTPClient timeout={self.timeout}>"

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
        expect_json: bool = True,
    ) -> Any:
        """Send one request (never retried) and return the decoded JSON body.

        With ``expect_json=False`` the body is ignored and None returned; an empty
        2xx body also gives None.
        """
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                data=data,
                params=params,
                timeout=self.timeout,
            )
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise GMIConfigurationError(self.scrub(f"GMI URL is invalid: {exc}")) from None
        except requests.exceptions.RequestException as exc:
            maybe_sent = not _never_sent(exc)
            message = self.scrub(f"GMI unreachable ({method} {_without_query(url)}): {_describe(exc)}")
            logger.warning("%s (maybe_sent=%s)", message, maybe_sent)
            raise UpstreamUnavailable(message, maybe_sent=maybe_sent) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            "GMI %s %s -> %s (%.0f ms)", method, self.scrub(_without_query(url)), response.status_code, elapsed_ms
        )
        if response.status_code >= 400:
            raise self._error_for(method, url, response)
        if not expect_json or not response.content.strip():
            return None
        try:
            decoded = response.json()
        except ValueError:
            message = self.scrub(
                f"GMI sent a malformed answer to {method} {_without_query(url)} (HTTP {response.status_code})"
            )
            logger.warning(message)
            raise UpstreamUnavailable(
                message, status_code=response.status_code, body=self.scrub(response.text[:_SNIPPET])
            ) from None
        return self._redactor.data(decoded)

    def scrub(self, text: str) -> str:
        return self._redactor.text(text)

    def _error_for(self, method: str, url: str, response: requests.Response) -> GMIError:
        status = response.status_code
        body = self.scrub(response.text)
        detail = self.scrub(error_text(response) or response.reason or "no detail")
        message = self.scrub(f"GMI answered HTTP {status} to {method} {_without_query(url)}: {detail}")
        logger.info(message)
        kwargs: dict[str, Any] = {"status_code": status, "body": body}
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs)
        if status in (400, 422):
            kind = ContentPolicyRefused if _POLICY_WORDS.search(detail) else InvalidRequest
            return kind(message, **kwargs)
        if status in (401, 403):
            return AuthenticationFailed(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status == 408 or status >= 500:
            return UpstreamUnavailable(message, maybe_sent=True, **kwargs)
        return UpstreamRejected(message, **kwargs)


def error_text(response: requests.Response) -> str:
    """The human part of an error body: ``error``, ``message`` or ``detail``, else a text snippet."""
    try:
        data = response.json()
    except ValueError:
        text = re.sub(r"<[^>]+>", " ", response.text)  # gateways answer HTML pages
        return " ".join(text.split())[:_SNIPPET]
    return message_from(data) or json.dumps(data)[:_SNIPPET]


def message_from(data: Any) -> str:
    """Error text from a decoded body, in the shapes GMI and its gateways use."""
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        # FastAPI-style validation errors: [{"loc": [...], "msg": "..."}]
        return "; ".join(filter(None, (message_from(item) for item in data)))
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "msg", "error_message"):
            value = data.get(key)
            if value:
                return message_from(value)
    return ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from epoch seconds (int, float or numeric string; milliseconds
    are recognised by size) or an ISO-8601 string; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e11:  # too far in the future for seconds: milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True only when the request provably never left: no connection was ever made."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(exc, requests.exceptions.SSLError):
        return False
    reason: Any = exc.args[0] if exc.args else None
    while reason is not None:
        # NameResolutionError is a NewConnectionError: DNS failed before any connection.
        if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return True
        reason = getattr(reason, "reason", None)
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer before the read timeout"
    reason: Any = exc.args[0] if exc.args else exc
    while getattr(reason, "reason", None) is not None:
        reason = reason.reason
    return f"{type(exc).__name__}: {reason}"


def _without_query(url: str) -> str:
    # URLs go into messages without their query: that of a pre-signed URL is a credential too.
    return url.split("?", 1)[0]


# --- tolerant readers ------------------------------------------------------------------

_STATES: dict[str, RemoteState] = {
    **dict.fromkeys(("queued", "pending", "in_queue"), RemoteState.QUEUED),
    "dispatched": RemoteState.DISPATCHED,
    **dict.fromkeys(("processing", "running", "in_progress"), RemoteState.PROCESSING),
    **dict.fromkeys(("success", "succeeded", "completed", "complete", "done"), RemoteState.SUCCEEDED),
    **dict.fromkeys(("failed", "failure", "error"), RemoteState.FAILED),
    **dict.fromkeys(("cancelled", "canceled"), RemoteState.CANCELLED),
}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_VIDEO_KEYS = ("video_url", "video_urls", "video", "videos", "url")
_THUMBNAIL_KEYS = ("thumbnail_image_url", "thumbnail_url", "thumbnail", "cover_image_url")
_MEDIA_LIST_KEYS = ("media_urls", "media", "outputs")


def normalize_status(word: Any) -> RemoteState:
    """GMI's status word (either API generation, any case) as a ``RemoteState``.

    Words we do not know mean "still running" (UNKNOWN), never an error.
    """
    key = str(word or "").strip().lower().replace("-", "_").replace(" ", "_")
    return _STATES.get(key, RemoteState.UNKNOWN)


def outcome_media(outcome: Any) -> tuple[tuple[str, ...], str | None]:
    """Video URLs and a thumbnail URL from an outcome in any of GMI's shapes.

    Flat ``{"video_url", "thumbnail_image_url"}``, ``{"video": {"url"}}``, or the envelope
    ``{"media_urls": [{"id", "url"} | "url", ...]}`` whose entries are told apart by their
    type hints or, failing that, by file extension. Unknown keys are ignored.
    """
    if isinstance(outcome, (str, list)):
        outcome = {"media_urls": outcome if isinstance(outcome, list) else [outcome]}
    if not isinstance(outcome, dict):
        return (), None
    videos: list[str] = []
    images: list[str] = []
    for keys, forced in ((_VIDEO_KEYS, "video"), (_THUMBNAIL_KEYS, "image"), (_MEDIA_LIST_KEYS, "")):
        for key in keys:
            for entry in _as_list(outcome.get(key)):
                url, kind = _url_and_kind(entry)
                if url:
                    (images if (forced or kind) == "image" else videos).append(url)
    return tuple(dict.fromkeys(videos)), (images[0] if images else None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _url_and_kind(entry: Any) -> tuple[str | None, str]:
    """(URL, "video" | "image") of one media entry; the URL is None if there is none."""
    hint = ""
    if isinstance(entry, dict):
        hint = " ".join(str(entry.get(key) or "") for key in ("type", "mime_type", "content_type", "kind")).lower()
        entry = entry.get("url") or entry.get("uri")
    if not isinstance(entry, str) or not entry.strip().lower().startswith(("http://", "https://")):
        return None, ""
    url = entry.strip()
    if "image" in hint or (not hint and url.split("?", 1)[0].lower().endswith(_IMAGE_SUFFIXES)):
        return url, "image"
    return url, "video"


# Shape errors name the keys they saw rather than quoting bodies, which keeps them short
# and free of anything sensitive.


def describe_keys(body: Any) -> str:
    return ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__


def as_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamUnavailable(f"GMI sent an unexpected {what} answer: {describe_keys(body)}, not an object")
    return body


def list_in(body: Any, *keys: str) -> list[Any]:
    """The list in a bare-list answer or under the first of ``keys`` holding one."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in keys:
            if isinstance(body.get(key), list):
                return body[key]
    raise UpstreamUnavailable(f"GMI sent an unexpected list answer (keys: {describe_keys(body)})")


def first_of(data: Any, *keys: str) -> Any:
    if not isinstance(data, dict):
        return None
    return next((data[key] for key in keys if data.get(key) not in (None, "")), None)
