"""Middleware of the app: binds the request context (request id, client address, user) for each request."""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import request_context


class RequestContextMiddleware:
    """Binds ``request_context`` around each request and echoes ``X-Request-ID`` on the response.

    Put it first in ``MIDDLEWARE`` so everything after it logs with the request id. The user id
    is filled in before the view runs (session users) and by the API's token authentication.
    The app works without it: its readers then see an empty context.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_context.bind(request)
        request.request_id = request_context.current().request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response.headers[request_context.REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        user = getattr(request, "user", None)  # set by AuthenticationMiddleware, when installed
        if user is not None and user.is_authenticated:
            request_context.set_user(user.pk)
        return None
