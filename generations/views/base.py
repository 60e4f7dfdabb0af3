"""What every page of the app shares: rendering into the host's base template, a service call's outcome
as a flash, and safe redirects back."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from .. import permissions, refusals
from ..context_processors import page_context
from ..exceptions import GenerationError
from ..models import Generation
from ..selectors import generations as generation_reads

T = TypeVar("T")


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


def attempt(request: HttpRequest, action: Callable[[], Any], *, done: str | Callable[[Any], str] = "",
            refused: type[GenerationError] | tuple[type[GenerationError], ...] = GenerationError) -> bool:
    """Run a form post's one service call: a refusal is flashed in words (False); else ``done`` is
    flashed, or ``done(result)`` when the words name what the call returned (True)."""
    try:
        result = action()
    except refused as exc:
        messages.error(request, refusals.page_words(exc))
        return False
    text = done(result) if callable(done) else done
    if text:
        messages.success(request, text)
    return True


def found_or_404(found: T | None, what: str) -> T:
    """What a lookup found; none (or not the member's to see) is a 404 naming ``what``."""
    if found is None:
        raise Http404(f"No such {what}.")
    return found


def own_generation_or_404(request: HttpRequest, pk: Any) -> Generation:
    """A generation only its owner may act on here (change, share, delete); for anyone else it is not there."""
    generation = generation_reads.get_visible_generation(request.user, pk, staff_sees_all=False)
    if generation is None or not permissions.may_change(request.user, generation):
        raise Http404("No such generation.")
    return generation
