"""What every page of the app shares: rendering into the host's base template, and safe redirects back."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from ..context_processors import page_context


def render_page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, *,
                nav: str = "", status: int = 200) -> HttpResponse:
    """Render an app page with what its templates need to sit in the host site's base template."""
    return render(request, template, {**page_context(request), "generations_nav_active": nav, **(context or {})},
                  status=status)


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter when it points back into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback
