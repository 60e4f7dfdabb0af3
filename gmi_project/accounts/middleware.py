"""Session middleware of the portal: the idle timeout and the session list's activity, and two-factor before any
admin page for staff."""
from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

LAST_SEEN_KEY = "gmi_last_seen"
# Write the session at most this often just to say "still here" (a write per request is wasted).
TOUCH_EVERY = 60


class IdleSessionMiddleware:
    """Ends a logged-in session after ``GMI_SESSION_IDLE_SECONDS`` without a request, and keeps the
    member's session list (allauth.usersessions: address, browser, last seen) up to date.

    Both are refreshed at most every ``TOUCH_EVERY`` seconds, so a page view costs no write:
    allauth's own middleware would save the session row on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_SEEN_KEY)
            idle = int(getattr(settings, "GMI_SESSION_IDLE_SECONDS", 0) or 0)
            if idle and isinstance(last, int) and now - last > idle:
                logout(request)
                minutes = max(1, idle // 60)
                messages.info(request, f"You were logged out after {minutes} minutes without activity. "
                                       "Log in again to continue.")
                if not request.path.startswith("/api/"):
                    return redirect_to_login(request.get_full_path())
            elif last is None or not isinstance(last, int) or now - last >= TOUCH_EVERY:
                request.session[LAST_SEEN_KEY] = now
                if request.session.session_key:
                    UserSession.objects.create_from_request(request)
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """With ``GMI_STAFF_MFA``, a staff account without a second factor is sent to set one up before
    any admin page (the admin's own log-in goes through allauth, which then asks for the code)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_prefix: str | None = None

    def admin_prefix(self) -> str:
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        return self._admin_prefix

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(settings, "GMI_STAFF_MFA", False) and request.path.startswith(self.admin_prefix()):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff and not is_mfa_enabled(user):
                messages.warning(request, "Staff accounts need two-factor authentication before they can open "
                                          "the admin. Set up an authenticator app now.")
                return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def mark_session_start(request: object) -> None:
    """A log-in counts as activity: the first page after it writes nothing more."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LAST_SEEN_KEY] = int(time.time())
