"""What every API view shares: its settings (authentication, throttles, renderers, parsers, errors),
pagination, the error responses the schema names, and the schema view."""
from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from ..inputs import require_clean_text
from ..models import Generation
from ..selectors import generations as generation_reads
from . import serializers as s
from .authentication import BearerTokenAuthentication
from .errors import api_exception_handler
from .parsers import SafeJSONParser
from .throttles import THROTTLE_CLASSES

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input (see `errors`)."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found (or not yours)."),
}
WRITE_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. account awaiting approval)."),
    409: OpenApiResponse(s.ErrorSerializer, description="The object's state does not allow this."),
    413: OpenApiResponse(s.ErrorSerializer, description="Request body too large."),
    422: OpenApiResponse(s.ErrorSerializer, description="Idempotency-Key reused with another body."),
    429: OpenApiResponse(s.ErrorSerializer, description="Quota exceeded (`limit`, `resets_at`)."),
}


class AsciiJSONRenderer(JSONRenderer):
    # \u-escapes any character, so even text that slipped past the parser renders.
    ensure_ascii = True


class ApiView(APIView):
    """Settings of the app's API, independent of the host site's REST_FRAMEWORK."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = THROTTLE_CLASSES
    # The throttle scope of each HTTP method ("*": any other); unnamed methods count as "api".
    throttle_scopes: dict[str, str] = {}
    renderer_classes = [AsciiJSONRenderer]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    def get_exception_handler(self):
        return api_exception_handler

    def check_permissions(self, request):
        # Throttles first: callers refused by a permission (anonymous ones: 401) are counted too.
        super().check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        pass  # already done in check_permissions, before the permissions

    def throttled(self, request, wait):
        seconds = max(1, int(wait or 1))
        raise exceptions.Throttled(wait=seconds, detail=f"Too many calls: try again in {seconds} seconds.")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Every id, slug, username and query parameter is looked up somewhere: refuse what the
        # database cannot take (a NUL byte) with one clear 400 instead of a database error.
        require_clean_text(**{name: value for name, value in kwargs.items() if isinstance(value, str)})
        require_clean_text(**{name: value for name, value in request.query_params.items()})

    def valid_input(self, serializer: type[Serializer]) -> Any:
        """The request body through ``serializer``: its validated data, or a 400 naming each problem."""
        data = serializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def visible_generation(self, pk, *, staff_sees_all: bool = True) -> Generation:
        generation = generation_reads.get_visible_generation(self.request.user, pk, staff_sees_all=staff_sees_all)
        if generation is None:
            raise Http404
        return generation


class SchemaView(SpectacularAPIView):
    """The OpenAPI description, throttled and answering errors like the rest of the API (it is open to anyone)."""

    throttle_classes = THROTTLE_CLASSES

    def get_exception_handler(self):
        return api_exception_handler

    def throttled(self, request, wait):
        ApiView.throttled(self, request, wait)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors are JSON like everywhere in the API, not rendered as an OpenAPI document.
        self.request.accepted_renderer = AsciiJSONRenderer()
        self.request.accepted_media_type = AsciiJSONRenderer.media_type
        return response


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
