"""The security page: a member's sessions and API tokens, each ended one by one or all at once."""
from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from generations.models import ApiToken
from generations.services import tokens
from generations.types import AuthenticatedHttpRequest

from . import sessions


@login_required
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    response = render(request, "account/security.html", {
        "sessions": sessions.sessions_of(request.user),
        "current_session_key": request.session.session_key,
        "tokens": ApiToken.objects.filter(user=request.user.pk).order_by("-created_at"),
        "mfa_enabled": is_mfa_enabled(request.user),
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def end_session(request: HttpRequest, session_id: int) -> HttpResponse:
    if sessions.end_session(user=request.user, session_id=session_id):
        messages.success(request, "That session is logged out.")
    else:
        messages.info(request, "That session had ended already.")
    return redirect("account_security")


@login_required
@require_POST
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = sessions.end_other_sessions(request=request, user=request.user)
    messages.success(request, f"Logged out everywhere else ({ended} session{'s' if ended != 1 else ''}).")
    return redirect("account_security")


@login_required
@require_POST
def revoke_all_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    revoked = tokens.revoke_all_tokens(user=request.user)
    messages.success(request, f"Revoked {revoked} API token{'s' if revoked != 1 else ''}. "
                              "Programs that used them stop working now.")
    return redirect("account_security")
