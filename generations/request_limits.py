"""Request body caps, enforced before a body is read: small for every view, larger for the few that take files.

Django reads at most ``Content-Length`` bytes of a body (a chunked body without one is
read as empty), so refusing an announced length over the cap before anything reads
``request.POST`` bounds what any request can make the site hold in memory or spool to
disk. The check runs in ``process_view``, before the CSRF middleware reads the form of a
POST; list this middleware before ``django.middleware.csrf.CsrfViewMiddleware``.

A view that takes files says so with :func:`body_limit` (or a ``body_limit`` attribute
on its class); it may also name the upload handlers that stream its files, which are
installed here, before anything can parse the body.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.views import APIView

from .conf import app_settings

__all__ = ["BodyLimit", "RequestBodyLimitMiddleware", "body_limit"]

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


@dataclass(frozen=True)
class BodyLimit:
    """The largest body a view accepts (bytes, read when a request comes) and how it reads files."""

    max_bytes: Callable[[], int]
    #: The API ``code`` of the 413 answer.
    code: str = "request_too_large"
    #: Upload handlers for the request (Django's ``request.upload_handlers``), or None for Django's.
    upload_handlers: Callable[[HttpRequest], list[Any]] | None = None


def default_limit() -> int:
    return int(app_settings.MAX_REQUEST_BYTES)


DEFAULT = BodyLimit(max_bytes=default_limit)


def body_limit(limit: BodyLimit) -> Callable[[ViewT], ViewT]:
    """Decorator for a function view that accepts bodies up to ``limit`` rather than the site's cap."""

    def decorate(view: ViewT) -> ViewT:
        view.body_limit = limit  # type: ignore[attr-defined]
        return view

    return decorate


def limit_for(view_func: Any) -> BodyLimit:
    for holder in (view_func, getattr(view_func, "cls", None), getattr(view_func, "view_class", None)):
        limit = getattr(holder, "body_limit", None)
        if isinstance(limit, BodyLimit):
            return limit
    return DEFAULT


class RequestBodyLimitMiddleware:
    """Answers 413 to a body announced over its view's cap, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        limit = limit_for(view_func)
        cap = int(limit.max_bytes())
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return _answer(view_func, 400, "bad_request", "The request's Content-Length is not a number.")
        if length > cap:
            return _answer(view_func, 413, limit.code,
                           f"The request is too large: at most {_size(cap)} may be sent here.")
        if limit.upload_handlers is not None:
            request.upload_handlers = limit.upload_handlers(request)
        return None


def _answer(view_func: Any, status: int, code: str, detail: str) -> HttpResponse:
    if _is_api(view_func):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


def _is_api(view_func: Any) -> bool:
    # A DRF view: its errors are JSON, as every other answer of the API.
    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def _size(count: int) -> str:
    mb = count / (1024 * 1024)
    return f"{round(mb, 1):g} MB" if mb >= 1 else f"{count // 1024} KB"


class ASGIBodyLimit:
    """ASGI wrapper: Django's ASGI handler spools a whole body before any middleware runs, so cap it here.

    A body announced over ``max_bytes()`` is answered 413 without reading it; a body that
    grows past it (chunked, or longer than announced) is cut there: the application is
    told the client went away, and the client gets 413. Per-view caps still apply after.
    """

    def __init__(self, app: Any, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = int(self.max_bytes())
        announced = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if announced.isdigit() and int(announced) > cap:
            await _refuse(send, cap)
            return
        received = 0
        over = False
        started = False

        async def capped_receive() -> dict[str, Any]:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = True
            await send(message)

        await self.app(scope, capped_receive, watched_send)
        if over and not started:
            await _refuse(send, cap)


async def _refuse(send: Callable[..., Any], cap: int) -> None:
    body = f"The request is too large: at most {_size(cap)} may be sent here.".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
