"""Who and where the current request comes from (request id, client address, user id), for logs and audit rows.

The public API is small on purpose; structured logging and the audit trail read it:

- ``current() -> RequestContext``: the context of the request being served in this thread or
  task, or ``EMPTY`` (request id ``""``, address and user ``None``) outside any request.
- ``client_address(request) -> str | None``: the one rule for "which address is the client",
  honouring ``GENERATIONS["TRUSTED_PROXY_COUNT"]``; throttling and lock-outs use it too.
- ``request_id_for(request) -> str``: the caller's sane ``X-Request-ID``, or a new one.
- ``bind(request)`` / ``reset(token)``: set and restore the context (the middleware does both);
  ``set_user(user_id)``: record who the request turned out to be (API token authentication
  happens inside the view, after the middleware has bound the context).

Values live in a ``contextvars.ContextVar``, so threads and asyncio tasks each see their own.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace

from django.http import HttpRequest

from .conf import app_settings

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and made of characters safe in a header and a log line.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None
    user_id: int | None


EMPTY = RequestContext(request_id="", client_ip=None, user_id=None)
_current: ContextVar[RequestContext] = ContextVar("generations_request_context", default=EMPTY)


def current() -> RequestContext:
    """The context of the request being served, or ``EMPTY`` outside a request."""
    return _current.get()


def bind(request: HttpRequest) -> Token[RequestContext]:
    """Set the context for ``request`` (user unknown yet); pass the returned token to ``reset``."""
    context = RequestContext(request_id=request_id_for(request), client_ip=client_address(request), user_id=None)
    return _current.set(context)


def reset(token: Token[RequestContext]) -> None:
    _current.reset(token)


def set_user(user_id: int | None) -> None:
    """Record the authenticated user of the current request (no effect outside a request)."""
    context = _current.get()
    if context is not EMPTY and context.user_id != user_id:
        _current.set(replace(context, user_id=user_id))


def request_id_for(request: HttpRequest) -> str:
    """The request id the middleware bound for ``request``, else the caller's sane ``X-Request-ID``, else a new one."""
    bound = getattr(request, "request_id", None)
    if bound:
        return str(bound)
    given = request.headers.get(REQUEST_ID_HEADER, "").strip()
    return given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, trusting ``X-Forwarded-For`` only as far as ``TRUSTED_PROXY_COUNT`` says.

    With 0 trusted proxies, ``REMOTE_ADDR`` is the client and ``X-Forwarded-For`` is ignored (any
    client can write it). With N, each of our proxies appended the address it was connected from,
    so the client is the Nth address from the right; addresses further left were written by the
    client and are never believed. A header shorter than N (a proxy that does not append) yields
    its leftmost address; a malformed one falls back to ``REMOTE_ADDR``.
    """
    remote = _ip_or_none(request.META.get("REMOTE_ADDR", ""))
    proxies = _trusted_proxy_count()
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return _ip_or_none(forwarded[-min(proxies, len(forwarded))]) or remote


def _trusted_proxy_count() -> int:
    try:
        return max(0, int(app_settings.TRUSTED_PROXY_COUNT or 0))
    except (TypeError, ValueError):
        return 0


def _ip_or_none(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:5678"
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
