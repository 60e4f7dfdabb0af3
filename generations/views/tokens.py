"""Personal API tokens: create one (its key shown once), list them, revoke one."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from .. import refusals
from ..exceptions import GenerationError
from ..forms import TokenCreateForm
from ..models import ApiToken
from ..services import tokens
from ..templatetags.generations_tags import optional_url
from ..types import AuthenticatedHttpRequest
from .base import render_page


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Personal API tokens: a new key is shown once, in the answer to the POST that made it.

    The key is never written to the session (or anywhere else): it exists only in this one
    response, which no cache may keep. Reloading asks the browser to send the form again.
    """
    new_key = new_token = None
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            try:
                new_token, new_key = tokens.create_token(
                    user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
                    expires_at=timezone.now() + timedelta(days=int(days)) if days else None)
            except GenerationError as exc:  # AccountPending, LimitReached
                form.add_error(None, refusals.page_words(exc))
            else:
                form = TokenCreateForm()
    else:
        form = TokenCreateForm()
    response = render_page(request, "generations/tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user.pk).order_by("-created_at"),
        "form": form,
        "new_key": new_key,
        "new_token": new_token,
        "api_docs_url": _api_docs_url(),
        "security_url": optional_url("account_security"),
    }, nav="tokens", status=201 if new_key else 200)
    response["Cache-Control"] = "no-store"  # the key must not be kept by any cache
    return response


def _api_docs_url() -> str:
    try:
        return reverse("generations:api:docs")
    except NoReverseMatch:
        return ""


@login_required
@require_POST
def revoke_token(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user.pk, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    tokens.revoke_token(token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("generations:tokens")
