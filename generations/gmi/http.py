"""HTTP for GMI backends: one keep-alive session, and every HTTP outcome mapped to an ``errors`` class and code.

This is the only module that touches ``requests``. It never puts the API key into an
exception, a log line, a repr or a decoded answer: messages, reasons, bodies and every
string of a decoded JSON answer (keys included) are scrubbed of the secrets it is given
(see ``redaction``: re-cased and partial copies too), so nothing built from an answer
above ``gmi/`` can store, log or show the key. Request headers are never kept.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3.exceptions

from .errors import (
    AuthenticationFailed,
    ContentPolicyRefused,
    ErrorCode,
    GMIConfigurationError,
    GMIError,
    InvalidRequest,
    NotFound,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from .readers import mentions_content_policy, message_from
from .redaction import Redactor

logger = logging.getLogger("generations.gmi")

USER_AGENT = "gmi-video-portal (+generations)"
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
                message,
                status_code=response.status_code,
                body=self.scrub(response.text[:_SNIPPET]),
                code=ErrorCode.BAD_RESPONSE,
            ) from None
        return self._redactor.data(decoded, source=response.text)

    def scrub(self, text: str) -> str:
        return self._redactor.text(text)

    def _error_for(self, method: str, url: str, response: requests.Response) -> GMIError:
        status = response.status_code
        body = self.scrub(response.text)
        reason = self.scrub(reason_text(response))
        detail = reason or self.scrub(_json_snippet(response) or response.reason or "no detail")
        message = self.scrub(f"GMI answered HTTP {status} to {method} {_without_query(url)}: {detail}")
        logger.info(message)
        kwargs: dict[str, Any] = {"status_code": status, "body": body, "reason": reason}
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs)
        if status in (400, 422):
            kind = ContentPolicyRefused if mentions_content_policy(detail) else InvalidRequest
            return kind(message, **kwargs)
        if status in (401, 403):
            return AuthenticationFailed(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status == 408 or status >= 500:
            return UpstreamUnavailable(message, maybe_sent=True, **kwargs)
        return UpstreamRejected(message, **kwargs)


def reason_text(response: requests.Response) -> str:
    """GMI's human words in an error answer: ``error``, ``message`` or ``detail``, or the text of a non-JSON page.

    Empty when a JSON body holds none of those: a dump of unknown keys is not a reason.
    """
    try:
        data = response.json()
    except ValueError:
        text = re.sub(r"<[^>]+>", " ", response.text)  # gateways answer HTML pages
        return " ".join(text.split())[:_SNIPPET]
    return message_from(data)


def _json_snippet(response: requests.Response) -> str:
    # For the log line only, when GMI's JSON said nothing we recognise.
    try:
        return json.dumps(response.json())[:_SNIPPET]
    except ValueError:
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
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
