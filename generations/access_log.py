"""One log line per request, with its status and duration (logger ``generations.requests``).

The line names the matched route (``s/<str:token>/``), never the path as sent: paths and
queries may carry share tokens or signed parameters.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("generations.requests")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_of(request: HttpRequest) -> str:
    """The matched route with its parameters named, not filled in (``/api/v1/generations/<pk>/``)."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "(no route)"
    return "/" + _GROUP.sub(r"<\1>", match.route).lstrip("^").rstrip("$")


class AccessLogMiddleware:
    """Put it right after ``RequestContextMiddleware``, so the line carries the request id and user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        logger.info("%s %s %s", request.method, route_of(request), response.status_code,
                    extra={"duration_ms": (time.perf_counter() - started) * 1000, "status": response.status_code})
        return response
