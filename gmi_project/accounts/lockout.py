"""The log-in lock-out (django-axes): the client's address, the account a log-in is for, and the cool-off answer."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from generations.request_context import client_address


def client_ip(request: HttpRequest) -> str:
    """The client's address by the site's one rule (``TRUSTED_PROXY_COUNT``, see
    ``generations.request_context.client_address``), for the lock-out and allauth's rate limits."""
    return client_address(request) or request.META.get("REMOTE_ADDR", "") or ""


def username_for_lockout(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a log-in is for, whichever name was typed: an e-mail address counts against the
    username it belongs to, so switching between the two does not double the attempts."""
    credentials = credentials or {}
    data = getattr(request, "POST", {}) or {}
    value = (credentials.get("username") or credentials.get("email") or credentials.get("login")
             or data.get("login") or data.get("username") or "")
    value = str(value).strip()
    if "@" in value:
        User = get_user_model()
        email_field = User.get_email_field_name()
        user = User._default_manager.filter(**{f"{email_field}__iexact": value}).first()
        if user is not None:
            value = user.get_username()
    return value.lower()


def lockout_ends_at(request: HttpRequest, credentials: dict[str, Any] | None = None) -> datetime | None:
    """When the lock-out that concerns this request ends (its address or its account), or None."""
    cool_off = get_cool_off(request) or timedelta(0)
    username = username_for_lockout(request, credentials)
    match = Q(ip_address=client_ip(request))
    if username:
        match |= Q(username=username)
    # The latest counted failure starts the cool-off again (axes counts failures younger than it).
    latest = (AccessAttempt.objects.filter(match)
              .order_by("-attempt_time").values_list("attempt_time", flat=True).first())
    return latest + cool_off if latest is not None else None


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.META.get("HTTP_ACCEPT", "")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """429 with the time to wait: a page for people, ``{"detail", "code": "locked_out"}`` for the API."""
    ends_at = lockout_ends_at(request, credentials)
    seconds = max(1, math.ceil((ends_at - timezone.now()).total_seconds())) if ends_at else 60
    minutes = max(1, math.ceil(seconds / 60))
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    detail = (f"Too many failed log-ins for this account or from this address. "
              f"Try again in {wait}, or reset your password.")
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": detail, "code": "locked_out", "retry_after": seconds}, status=429)
    else:
        response = render(request, "account/lockout.html", {
            "wait": wait, "ends_at": ends_at, "failure_limit": settings.AXES_FAILURE_LIMIT,
        }, status=429)
    response["Retry-After"] = str(seconds)
    return response
