"""The site's Content-Security-Policy: one header on every response, built once from settings."""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

#: Sources that would let injected markup run or restyle the page; no page needs them.
FORBIDDEN_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*")
SCRIPT_AND_STYLE = ("default-src", "script-src", "script-src-elem", "script-src-attr",
                    "style-src", "style-src-elem", "style-src-attr")


def policy_header(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}".strip() for name, values in directives.items())


def check_policy(directives: dict[str, list[str]]) -> None:
    """Refuse a policy that allows inline (or evaluated) script or style: the pages, the admin and the
    API docs carry none, so allowing it would only help an attacker's injected markup."""
    for name in SCRIPT_AND_STYLE:
        loose = [source for source in directives.get(name, []) if source in FORBIDDEN_SOURCES]
        if loose:
            raise ImproperlyConfigured(f"CONTENT_SECURITY_POLICY {name} must not allow {', '.join(loose)}.")
    for name in ("script-src", "style-src"):
        if name not in directives and "default-src" not in directives:
            raise ImproperlyConfigured(f"CONTENT_SECURITY_POLICY needs {name} (or default-src).")


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CONTENT_SECURITY_POLICY`` to every response that does not set its own.

    The pages carry no inline script, style attribute or event handler (the scripts wire
    everything from data-* attributes), nor do the admin (its templates are overridden where
    Django's inline one) and the API docs (their init script is a file), so the policy needs
    neither nonces nor 'unsafe-inline', and ``check_policy`` refuses one that allows it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        check_policy(settings.CONTENT_SECURITY_POLICY)
        self.header = policy_header(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response
