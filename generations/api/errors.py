"""Turns every API error into JSON ``{"detail", "code", ...}``."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..refusals import refusal


def _first_code(codes) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "invalid"


def api_exception_handler(exc, context):
    answer = refusal(exc)
    if answer is not None:
        response = Response(answer.as_json(), status=answer.status)
        if answer.retry_after is not None:
            response["Retry-After"] = str(answer.retry_after)
        return response
    if isinstance(exc, exceptions.NotFound) and str(exc.detail) == "Invalid page.":
        return Response({"detail": "There is no such page: use a page number from 1 to the last.",
                         "code": "invalid_page"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        body = {"detail": "Invalid input: see errors.", "code": _first_code(exc.get_codes()), "errors": errors}
        for key, value in errors.items():
            body.setdefault(key, value)
        response.data = body
        return response
    if isinstance(exc, exceptions.APIException):
        detail = response.data.get("detail", exc.detail) if isinstance(response.data, dict) else exc.detail
        code = detail.code if hasattr(detail, "code") else exc.default_code
        response.data = {"detail": str(detail), "code": code or exc.default_code}
    return response


@csrf_exempt  # any method on a path that does not exist is a 404, not a CSRF failure
def not_found(request, *args, **kwargs):
    """JSON 404 for any path under the API prefix that matches no endpoint."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "No API endpoint here. See the schema at api/v1/schema/.", "code": "not_found"},
                        status=404)
