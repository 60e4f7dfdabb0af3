"""HTTP for GMI backends: one keep-alive session, and every HTTP outcome mapped to an ``errors`` class and code.

This is the only module that touches ``requests``. Every call is bounded three ways, because
GMI's answers are input from another party: redirects are never followed (a 3xx is an upstream
error, so a member's payload and the key never go where GMI's answer points), the answer is
read as a stream and cut at ``MAX_ANSWER_BYTES``, and the whole call (connect, headers, body)
ends at its deadline even when every single read is quick (a server trickling one byte at a
time never trips a per-read timeout). It never puts the API key into an
exception, a log line, a repr or a decoded answer: messages, reasons, bodies and every
string of a decoded JSON answer (keys included) are scrubbed of the secrets it is given
(see ``redaction``: re-cased and partial copies too), so nothing built from an answer
above ``gmi/`` can store, log or show the key. Request headers are never kept.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The mirroring fetcher's deadline: one watchdog thread per process shuts the sockets of
# calls whose time is up, which wakes a read blocked on a trickling server.
from ..net.transport import Deadline
from .errors import (
    AuthenticationFailed,
    ContentPolicyRefused,
    ErrorCode,
    GMIConfigurationError,
    GMIError,
    InvalidRequest,
    RateLimited,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from .readers import mentions_content_policy, message_from
from .redaction import Redactor

logger = logging.getLogger("generations.gmi")

USER_AGENT = "gmi-video-portal (+generations)"
_SNIPPET = 300
#: The largest answer read from GMI. A list of a thousand jobs is well under 2 MB; anything
#: bigger is not an answer we can use, and reading it would only cost the worker memory.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
_CHUNK = 64 * 1024

_calls = threading.local()


class _WatchedConnection:
    """Hands each socket a call uses to the call's deadline, new connections and reused ones alike."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection: its socket was watched by an earlier call
            _watch(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _watch(sock: Any) -> None:
    clock = getattr(_calls, "deadline", None)
    if clock is None or sock is None:
        return
    # A TLS socket cannot be duplicated as such; its descriptor can, and shutting that
    # down ends the connection all the same.
    plain = socket.socket(fileno=os.dup(sock.fileno()))
    try:
        clock.watch(plain)
    finally:
        plain.close()


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class HTTPClient:
    """Sends JSON requests to GMI and returns decoded bodies or raises ``GMIError``s.

    ``secrets`` are scrubbed from every message, body and decoded answer this client produces.
    Callers pass authentication per request, so headers meant for GMI never reach a
    third-party host such as a pre-signed storage URL.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        secrets: Iterable[str] = (),
        pool_size: int = 10,
        deadline: float | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        #: Seconds for a whole call, answer included; by default what one slow connect and one
        #: slow read may take together, so no honest answer is cut that the timeouts let through.
        self.deadline = float(deadline) if deadline is not None else float(connect_timeout) + float(read_timeout)
        self.max_answer_bytes = int(max_answer_bytes)
        self._redactor = Redactor(secrets)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # One session is shared by every upstream thread of the process: its pool must
        # keep as many connections alive as there are threads, or each call beyond it
        # pays a new TCP (and TLS) handshake.
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"<HTTPClient timeout={self.timeout} deadline={self.deadline:g}>"

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
        2xx body also gives None. A redirect, an answer over ``max_answer_bytes`` and a
        call still unfinished at its deadline raise ``UpstreamUnavailable`` (the request
        may have reached GMI: ``maybe_sent`` is True).
        """
        started = time.monotonic()
        where = f"{method} {_without_query(url)}"
        clock = Deadline(self.deadline)
        _calls.deadline = clock
        response: requests.Response | None = None
        try:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    json=json_body,
                    data=data,
                    params=params,
                    timeout=(self.timeout[0], min(self.timeout[1], self.deadline)),
                    allow_redirects=False,
                    stream=True,
                )
                self._read_answer(response, where)
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
            ) as exc:
                raise GMIConfigurationError(self.scrub(f"GMI URL is invalid: {exc}")) from None
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                if response is not None:
                    response.close()
                if clock.expired:
                    message = self.scrub(f"GMI did not answer {where} within the {self.deadline:g} s deadline")
                    logger.warning(message)
                    raise UpstreamUnavailable(message, maybe_sent=True) from None
                maybe_sent = not (isinstance(exc, requests.exceptions.RequestException) and _never_sent(exc))
                message = self.scrub(f"GMI unreachable ({where}): {_describe(exc)}")
                logger.warning("%s (maybe_sent=%s)", message, maybe_sent)
                raise UpstreamUnavailable(message, maybe_sent=maybe_sent) from None
        finally:
            _calls.deadline = None
            clock.close()
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            "GMI %s %s -> %s (%.0f ms)", method, self.scrub(_without_query(url)), response.status_code, elapsed_ms
        )
        if 300 <= response.status_code < 400:
            message = self.scrub(
                f"GMI answered HTTP {response.status_code} to {where}: a redirect, not followed"
            )
            logger.warning(message)
            raise UpstreamUnavailable(message, status_code=response.status_code, code=ErrorCode.BAD_RESPONSE)
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

    def _read_answer(self, response: requests.Response, where: str) -> None:
        """Read the body into ``response`` (so ``.content``, ``.json()`` work), refusing more than the cap."""
        cap = self.max_answer_bytes
        announced = response.headers.get("Content-Length", "")
        if announced.strip().isdigit() and int(announced) > cap:
            response.close()  # never read: the connection goes, not the bytes
            raise self._too_large(response, where)
        body = bytearray()
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > cap:
                response.close()
                raise self._too_large(response, where)
        # What requests would have read itself without stream=True.
        response._content = bytes(body)
        response._content_consumed = True

    def _too_large(self, response: requests.Response, where: str) -> UpstreamUnavailable:
        message = self.scrub(
            f"GMI's answer to {where} (HTTP {response.status_code}) is larger than "
            f"{self.max_answer_bytes // (1024 * 1024)} MB: not read"
        )
        logger.warning(message)
        return UpstreamUnavailable(message, status_code=response.status_code, code=ErrorCode.BAD_RESPONSE)

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
            return UpstreamNotFound(message, **kwargs)
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
